import Glibc
import TraceModel
import Tracer

/// The in-process engine's one use of ptrace (issue 9). The launched program is seized — never stopped at a
/// call — so that what only a tracer can see reaches the trace: a signal as a thread takes it (`--- SIGxxx
/// ---`, then delivered as it would have been), an exec (the new image is given the agent again), the
/// children of `-f`, and job control as untraced (a group-stop is left to the kernel with PTRACE_LISTEN). One
/// stop per signal, thread start, fork or exec; none per call.
///
/// No PTRACE_O_EXITKILL: a tracer's death detaches its tracees, so the program runs on to its own end when
/// linkscope is killed, which is this engine's promise (the agent then stops recording).
///
/// It waits with waitpid(-1, __WALL | WNOHANG), so it must be the only thing in linkscope reaping children
/// while it runs (the `linkscope` executable is).
struct Supervisor {
    /// A stop the engine has work at; the stopped thread waits for `resume`.
    enum Stop: Equatable {
        /// `thread` of `process` is about to take `signal` (a signal-delivery stop).
        case signal(thread: pid_t, process: pid_t, signal: Int32)
        /// `process` exec'd: its new image is stopped before the loader has run a single instruction.
        case exec(process: pid_t)
        /// `thread` of `parent` forked (or vforked) `child`, which is traced (-f). The child does not run
        /// before `release(child)`.
        case fork(thread: pid_t, parent: pid_t, child: pid_t)
        /// A traced process ended (nothing to resume).
        case ended(process: pid_t, ProgramOutcome)
        /// A thread of a traced process ended (nothing to resume).
        case threadEnded(thread: pid_t, process: pid_t)
    }

    /// False when PTRACE_SEIZE was refused (linkscope itself runs under a tracer that follows children, as
    /// `strace -f`): the program is then only waited for, and its signals and execs are not seen.
    let seized: Bool
    private let followForks: Bool
    /// Every traced thread's process; a process is traced while its leader is here.
    private var processOf: [pid_t: pid_t] = [:]
    /// Threads and children a creation event announced whose first stop has not come yet.
    private var expected: [pid_t: pid_t] = [:]
    /// New tracees whose first stop came before the event that created them: they wait for it.
    private var parked: Set<pid_t> = []

    /// Seizes `program` (already running: spawned, its agent waiting for linkscope's first answer, so
    /// nothing it does is missed but what the loader does before that). A refusal is not an error: the
    /// program is then only waited for (`seized` is false; `refusal` says why).
    init(program: pid_t, followForks: Bool) {
        self.followForks = followForks
        processOf[program] = program
        var options: PtraceOptions = [.traceClone, .traceExec]
        if followForks { options.formUnion([.traceFork, .traceVfork]) }
        do {
            try Ptrace.seize(program, options: options)
            seized = true
            refusal = nil
        } catch {
            seized = false
            refusal = error
        }
    }

    /// Why PTRACE_SEIZE failed, when it did.
    let refusal: Errno?

    /// Whether any traced process is left.
    var isEmpty: Bool { processOf.isEmpty }

    /// The next stop the engine has work at, nil when no tracee has anything to report now. Stops that need
    /// nothing of the engine — a thread's first stop, a group-stop, the end of a thread — are dealt with here.
    mutating func next() throws(Errno) -> Stop? {
        while true {
            guard let (tid, status) = try Self.poll() else { return nil }
            switch status {
            case .exited(let code):
                if let stop = ended(tid, .exited(status: code)) { return stop }
            case .killed(let signal, let core):
                if let stop = ended(tid, .killed(signal: signal, coreDumped: core)) { return stop }
            case .stopped(let signal, let event):
                if let stop = try stopped(tid, signal: signal, event: event) { return stop }
            }
        }
    }

    /// Resumes a stopped thread, delivering `signal` (0: none). A thread that died meanwhile (another called
    /// exit_group) reports its end through waitpid.
    func resume(_ tid: pid_t, signal: Int32 = 0) throws(Errno) {
        do { try Ptrace.cont(tid, signal: signal) } catch {
            if error != .noSuchProcess { throw error }
        }
    }

    /// waitpid(-1, __WALL | WNOHANG); nil for nothing now or no child left.
    private static func poll() throws(Errno) -> (pid_t, WaitStatus)? {
        do { return try Ptrace.poll() } catch {
            if error == .noChild { return nil }
            throw error
        }
    }

    /// A traced thread's end, or its process's when it is the leader (nil: not a thread we trace).
    private mutating func ended(_ tid: pid_t, _ outcome: ProgramOutcome) -> Stop? {
        guard let process = processOf.removeValue(forKey: tid) else { return nil }
        guard process == tid else { return .threadEnded(thread: tid, process: process) }
        processOf = processOf.filter { $0.value != process }
        return .ended(process: process, outcome)
    }

    private mutating func stopped(_ tid: pid_t, signal: Int32, event: PtraceEvent?) throws(Errno) -> Stop? {
        guard let process = processOf[tid] else {
            // A new tracee's first stop (PTRACE_EVENT_STOP): a thread of a traced process, or a child (-f).
            if expectedDetach.remove(tid) != nil {
                try? Ptrace.detach(tid)
            } else if let process = expected.removeValue(forKey: tid) {
                processOf[tid] = process
                try resume(tid)
            } else {
                parked.insert(tid)  // its creator's event is on its way
            }
            return nil
        }
        switch event {
        case nil:
            return .signal(thread: tid, process: process, signal: signal)
        case .stop?:
            if [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU].contains(signal) {
                // A group-stop: stay stopped as untraced, but let the kernel tell us when it ends.
                do { try Ptrace.listen(tid) } catch { if error != .noSuchProcess { throw error } }
            } else {
                try resume(tid)
            }
            return nil
        case .exec?:
            // Every other thread of the process is gone (they reported their ends, or will not); the
            // thread that called exec has the leader's id now.
            processOf = processOf.filter { $0.value != process }
            processOf[tid] = tid
            return .exec(process: tid)
        case .clone?, .fork?, .vfork?:
            let created = pid_t(truncatingIfNeeded: (try? Ptrace.eventMessage(tid)) ?? 0)
            guard created > 0 else { try resume(tid); return nil }
            // clone without CLONE_THREAD makes a process of its own (reported as a clone when its exit signal
            // is not SIGCHLD).
            let isThread = event == .clone && ProcFS.threadGroup(of: created).map { $0 == process } ?? true
            if !isThread && !followForks {
                if parked.remove(created) != nil { try? Ptrace.detach(created) }
                else { expectedDetach.insert(created) }
                try resume(tid)
                return nil
            }
            let owner = isThread ? process : created
            if parked.remove(created) != nil {
                processOf[created] = owner
                if isThread { try resume(created) } else { held.insert(created) }
            } else {
                expected[created] = owner
            }
            if isThread {
                try resume(tid)
                return nil
            }
            return .fork(thread: tid, parent: process, child: created)
        default:
            try resume(tid)
            return nil
        }
    }

    /// Children of an untraced clone, detached at their first stop.
    private var expectedDetach: Set<pid_t> = []
    /// Fork children stopped at their first stop until the engine has taken note of them (`release`).
    private var held: Set<pid_t> = []

    /// Lets a child a `.fork` stop announced run (at once, or at its first stop when that is still to come).
    mutating func release(_ child: pid_t) throws(Errno) {
        if held.remove(child) != nil { try resume(child) }
    }
}
