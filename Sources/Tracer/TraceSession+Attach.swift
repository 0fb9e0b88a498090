import TraceModel
import Glibc

// `-p PID`: attaching to running processes with PTRACE_SEIZE, and letting go of them again with every
// breakpoint byte and hijacked return address put back, so the program runs on as if never traced.
extension TraceSession {
    // MARK: Attach

    /// Seizes every thread of every process, stops them all, arms each process, then lets them all run.
    /// Nothing is written into a process before all of its threads are stopped.
    func attach(_ requested: [Int32]) throws(TraceError) {
        do throws(TraceError) {
            for pid in requested {
                guard let group = ProcFS.threadGroup(of: pid) else { throw .cannotAttach(pid: pid, reason: "no such process") }
                if group == getpid() { throw .cannotAttach(pid: pid, reason: "that is linkscope itself") }
                if threads[group] != nil { continue }  // named twice
                try seizeAllThreads(of: group, named: pid)
                if firstProcess == 0 { firstProcess = group }
            }
        } catch {
            // Nothing has been written yet: letting go is enough.
            for tid in threads.byID.keys { try? Ptrace.detach(tid) }
            threads.removeAll()
            throw error
        }
        try stopEverything()
        var seen: Set<ObjectIdentifier> = []
        for (tid, state) in threads.byID.sorted(by: { $0.key < $1.key }) where tid == state.process {
            guard seen.insert(ObjectIdentifier(state.space)).inserted, !state.space.armed else { continue }
            attachImage(state.space, process: tid)
        }
        for (tid, state) in threads.byID {
            threads[tid]?.hold = nil
            try release(tid, state.hold ?? .signal(0))
        }
    }

    /// PTRACE_SEIZE of each thread in /proc/PID/task, again until no new thread shows up (one created by a
    /// thread not yet seized would be missed; one created by a seized thread is attached by the kernel).
    private func seizeAllThreads(of group: pid_t, named pid: Int32) throws(TraceError) {
        let space = AddressSpace(mainPath: "", programName: nil)
        var known: Set<pid_t> = []
        var grew = true
        while grew {
            grew = false
            for tid in ProcFS.threads(of: group) where !known.contains(tid) {
                known.insert(tid)
                do {
                    try Ptrace.seize(tid, options: Self.traceOptions)
                } catch {
                    if error == .noSuchProcess && tid != group { continue }  // it ended meanwhile
                    if error == .notPermitted, ProcFS.tracer(of: tid) == getpid() {
                        // Already ours: a thread the kernel attached when a seized sibling created it.
                    } else {
                        throw .cannotAttach(pid: pid, reason: Self.whyNotTraceable(pid: pid, errno: error))
                    }
                }
                threads[tid] = ThreadState(space: space, process: group)
                grew = true
            }
        }
        if threads[group] == nil { throw .cannotAttach(pid: pid, reason: "no such process") }
    }

    /// Interrupts every thread and handles stops until each one is held. A stop is handled as in the
    /// trace itself (a clone, fork, vfork or exec on its way registers what it creates), except that the
    /// thread is kept stopped: an event stop uses up a pending interrupt, so resuming would let it run on.
    private func stopEverything() throws(TraceError) {
        phase = .attaching
        defer { phase = .tracing }
        try interruptRunningThreads()
        while !threads.allHeld {
            let tid: pid_t, status: WaitStatus
            do { (tid, status) = try Ptrace.wait() } catch {
                if error == .noChild { threads.removeAll(); return }
                throw .lostTracee(pid: firstProcess, operation: "waitpid", errno: error)
            }
            switch status {
            case .exited(let code): threadEnded(tid, outcome: .exited(status: code))
            case .killed(let signal, let core): threadEnded(tid, outcome: .killed(signal: signal, coreDumped: core))
            case .stopped(let signal, let event): try stopped(tid, signal: signal, event: event)
            }
        }
    }

    /// An attached process's objects, armed at once (its entry point is long past).
    private func attachImage(_ space: AddressSpace, process: pid_t) {
        defer { space.programName = space.mainPath.split(separator: "/").last.map(String.init) }
        guard findEntryPoint(space, process: process) != nil else { return }
        armImages(of: space, thread: process)
    }

    private func release(_ tid: pid_t, _ hold: Hold) throws(TraceError) {
        do {
            switch hold {
            case .signal(let signal): try Ptrace.cont(tid, signal: signal)
            case .groupStop: try Ptrace.listen(tid)
            }
        } catch {
            if error == .noSuchProcess { return }
            throw .lostTracee(pid: tid, operation: "resume after attach", errno: error)
        }
    }

    /// The reason a user can act on when PTRACE_SEIZE fails.
    static func whyNotTraceable(pid: pid_t, errno: Errno) -> String {
        if errno == .noSuchProcess { return "no such process" }
        guard errno == .notPermitted else { return errno.description }
        if let tracer = ProcFS.tracer(of: pid), tracer != 0 {
            let name = ProcFS.commandName(of: tracer)
            return "already traced by process \(tracer)" + (name.map { " (\($0))" } ?? "")
        }
        if let scope = ProcFS.ptraceScope(), scope > 0 {
            switch scope {
            case 1: return "\(errno) (kernel.yama.ptrace_scope is 1: only a parent may trace; run as root, or set it to 0)"
            case 2: return "\(errno) (kernel.yama.ptrace_scope is 2: only root may attach)"
            default: return "\(errno) (kernel.yama.ptrace_scope is \(scope): attaching is disabled until reboot)"
            }
        }
        if getuid() != 0 { return "\(errno) (another user's process, or one that is not dumpable: run as root)" }
        return "\(errno) (a kernel thread, or a process that cannot be traced)"
    }

    // MARK: Detach

    /// Stop every thread; `finishDetachIfReady` lets go once all are held.
    func beginDetach() throws(TraceError) {
        phase.beginDetach()
        try interruptRunningThreads()
        finishDetachIfReady()
    }

    /// PTRACE_INTERRUPT to every thread not held (a thread still to report its start stop needs none).
    private func interruptRunningThreads() throws(TraceError) {
        for (tid, state) in threads.byID where state.hold == nil && !state.awaitingStartStop {
            do { try Ptrace.interrupt(tid) } catch {
                // ESRCH: reaped already, nothing will report it. EIO: exiting (a zombie): its exit is coming.
                if error == .noSuchProcess { threads[tid] = nil; continue }
                if error.rawValue == EIO { continue }
                throw .lostTracee(pid: tid, operation: "PTRACE_INTERRUPT", errno: error)
            }
        }
    }

    /// The next stop while detaching. Every thread was interrupted, so stops come quickly; when none has come
    /// for a second, the threads still running are looked at again (a safety net: an interrupt can be used up
    /// by a trap that is handled by resuming the thread).
    func waitWhileDetaching() throws(Errno) -> (pid_t, WaitStatus)? {
        for _ in 0..<20 {
            if let stop = try Ptrace.poll() { return stop }
            usleep(50_000)
        }
        chaseRunningThreads()
        return nil
    }

    private func chaseRunningThreads() {
        for tid in threads.running.keys {
            guard let state = ProcFS.state(of: tid) else {
                threads[tid] = nil  // gone without a word to us: nothing to restore in it
                continue
            }
            if !state.hasPrefix("t") { try? Ptrace.interrupt(tid) }
        }
        finishDetachIfReady()
    }

    /// Once every thread is stopped: put every breakpoint byte and every hijacked return address back, then
    /// detach each thread, delivering the signal it was stopped with.
    func finishDetachIfReady() {
        let running = threads.running
        guard running.isEmpty else {
            // Only children sharing a parent's memory still run (a CLONE_VM child whose parent did not wait
            // for it): stop them now.
            if running.values.allSatisfy(\.sharesParentMemory) {
                for tid in phase.sharersToInterrupt(among: running.keys) { try? Ptrace.interrupt(tid) }
            }
            return
        }
        var restored: Set<ObjectIdentifier> = []
        for (tid, state) in threads.byID where restored.insert(ObjectIdentifier(state.space)).inserted {
            state.space.restoreBreakpoints(TraceeMemory(pid: tid))
        }
        for (tid, state) in threads.byID {
            Self.restoreReturnAddresses(state.shadow, memory: TraceeMemory(pid: tid))
        }
        let time = Timestamp.now()
        for (tid, state) in threads.byID.sorted(by: { $0.key < $1.key }) {
            switch state.hold {
            case .signal(let signal)?: try? Ptrace.detach(tid, signal: signal)
            case .groupStop?, nil: try? Ptrace.detach(tid)
            }
            if tid == state.process && !state.isForeign {
                emit(.detached(process: ThreadID(rawValue: tid), time: time))
            }
        }
        threads.removeAll()
    }
}

/// SIGINT, SIGTERM and SIGHUP ask an attached trace to let go; SIGCHLD says a traced thread has news. All
/// four are blocked while attached and taken with sigtimedwait, so none is lost between a check and a wait.
struct StopRequestSignals {
    private var previous = sigset_t()
    private var requests = sigset_t()

    init() {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&blocked, signal) }
        requests = blocked
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
    }

    func restore() {
        var mask = previous
        pthread_sigmask(SIG_SETMASK, &mask, nil)
    }

    /// Waits up to `nanoseconds` for one of the signals: true when it asks to let go.
    func wait(nanoseconds: UInt64) -> Bool {
        var set = requests
        var timeout = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        let signal = sigtimedwait(&set, nil, &timeout)
        return signal == SIGINT || signal == SIGTERM || signal == SIGHUP
    }
}
