public enum Linker {}
