public enum Prototypes {}
