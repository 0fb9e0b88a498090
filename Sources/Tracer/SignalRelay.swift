import Glibc
import Synchronization
import TraceModel

/// What linkscope does with SIGINT, SIGQUIT, SIGTERM and SIGHUP while it runs a program it launched (issue
/// 14, "nothing lost"): they are the program's business. linkscope does not die of them (its trace would be
/// cut short and, with PTRACE_O_EXITKILL, the program killed); the program gets the signal once, its death
/// or its handler is traced, and linkscope exits with its status.
///
/// A signal often reaches both at once — a terminal's ^C or hangup, `timeout`, a `kill -TERM -PGID` all
/// signal the whole process group — and then it must not be sent twice. So a signal linkscope receives is
/// passed on only when the program has not received the same one (seen at its signal-delivery stop) within
/// `window` before or after; a `kill PID-of-linkscope` alone is passed on `window` late.
public struct SignalRelay: Sendable {
    /// How far apart linkscope's and the program's copies of one group signal may be seen. A group signal
    /// reaches every process in one kernel call; the program's stop is seen within milliseconds unless the
    /// machine is starved, and then the cost is a second copy of the signal, not a lost one.
    public static let window: UInt64 = 250_000_000  // nanoseconds

    /// The signals relayed: those that end a program by default and that a terminal or a supervisor sends.
    public static let relayed: [Int32] = [SIGINT, SIGQUIT, SIGTERM, SIGHUP]

    private var programReceivedAt: [Int32: UInt64] = [:]
    private var pending: [(signal: Int32, deadline: UInt64)] = []

    public init() {}

    /// Whether `signal`'s disposition is SIG_IGN now.
    public static func isIgnored(_ signal: Int32) -> Bool {
        var current = sigaction()
        sigaction(signal, nil, &current)
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1
    }

    /// The program took `signal` at a signal-delivery stop, at `now` (CLOCK_MONOTONIC nanoseconds).
    public mutating func programReceived(_ signal: Int32, at now: UInt64) {
        programReceivedAt[signal] = now
        pending.removeAll { $0.signal == signal }
    }

    /// linkscope itself received `signal` at `now`.
    public mutating func linkscopeReceived(_ signal: Int32, at now: UInt64) {
        if let seen = programReceivedAt[signal], now &- seen <= Self.window { return }
        if pending.contains(where: { $0.signal == signal }) { return }  // one copy, as the kernel merges them
        pending.append((signal, now &+ Self.window))
    }

    /// The signals to send the program now: received by linkscope only, `window` ago.
    public mutating func due(at now: UInt64) -> [Int32] {
        let ready = pending.filter { $0.deadline <= now }.map(\.signal)
        pending.removeAll { $0.deadline <= now }
        return ready
    }

    /// When `due` will next have something, if ever.
    public var nextDeadline: UInt64? { pending.map(\.deadline).min() }
}

/// Runs a `SignalRelay` for a launched program on a thread of its own, so the session's wait loop stays a
/// blocking waitpid (no extra system call per stop): the relayed signals are blocked in every thread and
/// taken here with sigtimedwait; the engine (the ptrace session, the in-process supervisor) reports the
/// program's signal-delivery stops.
public final class SignalRelayThread: @unchecked Sendable {
    private let state = Mutex(State())
    private struct State {
        var relay = SignalRelay()
        var stopped = false
    }
    private let program: pid_t
    private let signals: [Int32]
    private var previousMask = sigset_t()
    private var thread = pthread_t()
    /// How often the thread looks whether it should stop, at the longest.
    private static let tick: UInt64 = 50_000_000

    /// Blocks the relayed signals but `ignored` in the calling thread (the session's, before any other
    /// thread of linkscope's may be started with them open) and starts the thread. `ignored`: the signals
    /// linkscope was started ignoring (nohup, a background job's SIGINT), which are not its to pass on.
    public init(program: pid_t, leaving ignored: Set<Int32>) {
        self.program = program
        signals = SignalRelay.relayed.filter { !ignored.contains($0) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in signals { sigaddset(&blocked, signal) }
        pthread_sigmask(SIG_BLOCK, &blocked, &previousMask)
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { raw in
            let relay = Unmanaged<SignalRelayThread>.fromOpaque(raw!).takeRetainedValue()
            relay.run()
            return nil
        }, context)
        precondition(created == 0, "pthread_create failed for the signal relay: \(created)")
    }

    /// The session saw the program take `signal`.
    public func programReceived(_ signal: Int32) {
        guard signals.contains(signal) else { return }
        let now = Timestamp.now().monotonicNanoseconds
        state.withLock { $0.relay.programReceived(signal, at: now) }
    }

    /// Stops the thread and unblocks the signals (the program has ended).
    public func stop() {
        state.withLock { $0.stopped = true }
        pthread_join(thread, nil)
        // A relayed signal that came after the thread's last look was meant for the program, which has ended.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        var none = timespec(tv_sec: 0, tv_nsec: 0)
        while sigtimedwait(&set, nil, &none) > 0 {}
        var mask = previousMask
        pthread_sigmask(SIG_SETMASK, &mask, nil)
    }

    private func run() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        while true {
            let now = Timestamp.now().monotonicNanoseconds
            let (due, next, stopped) = state.withLock { state in
                (state.relay.due(at: now), state.relay.nextDeadline, state.stopped)
            }
            if stopped { return }
            for signal in due { kill(program, signal) }
            let wait = min(Self.tick, next.map { $0 > now ? $0 - now : 0 } ?? Self.tick)
            var timeout = timespec(tv_sec: Int(wait / 1_000_000_000), tv_nsec: Int(wait % 1_000_000_000))
            let received = sigtimedwait(&set, nil, &timeout)
            if received > 0 {
                let at = Timestamp.now().monotonicNanoseconds
                state.withLock { $0.relay.linkscopeReceived(received, at: at) }
            }
        }
    }
}
