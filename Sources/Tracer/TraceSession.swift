import CPtrace
import ELF
import Glibc
import Prototypes

/// What to trace and how to decode it.
public struct TraceConfiguration: Sendable {
    /// The file to execute (already resolved through PATH).
    public var executable: String
    /// argv, including argv[0].
    public var arguments: [String]
    /// The environment as `NAME=value` strings.
    public var environment: [String]
    public var filter: CallFilter
    public var decoder: CallDecoder

    public init(executable: String, arguments: [String], environment: [String], filter: CallFilter,
                decoder: CallDecoder = CallDecoder()) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.filter = filter
        self.decoder = decoder
    }
}

/// How the traced program ended: a result, not an error.
public enum ProgramOutcome: Hashable, Sendable {
    case exited(status: Int32)
    case killed(signal: Int32, coreDumped: Bool)

    /// What a shell would report: the exit status, or 128 + the signal number.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let status): return status
        case .killed(let signal, _): return 128 + signal
        }
    }
}

public enum TraceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// exec failed in the child (ENOENT, EACCES, ENOEXEC...).
    case cannotExecute(path: String, errno: Errno)
    /// fork, or PTRACE_TRACEME, failed.
    case cannotTrace(path: String, errno: Errno)
    /// A ptrace call on a thread that should have been stopped failed.
    case lostTracee(pid: Int32, operation: String, errno: Errno)

    public var description: String {
        switch self {
        case .cannotExecute(let path, let errno): return "cannot execute \(path): \(errno)"
        case .cannotTrace(let path, let errno): return "cannot trace \(path): \(errno)"
        case .lostTracee(let pid, let operation, let errno): return "lost traced process \(pid) (\(operation)): \(errno)"
        }
    }
}

/// The engine's own counts, so a figure like "µs per call" can explain itself.
public struct EngineCounters: Hashable, Sendable {
    /// Reported calls (entry stops on selected slots).
    public var calls = 0
    /// Stops taken for reported calls: their slot stops plus their return stops.
    public var callStops = 0
    /// Stops of the engine's own (the entry point, the loader's r_brk, unwind hooks, unselected frames).
    public var internalStops = 0
    /// Signal-delivery stops passed on to the program.
    public var signalStops = 0
    /// Breakpoints planted (slots and return sites).
    public var breakpoints = 0

    public var stopsPerCall: Double { calls == 0 ? 0 : Double(callStops) / Double(calls) }
}

/// The trace engine (shared/DESIGN.md decision 3): starts a program under ptrace, puts breakpoints on the
/// selected PLT slots of every loaded object, and at each slot stop emulates the slot's indirect jump and
/// replaces the return address with a return site of ours inside the calling object. Two stops per call,
/// no single-steps, and no breakpoint is ever lifted while the program runs.
///
/// One session traces one program and every thread of it. It waits with waitpid(-1, __WALL), so it must be
/// the only thing in its process that reaps children while it runs (the `linkscope` executable is).
public final class TraceSession {
    public let configuration: TraceConfiguration
    public private(set) var counters = EngineCounters()

    private var emit: (TraceEvent) -> Void = { _ in }
    private var diagnose: (String) -> Void = { _ in }

    private enum Role {
        case slot(SlotBreakpoint)
        case returnSite
        case entryPoint
        case loaderHook
    }

    private struct SlotBreakpoint {
        var symbol: String
        var gotAddress: UInt64
        var caller: String?
        var reported: Bool
        var startsUnwind: Bool
        var noReturn: Bool
        var returnSite: UInt64
        /// Whether decoding reads xmm registers at entry / at return: PTRACE_GETFPREGS is a system call per
        /// stop, taken only for prototypes with float arguments, format strings, or a float result.
        var vectorsAtEntry: Bool
        var vectorsAtReturn: Bool
    }

    private struct Breakpoint {
        var original: UInt8
        var role: Role
    }

    private struct ThreadState {
        var shadow = ShadowStack()
        /// A vfork child runs on its parent's stack: its calls are not reported, only passed through.
        var isForeign = false
        /// Created from a clone/vfork event: its first stop, a SIGSTOP, is the kernel's, not the program's.
        var awaitingStartStop = false
    }

    /// The traced process (thread-group leader).
    private var pid: pid_t = 0
    private var threads: [pid_t: ThreadState] = [:]
    private var breakpoints: [UInt64: Breakpoint] = [:]
    private var images: [LoadedImage] = []
    /// The link map's objects in order, as of the last consistent state.
    private var loadOrder: [TracedObject] = []
    private var factsByPath: [String: ImageFacts] = [:]
    private var entryPoint: UInt64 = 0
    private var mainPath = ""
    private var rDebug: UInt64 = 0
    private var nextCallID: UInt64 = 1
    private var candidates: [FilterCandidate] = []
    private var selectedSlots = 0
    private var outcome: ProgramOutcome?
    /// Children of fork whose first stop came before their parent's fork event: cleaned at that event.
    private var earlyChildren: Set<pid_t> = []
    /// vfork children we follow until they exec or exit.
    private var foreignProcesses: Set<pid_t> = []

    public init(configuration: TraceConfiguration) {
        self.configuration = configuration
    }

    /// Runs the program to its end, handing every event to `events` as it happens and every warning (a rule
    /// that matched nothing, a program with nothing to trace) to `diagnostics`.
    public func run(events: @escaping (TraceEvent) -> Void,
                    diagnostics: @escaping (String) -> Void = { _ in }) throws(TraceError) -> ProgramOutcome {
        emit = events
        diagnose = diagnostics
        // ^C at a terminal reaches the program too: let it decide (and report how it ended) instead of dying
        // first and leaving the trace cut short. The child's path resets both before exec.
        let previousInterrupt = signal(SIGINT, SIG_IGN)
        let previousQuit = signal(SIGQUIT, SIG_IGN)
        defer {
            signal(SIGINT, previousInterrupt)
            signal(SIGQUIT, previousQuit)
        }
        try start()
        try loop()
        for rule in configuration.filter.unmatchedRules(afterSeeing: candidates) {
            diagnose("filter rule '\(rule)' matched no PLT slot")
        }
        guard let outcome else { preconditionFailure("the event loop ends only when the program has ended") }
        return outcome
    }

    // MARK: Start

    private func start() throws(TraceError) {
        let path = configuration.executable
        var childErrno: Int32 = 0
        let argv = configuration.arguments.map { strdup($0) } + [nil]
        let envp = configuration.environment.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        let child = cptrace_spawn_traced(path, argv, envp, &childErrno)
        if child < 0 {
            if childErrno == EPERM { throw .cannotTrace(path: path, errno: Errno(rawValue: childErrno)) }
            if childErrno != 0 { throw .cannotExecute(path: path, errno: Errno(rawValue: childErrno)) }
            throw .cannotTrace(path: path, errno: .current)
        }
        pid = child
        threads[child] = ThreadState()
        // The exec stop (a plain SIGTRAP: options are not set yet).
        let status: WaitStatus
        do { (_, status) = try Ptrace.wait(child) } catch { throw .lostTracee(pid: child, operation: "wait for exec", errno: error) }
        guard case .stopped(SIGTRAP, nil) = status else {
            throw .lostTracee(pid: child, operation: "exec stop", errno: Errno(rawValue: ESRCH))
        }
        do {
            try Ptrace.setOptions(child, [.traceSysGood, .traceClone, .traceFork, .traceVfork, .traceExec, .exitKill])
        } catch { throw .lostTracee(pid: child, operation: "PTRACE_SETOPTIONS", errno: error) }
        try prepareImage(thread: child)
        try resume(child)
    }

    /// At an exec stop: the new image has only its program and the loader mapped. Plant a breakpoint at the
    /// program's entry point (AT_ENTRY); by then the loader has mapped every DT_NEEDED object and filled
    /// r_debug.
    private func prepareImage(thread: pid_t) throws(TraceError) {
        breakpoints.removeAll()
        images.removeAll()
        rDebug = 0
        mainPath = (try? String(contentsOfSymlink: "/proc/\(pid)/exe")) ?? configuration.executable
        let facts = try? factsFor(path: mainPath, wantSlots: false)
        if facts?.isStatic ?? false {
            diagnose("\(mainPath) is statically linked: no library calls to trace")
            return
        }
        guard let entry = Self.auxiliaryValue(pid: pid, type: 9 /* AT_ENTRY */), entry != 0 else {
            diagnose("cannot read the entry point of \(mainPath): no library calls will be traced")
            return
        }
        entryPoint = entry
        do {
            let original = try TraceeMemory(pid: thread).replaceByte(at: entry, with: 0xcc)
            breakpoints[entry] = Breakpoint(original: original, role: .entryPoint)
        } catch {
            diagnose("cannot plant a breakpoint at the entry point of \(mainPath) (\(error)): no library calls will be traced")
        }
    }

    private static func auxiliaryValue(pid: pid_t, type: UInt64) -> UInt64? {
        guard let bytes = try? readWholeFile("/proc/\(pid)/auxv") else { return nil }
        var index = 0
        while index + 16 <= bytes.count {
            var key: UInt64 = 0, value: UInt64 = 0
            for i in 0..<8 {
                key |= UInt64(bytes[index + i]) << (8 * UInt64(i))
                value |= UInt64(bytes[index + 8 + i]) << (8 * UInt64(i))
            }
            if key == type { return value }
            if key == 0 { break }
            index += 16
        }
        return nil
    }

    // MARK: The event loop

    private func loop() throws(TraceError) {
        while true {
            let tid: pid_t, status: WaitStatus
            do { (tid, status) = try Ptrace.wait() } catch {
                if error == .noChild { return }
                throw .lostTracee(pid: pid, operation: "waitpid", errno: error)
            }
            switch status {
            case .exited(let code):
                threadEnded(tid)
                if tid == pid {
                    emit(.exited(process: ThreadID(rawValue: tid), status: code, time: .now()))
                    outcome = .exited(status: code)
                }
            case .killed(let signal, let core):
                threadEnded(tid)
                if tid == pid {
                    emit(.killed(process: ThreadID(rawValue: tid), signal: signal, coreDumped: core, time: .now()))
                    outcome = .killed(signal: signal, coreDumped: core)
                }
            case .stopped(let signal, let event):
                try stopped(tid, signal: signal, event: event)
            }
        }
    }

    private func threadEnded(_ tid: pid_t) {
        threads[tid] = nil
        foreignProcesses.remove(tid)
    }

    private func stopped(_ tid: pid_t, signal: Int32, event: PtraceEvent?) throws(TraceError) {
        if threads[tid] == nil {
            // A thread or child whose creation event we have not seen yet: its first stop is a SIGSTOP.
            if Self.threadGroup(of: tid) != pid && !foreignProcesses.contains(tid) {
                earlyChildren.insert(tid)  // a fork child: cleaned and detached at its parent's fork event
                return
            }
            threads[tid] = ThreadState()
            if signal == SIGSTOP && event == nil { return try resume(tid) }
        }
        if threads[tid]?.awaitingStartStop == true && signal == SIGSTOP && event == nil {
            threads[tid]?.awaitingStartStop = false
            return try resume(tid)
        }
        if let event {
            return try ptraceEvent(tid, event)
        }
        if signal == SIGTRAP {
            return try breakpointStop(tid)
        }
        if signal == SIGTRAP | 0x80 { return try resume(tid) }  // a syscall stop: not asked for
        if [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU].contains(signal) {
            let isDelivery = (try? Ptrace.hasSignalInfo(tid)) ?? true
            if !isDelivery {
                // A group-stop. Without PTRACE_SEIZE it cannot be kept without losing the end of it, so the
                // thread is resumed (documented limitation: job control stops do not hold under trace).
                return try resume(tid)
            }
        }
        counters.signalStops += 1
        if threads[tid]?.isForeign != true {
            emit(.signal(thread: ThreadID(rawValue: tid), signal: signal, time: .now()))
        }
        try resume(tid, signal: signal)
    }

    private static func threadGroup(of tid: pid_t) -> pid_t? {
        guard let bytes = try? readWholeFile("/proc/\(tid)/status") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("Tgid:") {
            return pid_t(String(line.dropFirst(5)).strippingBlanks())
        }
        return nil
    }

    private func resume(_ tid: pid_t, signal: Int32 = 0) throws(TraceError) {
        do { try Ptrace.cont(tid, signal: signal) } catch {
            // The thread died between its stop and our continue (another thread called exit_group): its exit
            // is reported by waitpid.
            if error == .noSuchProcess { return }
            throw .lostTracee(pid: tid, operation: "PTRACE_CONT", errno: error)
        }
    }

    // MARK: ptrace events: threads, forks, exec

    private func ptraceEvent(_ tid: pid_t, _ event: PtraceEvent) throws(TraceError) {
        switch event {
        case .clone:
            if let new = try? Ptrace.eventMessage(tid), threads[pid_t(new)] == nil {
                // Its SIGSTOP is still to come.
                var state = ThreadState()
                state.awaitingStartStop = true
                threads[pid_t(new)] = state
            }
        case .fork:
            if let child = try? Ptrace.eventMessage(tid) { cleanAndDetach(child: pid_t(child), forkedBy: tid) }
        case .vfork:
            if let child = try? Ptrace.eventMessage(tid) {
                // The child shares our memory and runs on its parent's stack until it execs or exits: follow
                // it silently so its returns through our return sites still work.
                let child = pid_t(child)
                foreignProcesses.insert(child)
                var state = ThreadState()
                state.isForeign = true
                for var frame in threads[tid]?.shadow.frames ?? [] {
                    frame.reported = false
                    state.shadow.push(frame)
                }
                let alreadyStopped = earlyChildren.remove(child) != nil
                state.awaitingStartStop = !alreadyStopped
                threads[child] = state
                if alreadyStopped { try resume(child) }
            }
        case .exec:
            if foreignProcesses.contains(tid) || threads[tid]?.isForeign == true {
                // A vfork child exec'd: its new image has none of our breakpoints.
                foreignProcesses.remove(tid)
                threads[tid] = nil
                try? Ptrace.detach(tid)
                return
            }
            // The program exec'd: a new image. Other threads are gone; the leader carries on.
            for (other, state) in threads where !state.isForeign { if other != pid { threads[other] = nil } }
            threads[pid] = ThreadState()
            try prepareImage(thread: pid)
            return try resume(pid)
        default:
            break
        }
        try resume(tid)
    }

    /// A fork child gets a private copy of our breakpoints and of its parent's hijacked return addresses: put
    /// the original bytes and the real return addresses back in the copy, then let it go.
    private func cleanAndDetach(child: pid_t, forkedBy parent: pid_t) {
        if earlyChildren.remove(child) == nil {
            // Its first stop is on its way.
            while true {
                guard let (stoppedPid, status) = try? Ptrace.wait(child) else { return }
                if stoppedPid == child, case .stopped = status { break }
                if case .exited = status { return }
                if case .killed = status { return }
            }
        }
        let memory = TraceeMemory(pid: child)
        for (address, breakpoint) in breakpoints {
            _ = try? memory.replaceByte(at: address, with: breakpoint.original)
        }
        // Innermost first, so on a slot shared by tail calls the outermost (real) address is written last.
        for frame in (threads[parent]?.shadow.frames ?? []).reversed() {
            try? memory.writeWord(frame.realReturn, at: frame.stackSlot)
        }
        try? Ptrace.detach(child)
    }

    // MARK: Breakpoints

    private func breakpointStop(_ tid: pid_t) throws(TraceError) {
        var regs: user_regs_struct
        do { regs = try Ptrace.registers(tid) } catch {
            if error == .noSuchProcess { return }
            throw .lostTracee(pid: tid, operation: "PTRACE_GETREGS", errno: error)
        }
        let address = regs.rip &- 1
        guard let breakpoint = breakpoints[address] else {
            // The program's own SIGTRAP (raise, an int3 of its own): it gets it.
            counters.signalStops += 1
            if threads[tid]?.isForeign != true {
                emit(.signal(thread: ThreadID(rawValue: tid), signal: SIGTRAP, time: .now()))
            }
            return try resume(tid, signal: SIGTRAP)
        }
        let memory = TraceeMemory(pid: tid)
        switch breakpoint.role {
        case .slot(let slot):
            try slotStop(tid, &regs, slot, memory)
        case .returnSite:
            if !(try returnStop(tid, &regs, memory)) {
                counters.signalStops += 1
                emit(.signal(thread: ThreadID(rawValue: tid), signal: SIGTRAP, time: .now()))
                return try resume(tid, signal: SIGTRAP)
            }
        case .entryPoint:
            counters.internalStops += 1
            // Only one thread exists before the program's first instruction runs, so lifting this one
            // breakpoint and re-running the instruction is safe here (and only here).
            do {
                try memory.replaceByte(at: address, with: breakpoint.original)
            } catch { throw .lostTracee(pid: tid, operation: "restore entry point", errno: error) }
            breakpoints[address] = nil
            regs.rip = address
            armInitialImages(tid)
        case .loaderHook:
            counters.internalStops += 1
            // r_brk is `_dl_debug_state`, a bare `ret`: do what it would do.
            guard let returnAddress = try? memory.word(at: regs.rsp) else {
                throw .lostTracee(pid: tid, operation: "read r_brk return address", errno: Errno(rawValue: EFAULT))
            }
            regs.rip = returnAddress
            regs.rsp &+= 8
            if let state = try? memory.word(at: rDebug &+ 24), UInt32(truncatingIfNeeded: state) == 0 /* RT_CONSISTENT */ {
                syncLinkMap(tid)
            }
        }
        do { try Ptrace.setRegisters(tid, regs) } catch {
            if error == .noSuchProcess { return }
            throw .lostTracee(pid: tid, operation: "PTRACE_SETREGS", errno: error)
        }
        try resume(tid)
    }

    private func slotStop(_ tid: pid_t, _ regs: inout user_regs_struct, _ slot: SlotBreakpoint,
                          _ memory: TraceeMemory) throws(TraceError) {
        let target: UInt64, returnAddress: UInt64
        do { (target, returnAddress) = try memory.words(at: slot.gotAddress, regs.rsp) } catch {
            throw .lostTracee(pid: tid, operation: "read GOT word of \(slot.symbol)", errno: error)
        }
        // Taken out of the table while it changes, so its shadow stack is uniquely referenced (no copy).
        var state = threads.removeValue(forKey: tid) ?? ThreadState()
        defer { threads[tid] = state }
        let time = Timestamp.now()
        // A tail call from inside a traced call (`jmp strlen@plt`; glibc's strcoll does it to strcmp): the
        // return address is already one of our return sites and the frame owning this slot is still open.
        // Both calls will return through it at once, so the new frame is stacked on the same slot.
        let isTailCall = isReturnSite(returnAddress)
        let dead = isTailCall ? state.shadow.dropFrames(below: regs.rsp) : state.shadow.dropFrames(atOrBelow: regs.rsp)
        for frame in dead { unwound(frame, tid: tid, time: time) }
        if slot.startsUnwind {
            // Put every hijacked return address back before the unwinder walks them.
            for frame in state.shadow.removeAll() {
                try? memory.writeWord(frame.realReturn, at: frame.stackSlot)
                unwound(frame, tid: tid, time: time)
            }
        }
        regs.rip = target  // the slot's `jmp *GOT`
        guard slot.reported && !state.isForeign else {
            counters.internalStops += 1
            return
        }
        counters.calls += 1
        counters.callStops += 1
        let registers = Self.registerFile(regs, tid: tid, vectors: slot.vectorsAtEntry)
        let decoded = configuration.decoder.decodeEntry(function: slot.symbol, registers: registers, memory: memory)
        let callID = nextCallID
        nextCallID += 1
        emit(.call(CallEntryEvent(
            thread: ThreadID(rawValue: tid), process: ThreadID(rawValue: pid), callID: callID,
            function: slot.symbol, caller: slot.caller, callSite: returnAddress, depth: state.shadow.depth,
            decoded: decoded, time: time)))
        if slot.noReturn || slot.startsUnwind { return }
        // On a tail call the slot keeps the outer caller's site: that is the caller the callee sees.
        if !isTailCall {
            do { try memory.writeWord(slot.returnSite, at: regs.rsp) } catch {
                throw .lostTracee(pid: tid, operation: "write return address", errno: error)
            }
        }
        state.shadow.push(ShadowFrame(
            stackSlot: regs.rsp, realReturn: returnAddress, callID: callID, function: slot.symbol,
            caller: slot.caller, entry: decoded, entryTime: time, reported: true,
            vectorsAtReturn: slot.vectorsAtReturn))
    }

    /// False when no open call returns through this stop (not ours: the program gets the SIGTRAP).
    private func returnStop(_ tid: pid_t, _ regs: inout user_regs_struct, _ memory: TraceeMemory) throws(TraceError) -> Bool {
        // Taken out of the table while it changes, so its shadow stack is uniquely referenced (no copy).
        var state = threads.removeValue(forKey: tid) ?? ThreadState()
        defer { threads[tid] = state }
        let time = Timestamp.now()
        // `ret` popped the slot: rsp is one word above it.
        guard let (frame, unwoundFrames) = state.shadow.popReturning(through: regs.rsp &- 8) else { return false }
        for dead in unwoundFrames { unwound(dead, tid: tid, time: time) }
        regs.rip = frame.realReturn
        guard frame.reported && !state.isForeign else {
            counters.internalStops += 1
            return true
        }
        counters.callStops += 1
        let registers = Self.registerFile(regs, tid: tid, vectors: frame.vectorsAtReturn)
        let decoded = configuration.decoder.decodeReturn(frame.entry, registers: registers, memory: memory)
        emit(.callReturn(CallReturnEvent(
            thread: ThreadID(rawValue: tid), process: ThreadID(rawValue: pid), callID: frame.callID,
            function: frame.function, caller: frame.caller, depth: state.shadow.depth, decoded: decoded,
            entryTime: frame.entryTime, time: time)))
        // Frames that tail-called this one return with it, with the same result registers.
        while isReturnSite(regs.rip), let (outer, _) = state.shadow.popReturning(through: regs.rsp &- 8) {
            regs.rip = outer.realReturn
            guard outer.reported else { continue }
            let result = configuration.decoder.decodeReturn(outer.entry, registers: registers, memory: memory)
            emit(.callReturn(CallReturnEvent(
                thread: ThreadID(rawValue: tid), process: ThreadID(rawValue: pid), callID: outer.callID,
                function: outer.function, caller: outer.caller, depth: state.shadow.depth, decoded: result,
                entryTime: outer.entryTime, time: time)))
        }
        return true
    }

    private func isReturnSite(_ address: UInt64) -> Bool {
        guard let breakpoint = breakpoints[address], case .returnSite = breakpoint.role else { return false }
        return true
    }

    private func unwound(_ frame: ShadowFrame, tid: pid_t, time: Timestamp) {
        guard frame.reported else { return }
        emit(.callReturn(CallReturnEvent(
            thread: ThreadID(rawValue: tid), process: ThreadID(rawValue: pid), callID: frame.callID,
            function: frame.function, caller: frame.caller, depth: 0, decoded: nil,
            entryTime: frame.entryTime, time: time)))
    }

    /// Unknown functions are shown the way ltrace shows them, from integer registers only.
    private static func vectorUse(_ prototype: Prototype?) -> (entry: Bool, result: Bool) {
        guard let prototype else { return (false, false) }
        func isVector(_ type: ValueType) -> Bool { type == .float || type == .double }
        let entry = prototype.parameters.contains { isVector($0.type) || $0.type == .format }
        return (entry, isVector(prototype.returnType))
    }

    private static func registerFile(_ regs: user_regs_struct, tid: pid_t, vectors wanted: Bool) -> RegisterFile {
        let vectors = (wanted ? (try? Ptrace.floatingPointRegisters(tid)).map(user_regs_struct.vectorLow) : nil)
            ?? Array(repeating: 0, count: 8)
        return RegisterFile(
            integerArguments: [regs.rdi, regs.rsi, regs.rdx, regs.rcx, regs.r8, regs.r9],
            vectorLow: vectors, stackPointer: regs.rsp, rax: regs.rax, rdx: regs.rdx)
    }

    // MARK: Objects and their slots

    private func factsFor(path: String, wantSlots: Bool) throws(ELFError) -> ImageFacts {
        if let known = factsByPath[path], !wantSlots || !known.slots.isEmpty || known.isStatic { return known }
        let file = try ELFFile(path: path)
        let facts = try ImageFacts(file: file, wantSlots: wantSlots,
                                   wantDefinitions: configuration.filter.needsDefiningLibrary)
        factsByPath[path] = facts
        return facts
    }

    /// At the entry point: find r_debug through the program's DT_DEBUG, watch its r_brk, arm every object.
    private func armInitialImages(_ tid: pid_t) {
        let memory = TraceeMemory(pid: tid)
        guard let facts = try? factsFor(path: mainPath, wantSlots: false) else { return }
        let base = entryPoint &- facts.entry
        if let dynamic = facts.dynamicSegment {
            let count = min(dynamic.size / 16, 4096)
            var index: UInt64 = 0
            while index < count {
                let entryAddress = base &+ dynamic.address &+ index * 16
                guard let tag = try? memory.word(at: entryAddress), tag != 0 else { break }
                if tag == 21 /* DT_DEBUG */ { rDebug = (try? memory.word(at: entryAddress &+ 8)) ?? 0 }
                index += 1
            }
        }
        if rDebug != 0, let hook = try? memory.word(at: rDebug &+ 16), hook != 0 {
            if let original = try? memory.replaceByte(at: hook, with: 0xcc) {
                breakpoints[hook] = Breakpoint(original: original, role: .loaderHook)
            }
        }
        if rDebug == 0 {
            // No link map to read (an odd loader): trace the program alone.
            let object = TracedObject(isMainProgram: true, path: mainPath, soname: facts.soname)
            arm(LoadedImage(object: object, base: base, linkMapNode: 0), memory: memory)
        } else {
            syncLinkMap(tid)
        }
        if selectedSlots == 0 {
            diagnose("no PLT slot of the loaded objects is selected by the filters: nothing to trace yet")
        }
    }

    /// Compares the loader's link map with what is armed: new objects get breakpoints, removed ones are
    /// forgotten (their memory is gone, so there is nothing to restore).
    private func syncLinkMap(_ tid: pid_t) {
        let memory = TraceeMemory(pid: tid)
        guard var node = try? memory.word(at: rDebug &+ 8) else { return }
        var seen: [(node: UInt64, base: UInt64, name: String)] = []
        var visited: Set<UInt64> = []
        while node != 0, visited.count < 65536, visited.insert(node).inserted {
            guard let base = try? memory.word(at: node),
                  let nameAddress = try? memory.word(at: node &+ 8),
                  let next = try? memory.word(at: node &+ 24) else { break }
            let name = (try? memory.cString(at: nameAddress, limit: 4096)) ?? ""
            seen.append((node, base, name))
            node = next
        }
        // A node and load address pair names one loaded object; a reopened library gets a new pair.
        let live = Set(seen.map { "\($0.node):\($0.base)" })
        images.removeAll { image in
            let key = "\(image.linkMapNode):\(image.base)"
            if live.contains(key) { return false }
            for address in image.breakpoints { breakpoints[address] = nil }
            return true
        }
        let armed = Set(images.map { "\($0.linkMapNode):\($0.base)" })
        var fresh: [LoadedImage] = []
        for (index, entry) in seen.enumerated() where !armed.contains("\(entry.node):\(entry.base)") {
            let isMain = index == 0
            var path = isMain ? mainPath : entry.name
            guard !path.isEmpty else { continue }  // the vDSO has no file
            // dlopen("./x.so") leaves a name relative to the program's working directory.
            if !path.hasPrefix("/") { path = "/proc/\(pid)/cwd/" + path }
            guard let facts = try? factsFor(path: path, wantSlots: false) else { continue }
            let object = TracedObject(isMainProgram: isMain, path: path, soname: facts.soname)
            fresh.append(LoadedImage(object: object, base: entry.base, linkMapNode: entry.node))
        }
        // Every object is known before any is armed, so `-l` can find which library defines a symbol the
        // program (armed first) calls.
        loadOrder = images.map(\.object) + fresh.map(\.object)
        for image in fresh { arm(image, memory: memory) }
    }

    private func arm(_ image: LoadedImage, memory: TraceeMemory) {
        var image = image
        let filter = configuration.filter
        let traced = filter.mayTraceCalls(from: image.object)
        guard let facts = try? factsFor(path: image.object.path, wantSlots: true) else {
            images.append(image)
            return
        }
        var chosen: [(PLTSlot, reported: Bool)] = []
        for slot in facts.slots {
            var reported = false
            if traced {
                let definer = filter.needsDefiningLibrary ? definingLibrary(of: slot.symbol) : nil
                candidates.append(FilterCandidate(symbol: slot.symbol, caller: image.object, definingLibrary: definer))
                reported = filter.selects(symbol: slot.symbol, caller: image.object, definingLibrary: definer)
            }
            if reported || UnwindStarters.names.contains(slot.symbol) { chosen.append((slot, reported)) }
        }
        if chosen.contains(where: { $0.reported }) {
            image.returnSite = returnSite(for: image, facts: facts, memory: memory)
            if let site = image.returnSite, let padding = facts.returnSitePadding, site == image.base &+ padding {
                image.breakpoints.append(site)  // forgotten with the object at dlclose
            }
        }
        for (slot, reported) in chosen {
            let vectorUse = Self.vectorUse(configuration.decoder.library.prototype(named: slot.symbol))
            let address = image.base &+ slot.address
            guard breakpoints[address] == nil else { continue }
            let site = image.returnSite ?? 0
            if reported && site == 0 { continue }
            guard let original = try? memory.replaceByte(at: address, with: 0xcc) else { continue }
            breakpoints[address] = Breakpoint(original: original, role: .slot(SlotBreakpoint(
                symbol: slot.symbol, gotAddress: image.base &+ slot.gotAddress, caller: image.callerName,
                reported: reported, startsUnwind: UnwindStarters.names.contains(slot.symbol),
                noReturn: NoReturnFunctions.contains(slot.symbol), returnSite: site,
                vectorsAtEntry: vectorUse.entry, vectorsAtReturn: vectorUse.result)))
            image.breakpoints.append(address)
            counters.breakpoints += 1
            if reported { selectedSlots += 1 }
        }
        images.append(image)
    }

    /// The return breakpoint of an object: the padding after its code, inside its own executable mapping, so
    /// functions that look at their return address (dlsym(RTLD_NEXT), dlopen) still see the right caller.
    /// Objects whose code ends on a page boundary share the main program's site (documented limitation).
    private func returnSite(for image: LoadedImage, facts: ImageFacts, memory: TraceeMemory) -> UInt64? {
        if let existing = image.returnSite { return existing }
        if let padding = facts.returnSitePadding {
            let address = image.base &+ padding
            if let known = breakpoints[address], case .returnSite = known.role { return address }
            if let original = try? memory.replaceByte(at: address, with: 0xcc) {
                breakpoints[address] = Breakpoint(original: original, role: .returnSite)
                counters.breakpoints += 1
                return address
            }
        }
        if !image.object.isMainProgram, let main = images.first(where: { $0.object.isMainProgram }) {
            return main.returnSite ?? {
                guard let mainFacts = factsByPath[main.object.path] else { return nil }
                return returnSite(for: main, facts: mainFacts, memory: memory)
            }()
        }
        diagnose("\(image.object.path) has no room for a return breakpoint: its calls are not traced")
        return nil
    }

    /// The first library in load order that defines `symbol` (glibc's global scope; dlopen'ed objects'
    /// local scopes are not modelled).
    private func definingLibrary(of symbol: String) -> TracedObject? {
        for object in loadOrder where !object.isMainProgram {
            if factsByPath[object.path]?.definedFunctions.contains(symbol) == true { return object }
        }
        return nil
    }
}

extension Timestamp {
    static func now() -> Timestamp {
        var wall = timespec(), mono = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        return Timestamp(wallSeconds: Int64(wall.tv_sec), wallNanoseconds: Int32(wall.tv_nsec),
                         monotonicNanoseconds: UInt64(mono.tv_sec) * 1_000_000_000 + UInt64(mono.tv_nsec))
    }
}

extension TraceeMemory {
    /// A NUL-terminated string of at most `limit` bytes, read in chunks that never cross a page.
    func cString(at address: UInt64, limit: Int) throws(Errno) -> String {
        var bytes: [UInt8] = []
        var cursor = address
        while bytes.count < limit {
            let chunk = Int(min(UInt64(limit - bytes.count), 4096 - cursor % 4096))
            var buffer = [UInt8](repeating: 0, count: chunk)
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { raw in try readBytes(from: cursor, into: raw) }
            } catch let error as Errno { throw error } catch { preconditionFailure("readBytes throws only Errno") }
            guard n > 0 else { break }
            if let nul = buffer[..<n].firstIndex(of: 0) {
                bytes += buffer[..<nul]
                break
            }
            bytes += buffer[..<n]
            cursor &+= UInt64(n)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

func readWholeFile(_ path: String) throws(Errno) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .current }
    defer { close(fd) }
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n > 0 { result += buffer[..<n]; continue }
        if n == 0 { return result }
        if errno == EINTR { continue }
        throw .current
    }
}

extension String {
    init(contentsOfSymlink path: String) throws(Errno) {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buffer, 4096)
        guard n > 0 else { throw .current }
        self = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func strippingBlanks() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
