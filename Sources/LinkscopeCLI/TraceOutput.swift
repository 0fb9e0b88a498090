import Glibc
import Prototypes
import Synchronization

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

/// What renderers write text to: a `TraceOutput` (a file descriptor) or a `TraceTextSink` (memory). Renderers
/// write each event's text in one piece, as bytes.
public protocol TraceTextWriter: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer)
    func flush()
}

extension TraceTextWriter {
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    public func write(_ text: TextBuffer) {
        write(UnsafeRawBufferPointer(text.bytes))
    }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }
}

/// Where trace text goes: stderr by default, or `-o FILE`, as it happens (issue 10). Text is collected in a
/// buffer and written:
///
/// - to a terminal, a pipe or any other stream, at the end of every event (`endOfEvent`), the left half of a
///   call that blocks included, as ltrace's unbuffered stderr shows it — or, when the engine delivers events
///   in bursts from another process's recording (`coalesceStreams`, the in-process engine), within
///   `streamInterval`, so a million events a second are not a million writes;
/// - to a regular file (or /dev/null), within `flushInterval`, because a traced program can make millions of
///   calls;
///
/// and always when the buffer fills, at every signal, exit and detach line, and at the end. A thread of its
/// own writes what has waited long enough; it sleeps while nothing waits.
///
/// A failed write (a full disk, a closed pipe, a file that takes no writes) stops all writing; `writeError`
/// says what failed, and the command reports it.
public final class TraceOutput: TraceTextWriter, @unchecked Sendable {
    /// How soon buffered text reaches a regular file.
    public static let flushInterval: UInt32 = 100_000  // microseconds
    /// How soon coalesced text reaches a stream.
    public static let streamInterval: UInt32 = 2_000  // microseconds
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
    /// Set once: a write failed (read without the lock, on every event).
    private let failed = Atomic<Bool>(false)
    /// Everything below is guarded by `condition` (its lock); the flusher thread waits on it.
    private let condition = Condition()
    /// Only touched with the lock held (no runtime exclusivity check needed on top).
    @exclusivity(unchecked) private var buffer: [UInt8] = []
    private var failure: TraceWriteError?
    private var closed = false
    private var coalescing = false
    private var flusherStarted = false

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

    /// For an engine whose events arrive in bursts, long after they happened in the program (the in-process
    /// engine drains rings the program fills while it runs on): a stream gets its text within
    /// `streamInterval` rather than at every event. The ptrace engine stops the program at every event, so
    /// there a line written at once keeps its place among the program's own output.
    public var coalesceStreams: Bool {
        get { condition.lock(); defer { condition.unlock() }; return coalescing }
        set {
            condition.lock()
            coalescing = newValue && delivery == .eachEvent
            let start = coalescing && !flusherStarted
            condition.unlock()
            if start { startFlusher() }
        }
    }

    /// The first failed write, if any.
    public var writeError: TraceWriteError? {
        guard failed.load(ordering: .acquiring) else { return nil }
        condition.lock()
        defer { condition.unlock() }
        return failure
    }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        condition.lock()
        defer { condition.unlock() }
        let wasEmpty = buffer.isEmpty
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.capacity {
            flushLocked()
        } else if wasEmpty && flusherStarted {
            condition.signal()  // the flusher starts its countdown
        }
    }

    public func flush() {
        condition.lock()
        defer { condition.unlock() }
        flushLocked()
    }

    /// An event has been rendered: a stream gets its text now, unless it is coalesced.
    public func endOfEvent() {
        guard delivery == .eachEvent else { return }
        condition.lock()
        defer { condition.unlock() }
        if !coalescing { flushLocked() }
    }

    /// Writes what is left, stops the flusher and closes the file (the trace's end).
    public func close() {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        flushLocked()
        closed = true
        condition.signal()
        if ownsDescriptor { Glibc.close(fd) }
    }

    private func flushLocked() {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        guard failure == nil, !closed else { return }
        if let code = buffer.withUnsafeBytes({ StandardStreams.writeAll($0, to: fd) }) {
            failure = TraceWriteError(destination: destination, errno: code)
            failed.store(true, ordering: .releasing)
        }
    }

    /// The thread that writes buffered text once it has waited `flushInterval` (`streamInterval` when
    /// coalescing), and sleeps while the buffer is empty. It is created with every signal blocked: a
    /// process-directed signal (SIGTERM, SIGCHLD) must reach the thread that waits for it. Called with the
    /// lock not held.
    private func startFlusher() {
        condition.lock()
        guard !flusherStarted else { condition.unlock(); return }
        flusherStarted = true
        condition.unlock()
        var all = sigset_t(), previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        startThread { [weak self] in
            while let output = self, output.flushWhenDue() {}
        }
    }

    /// One round of the flusher: waits for text, lets it wait its interval, writes it. False once closed.
    private func flushWhenDue() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        // Now and then without text, the loop lets go of the output, so one nobody closes can go away.
        if buffer.isEmpty && !closed { condition.wait(microseconds: 500_000) }
        if closed { return false }
        if buffer.isEmpty { return true }
        let interval = coalescing ? Self.streamInterval : Self.flushInterval
        // Text written meanwhile joins this round; a flush by someone else empties it early.
        condition.wait(microseconds: UInt64(interval))
        flushLocked()
        return !closed
    }

    deinit { close() }
}

/// Collects text in memory: for tests, and for anyone who wants the trace as a string.
public final class TraceTextSink: TraceTextWriter {
    public private(set) var text = ""
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) { text += String(decoding: bytes, as: UTF8.self) }
    public func flush() {}
}
