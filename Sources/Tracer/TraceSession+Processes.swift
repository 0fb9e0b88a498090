import TraceModel
import CPtrace
import ELF
import Glibc

// Starting a program, and what happens to threads and processes the program creates: threads share their
// process's address space; fork children get a copy, followed (-f) or cleaned and let go; vfork children run
// in their parent's memory until they exec; exec replaces an address space.
extension TraceSession {
    // MARK: Launch

    func launch(_ command: LaunchCommand) throws(TraceError) {
        // Seized, not PTRACE_TRACEME: job-control stops can then be kept (PTRACE_LISTEN) and threads interrupted.
        let child = try Spawn.start(command, seize: Self.traceOptions.union(.exitKill).rawValue, credentials: runAs)
        let path = command.readablePath
        firstProcess = child
        let space = AddressSpace(mainPath: path, programName: nil)
        space.launchPath = command.displayPath
        threads[child] = ThreadState(space: space, process: child)
        // The exec stop; a signal that arrives before it is passed on.
        while true {
            let status: WaitStatus
            do { (_, status) = try Ptrace.wait(child) } catch { throw .lostTracee(pid: child, operation: "wait for exec", errno: error) }
            switch status {
            case .stopped(_, .exec?):
                prepareImage(space, process: child)
                return try resume(child)
            case .stopped(let signal, nil):
                try resume(child, signal: signal)
            case .stopped:
                try resume(child)
            case .exited, .killed:
                throw .lostTracee(pid: child, operation: "exec stop", errno: Errno(rawValue: ESRCH))
            }
        }
    }

    /// Events every traced thread reports; children inherit them.
    static let traceOptions: PtraceOptions = [.traceSysGood, .traceClone, .traceFork, .traceVfork, .traceExec]

    /// At an exec stop: the new image has only its program and the loader mapped. Plant a breakpoint where
    /// the objects will be armed: the loader's `_dl_debug_state` (r_brk), which it calls once every DT_NEEDED
    /// object is mapped and relocated and before it runs their initialisers, so library constructors' calls
    /// are traced too (ltrace arms at the entry point and misses them). Without a loader symbol to find, the
    /// program's entry point (AT_ENTRY), when the initialisers have run.
    func prepareImage(_ space: AddressSpace, process: pid_t) {
        guard let entry = findEntryPoint(space, process: process) else { return }
        let memory = TraceeMemory(pid: process)
        if let loader = loaderSymbols(of: space, process: process),
           let original = try? memory.replaceByte(at: loader.debugState, with: Registers.breakpointInstruction) {
            space.breakpoints[loader.debugState] = AddressSpace.Breakpoint(original: original, role: .loaderHook)
            space.rDebug = loader.rDebug
            space.awaitingLoader = true
            space.armed = true  // the rest at the loader's first consistent notification
            return
        }
        do {
            let original = try memory.replaceByte(at: entry, with: Registers.breakpointInstruction)
            space.breakpoints[entry] = AddressSpace.Breakpoint(original: original, role: .entryPoint)
        } catch {
            diagnose("cannot plant a breakpoint at the entry point of \(space.mainPath) (\(error)): no library calls will be traced")
        }
        space.armed = true  // the rest at the entry point
    }

    /// Where the program's loader (its PT_INTERP, mapped at AT_BASE) has `_dl_debug_state` and `_r_debug`;
    /// nil when it has no loader or not glibc's symbols.
    private func loaderSymbols(of space: AddressSpace, process: pid_t) -> (debugState: UInt64, rDebug: UInt64)? {
        guard let interpreter = imageFacts[space.mainPath]?.interpreter,
              let base = ProcFS.auxiliaryValue(.interpreterBase, of: process), base != 0,
              let symbols = imageFacts.loaderSymbols(path: interpreter) else { return nil }
        return (base &+ symbols.debugState, base &+ symbols.rDebug)
    }

    /// Reads the program's path and entry point (AT_ENTRY) into `space`; nil, with a warning, for a static
    /// program or an unreadable auxv (the space is then done with: nothing will be armed).
    func findEntryPoint(_ space: AddressSpace, process: pid_t) -> UInt64? {
        if let exe = ProcFS.executable(of: process) { space.mainPath = exe }
        if (try? imageFacts.facts(path: space.mainPath, wantSlots: false))?.isStatic ?? false {
            diagnose("\(space.mainPath) is statically linked: no library calls to trace")
            space.armed = true
            return nil
        }
        guard let entry = ProcFS.auxiliaryValue(.entry, of: process), entry != 0 else {
            diagnose("cannot read the entry point of \(space.mainPath): no library calls will be traced")
            space.armed = true
            return nil
        }
        space.entryPoint = entry
        return entry
    }

    // MARK: ptrace events: threads, forks, exec

    func ptraceEvent(_ tid: pid_t, _ event: PtraceEvent) throws(TraceError) {
        guard let parent = threads[tid] else { preconditionFailure("stopped() registers every thread") }
        switch event {
        case .clone:
            guard let message = try? Ptrace.eventMessage(tid) else { break }
            let new = pid_t(message)
            // Its first stop (and maybe its exit) came first, or it was found in /proc while attaching.
            if threads.isSettled(created: new) { break }
            if ProcFS.threadGroup(of: new).map({ $0 != parent.process }) ?? false {
                // clone without CLONE_THREAD: a process of its own. Modelled as sharing its parent's memory
                // (CLONE_VM, as posix_spawn-like clones do): followed like a vfork child.
                try adoptSharingChild(new, of: tid)
                break
            }
            try register(new, ThreadState(siblingOf: parent))
        case .fork:
            guard let message = try? Ptrace.eventMessage(tid) else { break }
            let child = pid_t(message)
            threads.forgetEarlyRegistration(of: child)
            if configuration.followForks && !parent.isForeign {
                try followForkChild(child, of: tid)
            } else {
                cleanAndDetach(child: child, forkedBy: tid)
            }
        case .vfork:
            guard let message = try? Ptrace.eventMessage(tid) else { break }
            threads.forgetEarlyRegistration(of: pid_t(message))
            try adoptSharingChild(pid_t(message), of: tid)
        case .exec:
            try execed(tid)
            return
        default:
            break
        }
        try proceed(tid)
    }

    /// A child that runs in its parent's memory and on its parent's stack until it execs or exits (vfork,
    /// posix_spawn). It is followed even without -f, silently, so its returns through our return sites
    /// still work; with -f its own calls are reported.
    private func adoptSharingChild(_ child: pid_t, of tid: pid_t) throws(TraceError) {
        guard let parent = threads[tid] else { return }
        var state = ThreadState(space: parent.space, process: child)
        state.isForeign = parent.isForeign || !configuration.followForks
        state.sharesParentMemory = true
        for var frame in parent.shadow.frames {
            frame.reported = false
            state.shadow.push(frame)
        }
        try register(child, state)
    }

    /// -f: the child has a copy of its parent's memory, so a copy of the address space, and the forking
    /// thread's open calls (their hijacked return addresses are in its copy of the stack). Each process
    /// returns from those calls separately, but they are the calls the parent made: the child's returns carry
    /// their ids (issue 10: `fork`'s return in the child pairs with its call; the pid tells the two apart).
    private func followForkChild(_ child: pid_t, of tid: pid_t) throws(TraceError) {
        guard let parent = threads[tid] else { return }
        var state = ThreadState(space: parent.space.copy(), process: child)
        for frame in parent.shadow.frames { state.shadow.push(frame) }
        try register(child, state)
    }

    /// A thread or child from a creation event: its start stop is still to come, or (when it came first and
    /// was parked) the thread goes on now.
    private func register(_ tid: pid_t, _ state: ThreadState) throws(TraceError) {
        if threads.register(created: tid, state) { try proceed(tid) }
    }

    /// PTRACE_EVENT_EXEC: `tid` is the thread group leader's id now, whichever thread called exec.
    private func execed(_ tid: pid_t) throws(TraceError) {
        guard let old = threads[tid] else { return }
        if old.isForeign {
            // A vfork child (not followed) exec'd: its new image has none of our breakpoints.
            threads[tid] = nil
            try? Ptrace.detach(tid)
            return
        }
        // A new image: the process's other threads are gone, and so is every open call (closed: none returns).
        let time = Timestamp.now()
        for (thread, var state) in threads.removeOtherThreads(of: old.process, than: tid) + [(tid, old)] {
            for event in CallEngine.unfinished(&state.shadow, thread: ThreadID(rawValue: thread),
                                               process: ThreadID(rawValue: state.process), time: time) {
                emit(event)
            }
        }
        let state = ThreadState(space: AddressSpace(mainPath: "", programName: nil), process: old.process)
        threads[tid] = state
        prepareImage(state.space, process: tid)
        let name = ProcFS.executableName(of: tid) ?? state.space.mainPath.split(separator: "/").last.map(String.init) ?? ""
        state.space.programName = name
        emit(.exec(process: ThreadID(rawValue: tid), program: name, time: .now()))
        try proceed(tid)
    }

    /// A fork child gets a private copy of our breakpoints and of its parent's hijacked return addresses: put
    /// the original bytes and the real return addresses back in the copy, then let it go.
    func cleanAndDetach(child: pid_t, forkedBy parent: pid_t) {
        if !threads.takeParkedChild(child) {
            // Its first stop is on its way.
            while true {
                guard let (stoppedPid, status) = try? Ptrace.wait(child) else { return }
                if stoppedPid == child, case .stopped = status { break }
                if case .exited = status { return }
                if case .killed = status { return }
            }
        }
        guard let state = threads[parent] else { return }
        let memory = TraceeMemory(pid: child)
        state.space.restoreBreakpoints(memory)
        Self.restoreReturnAddresses(state.shadow, memory: memory)
        try? Ptrace.detach(child)
    }

    /// Writes the real return address back into every hijacked stack slot. Innermost first, so on a slot
    /// shared by tail calls the outermost (real) address is written last.
    static func restoreReturnAddresses(_ shadow: ShadowStack, memory: TraceeMemory) {
        for frame in shadow.frames.reversed() {
            try? memory.writeWord(frame.realReturn, at: frame.stackSlot)
        }
    }
}
