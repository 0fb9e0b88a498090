import Glibc

public struct TraceOutputError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var errno: Int32
    public var description: String { "cannot open output file '\(path)': \(String(cString: strerror(errno)))" }
}

/// What renderers write text to: a `TraceOutput` (a file descriptor) or a `TraceTextSink` (memory).
public protocol TraceTextWriter: AnyObject {
    func write(_ text: String)
    func flush()
}

/// Where trace text goes: stderr by default, or `-o FILE`. Buffered, because a traced program can make
/// hundreds of thousands of calls; renderers flush on finish and on signal/exit events, so the text of a
/// trace is never behind the program's death.
public final class TraceOutput: TraceTextWriter {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private let capacity = 64 * 1024
    /// Set when a write failed (a closed pipe, a full disk); later writes are dropped rather than retried.
    public private(set) var writeError: Int32?

    /// Standard error, the default.
    public static func standardError() -> TraceOutput { TraceOutput(fd: 2, owns: false) }

    /// `-o FILE`: created or truncated.
    public static func file(_ path: String) throws(TraceOutputError) -> TraceOutput {
        while true {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd >= 0 { return TraceOutput(fd: fd, owns: true) }
            if errno != EINTR { throw TraceOutputError(path: path, errno: errno) }
        }
    }

    /// Writes into a descriptor the caller keeps owning (tests use a pipe or a temporary file).
    public init(fd: Int32, owns: Bool = false) {
        self.fd = fd
        self.ownsDescriptor = owns
        buffer.reserveCapacity(capacity)
    }

    public func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= capacity { flush() }
    }

    public func flush() {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        guard writeError == nil else { return }
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n; continue }
                if n < 0 && errno == EINTR { continue }
                writeError = n < 0 ? errno : EIO
                return
            }
        }
    }

    deinit {
        flush()
        if ownsDescriptor { close(fd) }
    }
}

/// Collects text in memory: for tests, and for anyone who wants the trace as a string.
public final class TraceTextSink: TraceTextWriter {
    public private(set) var text = ""
    public init() {}
    public func write(_ s: String) { text += s }
    public func flush() {}
}
