import TraceModel
import Glibc

/// Why a stopped thread is being kept stopped (while attaching, or until the detach is complete), and how
/// to let it go.
enum Hold: Equatable {
    /// Resume (or detach) delivering this signal, 0 for none.
    case signal(Int32)
    /// It is in a group-stop (job control): PTRACE_LISTEN, or detach leaving it stopped.
    case groupStop
}

/// One traced thread.
struct ThreadState {
    var shadow = ShadowStack()
    var space: AddressSpace
    /// Its thread group (the process it belongs to).
    var process: pid_t
    /// Calls are not reported, only passed through: a vfork child sharing its parent's stack, without -f.
    var isForeign = false
    /// Created from a clone/fork event: its first stop (PTRACE_EVENT_STOP: every tracee is seized) is the
    /// kernel's, not the program's.
    var awaitingStartStop = false
    /// A vfork (or CLONE_VM) child running in its parent's memory: while it lives a vfork parent cannot
    /// stop, so a detach lets it run on until it exits or execs.
    var sharesParentMemory = false
    /// Non-nil while the engine keeps the thread stopped.
    var hold: Hold?

    init(space: AddressSpace, process: pid_t) {
        self.space = space
        self.process = process
    }

    /// A new thread of `sibling`'s process.
    init(siblingOf sibling: ThreadState) {
        self.init(space: sibling.space, process: sibling.process)
        isForeign = sibling.isForeign
        sharesParentMemory = sibling.sharesParentMemory
    }
}

/// Every traced thread, and the threads met out of order. waitpid reports the newest tracee first, so a
/// thread's first stop (or even its exit) can come before its creator's clone/fork/vfork event; the table
/// remembers which ones, so that neither the stop nor the event is handled twice or lost.
struct ThreadTable {
    private(set) var byID: [pid_t: ThreadState] = [:]
    /// New processes whose first stop came before their parent's fork/vfork/clone event: they stay stopped
    /// until that event registers them.
    private var earlyChildren: Set<pid_t> = []
    /// Threads already registered (or already ended) when their creator's clone event is reaped.
    private var settledBeforeCreation: Set<pid_t> = []

    subscript(tid: pid_t) -> ThreadState? {
        get { byID[tid] }
        set { byID[tid] = newValue }
    }

    var isEmpty: Bool { byID.isEmpty }

    /// Takes a thread out of the table while it changes, so its shadow stack is uniquely referenced (no
    /// copy); `put` it back.
    mutating func take(_ tid: pid_t) -> ThreadState? { byID.removeValue(forKey: tid) }

    mutating func put(_ tid: pid_t, _ state: ThreadState) { byID[tid] = state }

    mutating func removeAll() { byID.removeAll() }

    /// A stop of a thread not in the table, in the process `threadGroup` (nil when /proc no longer knows it).
    /// A new thread of a traced process is registered at once, as its sibling's (true); anything else is a
    /// new process, parked until its parent's creation event (false).
    mutating func meet(_ tid: pid_t, threadGroup: pid_t?) -> Bool {
        precondition(byID[tid] == nil, "met only once")
        guard let group = threadGroup, group != tid, let sibling = byID[group] else {
            earlyChildren.insert(tid)
            return false
        }
        byID[tid] = ThreadState(siblingOf: sibling)
        settledBeforeCreation.insert(tid)
        return true
    }

    /// A thread or child from its creator's event. True when its first stop came first (it was parked): it
    /// should go on now; else its start stop is still to come.
    mutating func register(created tid: pid_t, _ state: ThreadState) -> Bool {
        var state = state
        let alreadyStopped = earlyChildren.remove(tid) != nil
        state.awaitingStartStop = !alreadyStopped
        byID[tid] = state
        return alreadyStopped
    }

    /// At a clone event: whether the new thread is already known (its first stop or its exit came first, or
    /// /proc listed it while attaching), so the event has nothing to register.
    mutating func isSettled(created tid: pid_t) -> Bool {
        settledBeforeCreation.remove(tid) != nil || byID[tid] != nil
    }

    /// At a fork or vfork event: the child is handled by the event, whatever came before it.
    mutating func forgetEarlyRegistration(of tid: pid_t) { settledBeforeCreation.remove(tid) }

    /// Whether the first stop of a child (let go at its fork) already came and was parked.
    mutating func takeParkedChild(_ tid: pid_t) -> Bool { earlyChildren.remove(tid) != nil }

    /// A thread ended: its state, or nil for one not met yet (remembered, so its creation event is ignored).
    mutating func end(_ tid: pid_t) -> ThreadState? {
        guard let state = byID.removeValue(forKey: tid) else {
            settledBeforeCreation.insert(tid)
            return nil
        }
        return state
    }

    /// An exec: the process's other threads are gone. Returns them.
    mutating func removeOtherThreads(of process: pid_t, than tid: pid_t) -> [(pid_t, ThreadState)] {
        let gone = byID.filter { $0.value.process == process && $0.key != tid }.sorted { $0.key < $1.key }
        for (other, _) in gone { byID[other] = nil }
        return gone.map { ($0.key, $0.value) }
    }

    /// Whether a stop of `tid` may be held now: a child sharing its parent's memory is held only once every
    /// other thread is (its vfork parent stops only after it is gone).
    func mayHold(_ tid: pid_t) -> Bool {
        guard let state = byID[tid] else { return false }
        return !state.sharesParentMemory || !byID.values.contains { !$0.sharesParentMemory && $0.hold == nil }
    }

    /// Whether every thread is kept stopped.
    var allHeld: Bool { !byID.values.contains { $0.hold == nil } }

    /// The threads not held.
    var running: [pid_t: ThreadState] { byID.filter { $0.value.hold == nil } }
}
