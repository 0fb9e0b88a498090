public enum Tracer {}
