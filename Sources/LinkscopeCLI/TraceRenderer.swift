import TraceModel
import Tracer

/// A consumer of the engine's events that turns them into some output (shared/DESIGN.md decision 6).
/// `render` is called for every event in order; `finish` once, when the traced program has ended (or the
/// trace stopped), and must flush everything.
public protocol TraceRenderer: AnyObject {
    func render(_ event: TraceEvent)
    func finish()
}

/// The ltrace formatting flags, shared by the renderers.
public struct TraceRenderOptions: Sendable {
    public enum TimestampStyle: Sendable, Equatable {
        case none
        /// `-t`: local wall-clock time, `14:06:21`.
        case time
        /// `-tt`: with microseconds, `14:06:21.345109`.
        case timeMicroseconds
        /// `-ttt`: seconds since the epoch with microseconds, `1796220381.385358`.
        case epochMicroseconds
    }

    public enum ProcessPrefix: Sendable, Equatable {
        /// `[pid N] ` once a second thread or process has printed (from then on).
        case automatic
        /// Always (ltrace's `-f` does this).
        case always
        case never
    }

    /// `-s N`: the decoder cuts strings; kept here for renderers that need to know.
    public var stringLimit: Int = 32
    /// `-n N`: spaces of indent per nesting level.
    public var indent: Int = 0
    public var timestamps: TimestampStyle = .none
    /// `-r`: time since the previous line, `  0.000489 `.
    public var relativeTimestamps: Bool = false
    /// `-T`: time spent inside each call, ` <0.000580>`.
    public var showCallDuration: Bool = false
    /// `-i`: the call site, `[0x55c97f56c26d] `.
    public var showCallSite: Bool = false
    /// `-C`: demangle C++ names (applied by the decoder/engine to names; kept for renderers).
    public var demangle: Bool = false
    /// `-A N`: the most array elements shown.
    public var arrayLimit: Int = 4
    public var processPrefix: ProcessPrefix = .automatic
    /// ltrace prefixes every call with its calling object (`prog->puts`) as soon as any `-e` or `-l` is
    /// given; calls of the main program then show `mainProgramName`.
    public var showCallerOfMainProgram: Bool = false
    /// The main program's name as ltrace shows it (its soname or file base name).
    public var mainProgramName: String = ""
    /// The column ` = ` is aligned to (ltrace's default: results start after column 48).
    public var alignColumn: Int = 48
    /// False with `-b`: no `--- SIGNAL ---` lines (the program's end by a signal is still shown).
    public var showSignals: Bool = true

    public init() {}
}
