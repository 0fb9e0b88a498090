import Glibc

/// What the session is doing with the threads it traces (STYLE.md 17: a state machine is a type). A launched
/// program is traced from start to end; a trace of processes attached to goes through every phase:
///
///     attaching ──► tracing ──► detachRequested ──► detaching(…) ──► (every thread let go)
///
/// While attaching or detaching, a handled stop keeps its thread stopped (`ThreadState.hold`) instead of
/// resuming it, until every thread is held.
enum SessionPhase: Equatable {
    /// Seizing every thread of the processes named: each stop is held until all threads are stopped; then
    /// the processes are armed and every thread released.
    case attaching
    /// Each stop is handled and its thread resumed.
    case tracing
    /// ^C, SIGTERM, SIGHUP or --duration asked to let go; the detach begins at the next turn of the loop.
    case detachRequested
    /// Every thread was interrupted; each stop is held until all are, then every breakpoint byte and
    /// hijacked return address is put back and each thread detached. `interruptedSharers`: children sharing
    /// a parent's memory, interrupted only once everything else was held (a vfork parent cannot stop while
    /// its child runs in its memory).
    case detaching(interruptedSharers: Set<pid_t>)

    /// Whether a handled stop keeps its thread stopped.
    var holdsStops: Bool {
        switch self {
        case .attaching, .detaching: return true
        case .tracing, .detachRequested: return false
        }
    }

    var isDetaching: Bool {
        if case .detaching = self { return true }
        return false
    }

    /// A request to let go; only a trace that is running can take one (the signals are blocked until then).
    mutating func requestDetach() {
        precondition(self == .tracing, "a detach is requested only while tracing, once")
        self = .detachRequested
    }

    /// The detach starts: from now on every stop is held.
    mutating func beginDetach() {
        precondition(self == .detachRequested, "a detach begins once it was requested")
        self = .detaching(interruptedSharers: [])
    }

    /// The sharers among `running` not interrupted yet, now noted as interrupted.
    mutating func sharersToInterrupt(among running: some Sequence<pid_t>) -> [pid_t] {
        guard case .detaching(var interrupted) = self else { preconditionFailure("only a detach interrupts sharers") }
        let fresh = running.filter { interrupted.insert($0).inserted }
        self = .detaching(interruptedSharers: interrupted)
        return fresh
    }
}
