import Glibc

public struct TraceOutputError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var errno: Int32
    public var description: String { "cannot open output file '\(path)': \(String(cString: strerror(errno)))" }
}

/// A failed write of the trace: where it went, and why.
public struct TraceWriteError: Error, CustomStringConvertible, Sendable {
    /// `stderr`, or the `-o` file's path.
    public var destination: String
    public var errno: Int32
    public var description: String { "cannot write the trace to \(destination): \(String(cString: strerror(errno)))" }
}

/// What renderers write text to: a `TraceOutput` (a file descriptor) or a `TraceTextSink` (memory).
public protocol TraceTextWriter: AnyObject {
    func write(_ text: String)
    func flush()
}

/// Where trace text goes: stderr by default, or `-o FILE`, as it happens (issue 10). To a terminal, a pipe
/// or any other stream, every event's text is written when the event has been rendered (`endOfEvent`), the
/// left half of a call that blocks included, as ltrace's unbuffered stderr shows it. To a regular file (or
/// /dev/null) text is buffered, because a traced program can make millions of calls, and written at the
/// latest `flushInterval` later by a thread of its own, and at every signal, exit, detach and the end.
///
/// A failed write (a full disk, a closed pipe, a file that takes no writes) stops all writing; `writeError`
/// says what failed, and the command reports it.
public final class TraceOutput: TraceTextWriter, @unchecked Sendable {
    /// How soon buffered text reaches a regular file.
    public static let flushInterval: UInt32 = 100_000  // microseconds
    private static let capacity = 64 * 1024

    public enum Delivery: Sendable, Equatable {
        /// Written at the end of every event: terminals, pipes, sockets.
        case eachEvent
        /// Buffered, written within `flushInterval`: regular files and /dev/null.
        case periodic
    }

    private let fd: Int32
    private let ownsDescriptor: Bool
    public let destination: String
    public let delivery: Delivery
    // Everything below is guarded by `lock`: the periodic flusher runs on its own thread.
    private let lock = Lock()
    private var buffer: [UInt8] = []
    private var failure: TraceWriteError?
    private var closed = false

    /// Standard error, the default.
    public static func standardError() -> TraceOutput { TraceOutput(fd: 2, owns: false, destination: "stderr") }

    /// `-o FILE`: created or truncated.
    public static func file(_ path: String) throws(TraceOutputError) -> TraceOutput {
        while true {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd >= 0 { return TraceOutput(fd: fd, owns: true, destination: path) }
            if errno != EINTR { throw TraceOutputError(path: path, errno: errno) }
        }
    }

    /// Writes into a descriptor the caller keeps owning (tests use a pipe or a temporary file).
    public init(fd: Int32, owns: Bool = false, destination: String? = nil) {
        self.fd = fd
        self.ownsDescriptor = owns
        self.destination = destination ?? "descriptor \(fd)"
        self.delivery = Self.delivery(of: fd)
        buffer.reserveCapacity(Self.capacity)
        if delivery == .periodic { startFlusher() }
    }

    /// /dev/null's device number, major 1 minor 3 (Linux's `makedev`, a macro Swift does not import).
    static let devNullDevice: UInt = (1 << 8) | 3

    /// Regular files and /dev/null take buffered text; everything else someone may be watching.
    static func delivery(of fd: Int32) -> Delivery {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .eachEvent }
        let type = info.st_mode & S_IFMT
        if type == S_IFREG { return .periodic }
        if type == S_IFCHR && info.st_rdev == Self.devNullDevice { return .periodic }
        return .eachEvent
    }

    /// The first failed write, if any.
    public var writeError: TraceWriteError? {
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    public func write(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.capacity { flushLocked() }
    }

    public func flush() {
        lock.lock()
        defer { lock.unlock() }
        flushLocked()
    }

    /// An event has been rendered: a stream gets its text now.
    public func endOfEvent() {
        if delivery == .eachEvent { flush() }
    }

    /// Writes what is left, stops the flusher and closes the file (the trace's end).
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        flushLocked()
        closed = true
        if ownsDescriptor { Glibc.close(fd) }
    }

    private func flushLocked() {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        guard failure == nil, !closed else { return }
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n; continue }
                if n < 0 && errno == EINTR { continue }
                // A write that takes nothing without an error (some /proc files) is an I/O error too.
                failure = TraceWriteError(destination: destination, errno: n < 0 ? errno : EIO)
                return
            }
        }
    }

    /// The thread that writes buffered text at least every `flushInterval`. It is created with every signal
    /// blocked: a process-directed signal (SIGTERM, SIGCHLD) must reach the thread that waits for it.
    private func startFlusher() {
        var all = sigset_t(), previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        startThread { [weak self] in
            while true {
                usleep(TraceOutput.flushInterval)
                guard let output = self else { return }
                output.lock.lock()
                let done = output.closed
                output.flushLocked()
                output.lock.unlock()
                if done { return }
            }
        }
    }

    deinit { close() }
}

/// Collects text in memory: for tests, and for anyone who wants the trace as a string.
public final class TraceTextSink: TraceTextWriter {
    public private(set) var text = ""
    public init() {}
    public func write(_ s: String) { text += s }
    public func flush() {}
}
