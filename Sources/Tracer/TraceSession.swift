import TraceModel
import CPtrace
import ELF
import Glibc
import Prototypes

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

/// A user's ids, for a program started as that user (`trace -u USER`): its uid, primary gid and every group
/// it belongs to (getgrouplist), resolved before the fork because the child may only make async-signal-safe
/// calls.
public struct Credentials: Hashable, Sendable {
    public var uid: uid_t
    public var gid: gid_t
    public var groups: [gid_t]

    public init(uid: uid_t, gid: gid_t, groups: [gid_t]) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    public struct LookupError: Error, CustomStringConvertible, Sendable {
        public var user: String
        public var description: String { "no such user: \(user)" }
    }

    /// USER's ids from the password and group databases (a name, or a numeric uid as ltrace takes it).
    public static func of(user: String) throws(LookupError) -> Credentials {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        getpwnam_r(user, &entry, &buffer, buffer.count, &result)
        if result == nil, let uid = uid_t(user) { getpwuid_r(uid, &entry, &buffer, buffer.count, &result) }
        guard let found = result?.pointee else { throw LookupError(user: user) }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(found.pw_name, found.pw_gid, &groups, &count) < 0 {
            // count now says how many it needs; never trust it to grow.
            count = max(count, Int32(clamping: groups.count * 2))
            groups = [gid_t](repeating: 0, count: Int(count))
        }
        return Credentials(uid: found.pw_uid, gid: found.pw_gid, groups: Array(groups.prefix(Int(count))))
    }
}

/// The trace engine (shared/DESIGN.md decision 3): starts a program under ptrace (or attaches to running
/// ones), puts breakpoints on the selected PLT slots of every loaded object, and at each slot stop emulates
/// the slot's indirect jump and replaces the return address with a return site of ours inside the calling
/// object. Two stops per call, no single-steps, and no breakpoint is ever lifted while the program runs.
///
/// One session traces every thread of its processes, and with `followForks` their children. It waits with
/// waitpid(-1, __WALL), so it must be the only thing in its process that reaps children while it runs (the
/// `linkscope` executable is).
public final class TraceSession: TraceEngine {
    public let configuration: TraceConfiguration
    public internal(set) var counters = EngineCounters()
    public let name = "ptrace"

    public var statistics: String {
        let c = counters
        let hundredths = Int((c.stopsPerCall * 100).rounded())
        let perCall = "\(hundredths / 100)." + (hundredths % 100 < 10 ? "0" : "") + "\(hundredths % 100)"
        return "\(c.calls) calls, \(c.callStops) call stops, \(perCall) stops/call, \(c.internalStops) internal stops, "
            + "\(c.signalStops) signal stops, \(c.breakpoints) breakpoints"
    }

    var emit: (TraceEvent) -> Void = { _ in }
    var diagnose: (String) -> Void = { _ in }

    var threads = ThreadTable()
    var phase = SessionPhase.tracing
    var imageFacts: ImageFactsCache
    var nextCallID: UInt64 = 1
    var candidates: [FilterCandidate] = []
    var selectedSlots = 0
    /// The process whose end decides the outcome: the launched one, or the first PID attached to.
    var firstProcess: pid_t = 0
    var outcome: ProgramOutcome?
    /// While a launched program runs: passes on the signals linkscope receives that the program did not.
    private var signalRelay: SignalRelayThread?
    private let callEngine: CallEngine

    /// `-S`: each thread's system call between its entry and exit stops.
    var pendingSystemCalls: [pid_t: PendingSystemCall] = [:]
    let systemCallDecoder: SystemCallDecoder

    /// `-u USER`: the ids a launched program runs with (nil: linkscope's own).
    public let runAs: Credentials?

    /// `runAs`: the ids to start a launched program with (`trace -u USER`, as root).
    public init(configuration: TraceConfiguration, runAs: Credentials? = nil) {
        self.configuration = configuration
        self.runAs = runAs
        callEngine = CallEngine(decoder: configuration.decoder)
        systemCallDecoder = SystemCallDecoder(stringLimit: configuration.decoder.stringLimit,
                                              arrayLimit: configuration.decoder.arrayLimit)
        imageFacts = ImageFactsCache(wantDefinitions: configuration.filter.needsDefiningLibrary)
    }

    /// Runs the program to its end (or, attached, until the trace detaches), handing every event to `events`
    /// as it happens and every warning (a rule that matched nothing, a program with nothing to trace) to
    /// `diagnostics`.
    public func run(events: @escaping (TraceEvent) -> Void,
                    diagnostics: @escaping (String) -> Void = { _ in }) throws(TraceError) -> ProgramOutcome {
        emit = events
        diagnose = diagnostics
        switch configuration.target {
        case .launch(let command):
            // ^C at a terminal reaches the program too: let it decide (and report how it ended) instead of
            // dying first and leaving the trace cut short. Ignored until the relay has them blocked; the
            // program starts with the dispositions linkscope was started with (Spawn).
            let previousInterrupt = signal(SIGINT, SIG_IGN)
            let previousQuit = signal(SIGQUIT, SIG_IGN)
            // A signal the program was started ignoring is not passed on to it (nohup's SIGHUP).
            let ignoredBefore = Set(SignalRelay.relayed.filter(command.signals.ignored.contains))
            let relay: SignalRelayThread
            do {
                defer {
                    signal(SIGINT, previousInterrupt)
                    signal(SIGQUIT, previousQuit)
                }
                try launch(command)
                // SIGINT, SIGQUIT, SIGTERM and SIGHUP from now on are the program's (SignalRelay): linkscope
                // does not die of them, the program gets each once, and the trace shows what it did.
                relay = SignalRelayThread(program: firstProcess, leaving: ignoredBefore)
            }
            signalRelay = relay
            defer {
                relay.stop()
                signalRelay = nil
            }
            try loop()
        case .attach(let pids):
            // ^C, SIGTERM and SIGHUP mean "let go": taken synchronously with sigtimedwait between stops, as
            // is SIGCHLD, so a request is never lost between a check and a blocking wait.
            let requests = StopRequestSignals()
            defer { requests.restore() }
            try attach(pids)
            let deadline = configuration.duration.map {
                Timestamp.now().monotonicNanoseconds &+ UInt64(max(0, $0) * 1e9)
            }
            try loop(requests: (requests, deadline))
        }
        for rule in configuration.filter.unmatchedRules(afterSeeing: candidates) {
            diagnose("filter rule '\(rule)' matched no PLT slot")
        }
        return outcome ?? .detached
    }

    // MARK: The event loop

    /// Handles stops until no tracee is left. `requests`: when attached, the signals that ask to let go, and
    /// the --duration deadline (CLOCK_MONOTONIC nanoseconds).
    private func loop(requests: (signals: StopRequestSignals, deadline: UInt64?)? = nil) throws(TraceError) {
        while true {
            if phase == .detachRequested { try beginDetach() }
            // Every thread let go: done. Not "until waitpid says ECHILD": a process attached to may be our own
            // child (`sh -c 'prog & exec linkscope trace -p $!'`, or linkscope as PID 1 of a namespace, where
            // orphans become its children), and a detached child of ours is still there to wait for.
            if phase.isDetaching && threads.isEmpty { return }
            let next: (pid_t, WaitStatus)?
            do {
                if phase.isDetaching { next = try waitWhileDetaching() }
                else if let requests { next = try waitOrRequest(requests.signals, deadline: requests.deadline) }
                else { next = try Ptrace.wait() }
            } catch {
                if error == .noChild { return }
                throw .lostTracee(pid: firstProcess, operation: "waitpid", errno: error)
            }
            guard let (tid, status) = next else { continue }
            switch status {
            case .exited(let code):
                threadEnded(tid, outcome: .exited(status: code))
            case .killed(let signal, let core):
                threadEnded(tid, outcome: .killed(signal: signal, coreDumped: core))
            case .stopped(let signal, let event):
                try stopped(tid, signal: signal, event: event)
            }
            if phase.isDetaching { finishDetachIfReady() }
        }
    }

    /// The next stop, or nil when a stop request (a signal, the deadline) came first.
    private func waitOrRequest(_ requests: StopRequestSignals, deadline: UInt64?) throws(Errno) -> (pid_t, WaitStatus)? {
        while true {
            if let stop = try Ptrace.poll() { return stop }
            var wait: UInt64 = 100_000_000  // a safety net: SIGCHLD is what normally wakes us
            if let deadline {
                let now = Timestamp.now().monotonicNanoseconds
                if now >= deadline {
                    phase.requestDetach()
                    return nil
                }
                wait = min(wait, deadline - now)
            }
            if requests.wait(nanoseconds: wait) {
                phase.requestDetach()
                return nil
            }
        }
    }

    func threadEnded(_ tid: pid_t, outcome ending: ProgramOutcome) {
        guard var state = threads.end(tid) else { return }
        let time = Timestamp.now()
        // Its calls still open never return: closed, on every thread alike, before the process's end.
        if !state.isForeign, ending != .detached {
            for event in CallEngine.unfinished(&state.shadow, thread: ThreadID(rawValue: tid),
                                               process: ThreadID(rawValue: state.process), time: time) {
                emit(event)
            }
        }
        guard tid == state.process, !state.isForeign else { return }
        if let event = ending.event(process: ThreadID(rawValue: tid), time: time) { emit(event) }
        if tid == firstProcess { outcome = ending }
    }

    func stopped(_ tid: pid_t, signal: Int32, event: PtraceEvent?) throws(TraceError) {
        if threads[tid] == nil {
            // A thread or child whose creation event we have not seen yet; a new process waits for its
            // parent's fork/vfork/clone event.
            guard threads.meet(tid, threadGroup: ProcFS.threadGroup(of: tid)) else { return }
            if event == .stop { return try proceed(tid) }  // its start stop
        }
        if threads[tid]?.awaitingStartStop == true && event == .stop {
            threads[tid]?.awaitingStartStop = false
            return try proceed(tid)
        }
        if event == .stop { return try eventStop(tid, signal: signal) }
        if let event {
            return try ptraceEvent(tid, event)
        }
        if signal == SIGTRAP {
            return try breakpointStop(tid)
        }
        if signal == PtraceOptions.systemCallStopSignal {
            if configuration.traceSystemCalls { systemCallStop(tid) }
            return try proceed(tid)
        }
        counters.signalStops += 1
        if threads[tid]?.isForeign != true {
            emit(.signal(thread: ThreadID(rawValue: tid), signal: signal, time: .now()))
        }
        if let signalRelay, threads[tid]?.process == firstProcess { signalRelay.programReceived(signal) }
        try proceed(tid, signal: signal)
    }

    /// PTRACE_EVENT_STOP (every tracee is seized): a group-stop (job control), our interrupt, or a stray one.
    private func eventStop(_ tid: pid_t, signal: Int32) throws(TraceError) {
        let isGroupStop = [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU].contains(signal)
        if phase.isDetaching, !isGroupStop, hasPendingBreakpointTrap(tid) {
            // It executed one of our int3s and its SIGTRAP is queued behind the interrupt: let it take the
            // trap (no user code runs before the signal is delivered), so the stop is handled, not lost.
            return try resume(tid)
        }
        if isGroupStop {
            if phase.holdsStops { threads[tid]?.hold = .groupStop; return }
            do { try Ptrace.listen(tid) } catch {
                if error == .noSuchProcess { return }
                throw .lostTracee(pid: tid, operation: "PTRACE_LISTEN", errno: error)
            }
            return
        }
        try proceed(tid)
    }

    /// Whether `tid` stands just past one of our int3s with a SIGTRAP pending (read from /proc: ptrace
    /// cannot show a signal that has not been dequeued yet).
    private func hasPendingBreakpointTrap(_ tid: pid_t) -> Bool {
        guard let space = threads[tid]?.space, let regs = try? Registers.read(of: tid),
              space.breakpoints[regs.trapAddress] != nil, let mask = ProcFS.pendingSignals(of: tid) else { return false }
        return mask & (1 << UInt64(SIGTRAP - 1)) != 0
    }

    /// The end of handling a stop: resume the thread, or keep it stopped while detaching. A child sharing its
    /// parent's memory is kept only once everything else is: its vfork parent stops only after it is gone.
    func proceed(_ tid: pid_t, signal: Int32 = 0) throws(TraceError) {
        if phase.holdsStops, threads.mayHold(tid) {
            threads[tid]?.hold = .signal(signal)
            return
        }
        try resume(tid, signal: signal)
    }

    func resume(_ tid: pid_t, signal: Int32 = 0) throws(TraceError) {
        do {
            if configuration.traceSystemCalls && !phase.isDetaching {
                try Ptrace.continueToSystemCall(tid, signal: signal)
            } else {
                try Ptrace.cont(tid, signal: signal)
            }
        } catch {
            // The thread died between its stop and our continue (another thread called exit_group): its exit
            // is reported by waitpid.
            if error == .noSuchProcess { return }
            throw .lostTracee(pid: tid, operation: "PTRACE_CONT", errno: error)
        }
    }

    // MARK: Breakpoints

    private func breakpointStop(_ tid: pid_t) throws(TraceError) {
        var regs: Registers
        do { regs = try Registers.read(of: tid) } catch {
            if error == .noSuchProcess { return }
            throw .lostTracee(pid: tid, operation: "PTRACE_GETREGS", errno: error)
        }
        let address = regs.trapAddress
        guard let space = threads[tid]?.space else { preconditionFailure("stopped() registers every thread") }
        // The program's own SIGTRAP (raise, an int3 of its own): it gets it.
        guard let breakpoint = space.breakpoints[address] else { return try passOnTrap(tid) }
        let memory = TraceeMemory(pid: tid)
        switch breakpoint.role {
        case .slot(let slot):
            regs = try slotStop(tid, slot, regs, memory, space)
        case .returnSite:
            guard let changed = try returnStop(tid, regs, memory, space) else { return try passOnTrap(tid) }
            regs = changed
        case .entryPoint:
            counters.internalStops += 1
            // Only one thread exists before the program's first instruction runs, so lifting this one
            // breakpoint and re-running the instruction is safe here (and only here).
            do {
                try memory.replaceByte(at: address, with: breakpoint.original)
            } catch { throw .lostTracee(pid: tid, operation: "restore entry point", errno: error) }
            space.breakpoints[address] = nil
            regs.rerunTrappedInstruction()
            armImages(of: space, thread: tid)
        case .loaderHook:
            counters.internalStops += 1
            // r_brk is `_dl_debug_state`, a bare `ret`: do what it would do.
            guard let returnAddress = try? memory.word(at: regs.stackPointer) else {
                throw .lostTracee(pid: tid, operation: "read r_brk return address", errno: Errno(rawValue: EFAULT))
            }
            regs.emulateReturn(to: returnAddress)
            if LinkMap.isConsistent(rDebug: space.rDebug, memory: memory) {
                if space.awaitingLoader {
                    // The start-up objects are mapped and relocated; no initialiser has run yet.
                    space.awaitingLoader = false
                    armImages(of: space, thread: tid)
                } else {
                    syncLinkMap(space, thread: tid)
                }
            }
        }
        do { try regs.write(to: tid) } catch {
            if error == .noSuchProcess { return }
            throw .lostTracee(pid: tid, operation: "PTRACE_SETREGS", errno: error)
        }
        try proceed(tid)
    }

    /// `-S`: a system-call entry or exit stop. The arguments are decoded at entry (a path is still there);
    /// the event goes out at exit, with the result, or at once for a call that never returns (exit_group).
    private func systemCallStop(_ tid: pid_t) {
        guard let state = threads[tid], !state.isForeign, let stop = try? Ptrace.systemCallStop(tid) else { return }
        counters.internalStops += 1
        let time = Timestamp.now()
        switch stop {
        case .entry(let number, let arguments):
            let decoded = systemCallDecoder.decodeArguments(number: number, registers: arguments, memory: TraceeMemory(pid: tid))
            let pending = PendingSystemCall(number: number, arguments: decoded, time: time)
            if SystemCallDecoder.neverReturns(number) {
                emit(.systemCall(pending.event(thread: tid, process: state.process, result: nil, failed: false, time: time)))
            } else {
                pendingSystemCalls[tid] = pending
            }
        case .exit(let result, let failed):
            guard let pending = pendingSystemCalls.removeValue(forKey: tid) else { return }
            emit(.systemCall(pending.event(thread: tid, process: state.process, result: result, failed: failed, time: time)))
        case .other:
            break
        }
    }

    /// A SIGTRAP that is not ours: the program gets it.
    private func passOnTrap(_ tid: pid_t) throws(TraceError) {
        counters.signalStops += 1
        if threads[tid]?.isForeign != true {
            emit(.signal(thread: ThreadID(rawValue: tid), signal: SIGTRAP, time: .now()))
        }
        try proceed(tid, signal: SIGTRAP)
    }

    private func slotStop(_ tid: pid_t, _ slot: SlotBreakpoint, _ regs: Registers, _ memory: TraceeMemory,
                          _ space: AddressSpace) throws(TraceError) -> Registers {
        guard var state = threads.take(tid) else { preconditionFailure("stopped() registers every thread") }
        defer { threads.put(tid, state) }
        let effects: StopEffects
        do {
            effects = try callEngine.slotStop(
                slot, registers: regs, memory: memory, shadow: &state.shadow, thread: Self.calling(tid, state),
                isReturnSite: space.isReturnSite, slotAt: space.slot(at:), vectors: { Registers.vectorLow(of: tid) },
                nextCallID: &nextCallID, time: .now())
        } catch {
            throw .lostTracee(pid: tid, operation: "read GOT word of \(slot.symbol)", errno: error)
        }
        try apply(effects, tid, memory)
        return effects.registers
    }

    /// Nil when no open call returns through this stop.
    private func returnStop(_ tid: pid_t, _ regs: Registers, _ memory: TraceeMemory,
                            _ space: AddressSpace) throws(TraceError) -> Registers? {
        guard var state = threads.take(tid) else { preconditionFailure("stopped() registers every thread") }
        defer { threads.put(tid, state) }
        guard let effects = callEngine.returnStop(
            registers: regs, memory: memory, shadow: &state.shadow, thread: Self.calling(tid, state),
            isReturnSite: space.isReturnSite, vectors: { Registers.vectorLow(of: tid) }, time: .now())
        else { return nil }
        try apply(effects, tid, memory)
        return effects.registers
    }

    private static func calling(_ tid: pid_t, _ state: ThreadState) -> CallingThread {
        CallingThread(thread: ThreadID(rawValue: tid), process: ThreadID(rawValue: state.process),
                      isForeign: state.isForeign, programName: state.space.programName)
    }

    /// What a call stop decided, but the registers: counted, events emitted, words written.
    private func apply(_ effects: StopEffects, _ tid: pid_t, _ memory: TraceeMemory) throws(TraceError) {
        switch effects.kind {
        case .call:
            counters.calls += 1
            counters.callStops += 1
        case .callReturn: counters.callStops += 1
        case .passedThrough: counters.internalStops += 1
        }
        for event in effects.events { emit(event) }
        for write in effects.writes {
            do { try memory.writeWord(write.value, at: write.address) } catch {
                guard write.purpose == .hijackReturnAddress else { continue }
                throw .lostTracee(pid: tid, operation: "write return address", errno: error)
            }
        }
    }
}

/// A system call between its entry stop and its exit stop.
struct PendingSystemCall {
    var number: UInt64
    var arguments: [Value]
    var time: Timestamp

    func event(thread: pid_t, process: pid_t, result: Int64?, failed: Bool, time end: Timestamp) -> SystemCallEvent {
        SystemCallEvent(thread: ThreadID(rawValue: thread), process: ThreadID(rawValue: process), number: number,
                        name: SystemCallDecoder.name(of: number), arguments: arguments, result: result, failed: failed,
                        returnsAddress: SystemCallDecoder.returnsAddress(number), entryTime: time, time: end)
    }
}
