import CAgent
import ELF
import Glibc
import Prototypes
import TraceModel
import Tracer

/// The in-process engine (issue 9): the program runs with linkscope's agent (Agent/agent.c) loaded through
/// LD_AUDIT; the agent binds a stub of its own to every PLT call linkscope selects and records entries and
/// returns into per-thread rings in shared memory. linkscope answers the agent's questions (which calls of
/// which object to hook, what to copy for each), drains the rings, and decodes the copies with the same
/// `CallDecoder` the ptrace engine uses, so the events — and the text made of them — are the same.
public final class InProcessEngine: TraceEngine {
    public let name = "inproc"
    public let configuration: TraceConfiguration
    public private(set) var counters = Counters()

    public struct Counters: Hashable, Sendable {
        public var calls = 0
        /// Signal-delivery stops (the supervisor's), passed on to the program.
        public var signals = 0
        public var records = 0
        public var bindings = 0
        public var requests = 0
        /// Times a thread waited for linkscope to make room in its ring.
        public var fullWaits: UInt64 = 0
        public var rings = 0
        /// Threads that recorded nothing because every ring was taken.
        public var threadsWithoutRing = 0
    }

    public var statistics: String {
        let c = counters
        return "\(c.calls) calls, 0 call stops, 0.00 stops/call, \(c.signals) signal stops, \(c.records) records, \(c.bindings) bindings, \(c.requests) agent requests, "
            + "\(c.rings) rings, \(c.fullWaits) full-ring waits, \(c.threadsWithoutRing) threads without a ring"
    }

    public init(configuration: TraceConfiguration) {
        self.configuration = configuration
        self.recordDecoder = RecordDecoder(decoder: configuration.decoder)
    }

    /// Why this engine cannot trace `configuration`, or nil when it can: it launches dynamically linked glibc
    /// programs that the loader lets LD_AUDIT into.
    public static func unsupportedReason(_ configuration: TraceConfiguration) -> String? {
        guard case .launch(let command) = configuration.target else {
            return "attaching to a running process needs the ptrace engine"
        }
        if configuration.traceSystemCalls { return "-S (system calls) needs the ptrace engine" }
        return loaderRefusal(command.readablePath, named: command.displayPath)
    }

    /// Why the loader of `executable` would not take the agent (nil: it would): a set-id file (secure
    /// execution ignores LD_AUDIT), a static program (no loader), another libc's loader (musl's has no
    /// rtld-audit).
    static func loaderRefusal(_ executable: String, named name: String, depth: Int = 0) -> String? {
        // A script (`#!INTERPRETER`) is its interpreter's start: the kernel execs that, with the environment
        // (the kernel follows at most 4 levels; set-id bits of a script are ignored).
        if let interpreter = scriptInterpreter(executable) {
            guard depth < 4 else { return "\(name) is a script whose interpreters nest too deep" }
            return loaderRefusal(interpreter, named: interpreter, depth: depth + 1)
        }
        // A set-id file whose owner (group) is not who we are starts in secure-execution mode (AT_SECURE),
        // where the loader ignores LD_AUDIT.
        var info = stat()
        if stat(executable, &info) == 0,
           (info.st_mode & S_ISUID != 0 && info.st_uid != geteuid()) || (info.st_mode & S_ISGID != 0 && info.st_gid != getegid()) {
            return "\(name) is setuid or setgid: the loader ignores LD_AUDIT for it"
        }
        guard let file = try? ELFFile(path: executable) else { return "\(name) is not an ELF file it can read" }
        guard file.programHeaders.contains(where: { $0.type == .interpreter }) else {
            return "\(name) is statically linked: there is no loader to bind calls through"
        }
        // glibc's loader implements rtld-audit; another libc's (musl's ld-musl) does not.
        if let interpreter = try? file.interpreter(), !interpreter.hasSuffix("ld-linux-x86-64.so.2") {
            return "\(name) is loaded by \(interpreter), not glibc's loader"
        }
        return nil
    }

    /// The interpreter of a `#!` script (the first word after `#!`), nil for anything else.
    static func scriptInterpreter(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 256)
        let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, 256) }
        guard n > 2, head[0] == UInt8(ascii: "#"), head[1] == UInt8(ascii: "!") else { return nil }
        let line = head[2..<n].prefix { $0 != UInt8(ascii: "\n") }
        let word = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            .prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
        return word.isEmpty ? nil : String(decoding: word, as: UTF8.self)
    }

    // MARK: State

    struct RingState {
        var header: UnsafeMutablePointer<ls_ring_header>
        var data: UnsafeMutablePointer<UInt8>
        var tid: Int32 = 0
        var pid: Int32 = 0
        /// The thread's calls still open, innermost last: a return is almost always the last one's, so this is
        /// a stack searched from its top, not a table.
        var open: [OpenCall] = []
        /// Which taking of the ring `tid` and `pid` are of (the header's count: a new thread took it).
        var generation: UInt32 = 0
        /// Its thread has ended: free it for another once every record is read.
        var retiring = false

        /// Removes and returns the open call with the agent's call number `call`.
        mutating func close(_ call: UInt64) -> OpenCall? {
            guard let index = open.lastIndex(where: { $0.call == call }) else { return nil }
            return index == open.count - 1 ? open.removeLast() : open.remove(at: index)
        }
    }

    private var control: UnsafeMutablePointer<ls_control>!
    private var rings: [RingState] = []
    private var objects: [Int32: [UInt32: TracedObject]] = [:]
    /// Per object file: its .plt.got slots and PT_GNU_RELRO ranges (for the patch once it is relocated), and
    /// the functions it defines (for `-l`), read once.
    private var pltGotSlots: [String: [PLTSlot]] = [:]
    private var relroRanges: [String: [Range<UInt64>]] = [:]
    private var definitions: [String: Set<String>] = [:]
    /// Moved out for each drain (`drainRings`), so it is nil only while one runs.
    private var recordDecoder: RecordDecoder?
    /// Per process: the functions whose canonical address is the main program's PLT stub.
    private var canonicalStubs: [Int32: Set<String>] = [:]
    private var candidates: [FilterCandidate] = []
    private var emit: (TraceEvent) -> Void = { _ in }
    private var diagnose: (String) -> Void = { _ in }
    /// The launched program, and each process's program once it exec'd (the agent reports the main
    /// program with an empty path).
    private var mainPath = ""
    private var mainPaths: [Int32: String] = [:]
    /// What call events name a process's program by once it exec'd (nil: the launched command).
    private var programNames: [Int32: String] = [:]
    /// The environment entry that gives an exec'd image the agent (`AgentLaunch.environmentEntryForExec`).
    private var agentEntry: [UInt8] = []
    /// -f: a fork child's first ring starts with the calls its forking thread had open.
    private var inheritedCalls: [Int32: [OpenCall]] = [:]
    /// The command's path as launched (readable or not: for filters' names only).
    private var launchName: String?

    // MARK: Running

    public func run(events: @escaping (TraceEvent) -> Void,
                    diagnostics: @escaping (String) -> Void) throws(TraceError) -> ProgramOutcome {
        guard case .launch(let command) = configuration.target else {
            preconditionFailure("unsupportedReason rejects attach targets")
        }
        let executable = command.readablePath
        emit = events
        diagnose = diagnostics
        mainPath = executable
        launchName = command.displayPath
        let launch = try AgentLaunch(executable: command.displayPath)
        control = launch.control
        control.pointee.follow_forks = configuration.followForks ? 1 : 0
        agentEntry = launch.environmentEntryForExec
        defer { launch.unmap() }
        // ^C at a terminal reaches the program too: let it decide, and keep draining until it ends. Ignored
        // until the relay has SIGINT, SIGQUIT, SIGTERM and SIGHUP blocked (as the ptrace engine does).
        let previousInterrupt = signal(SIGINT, SIG_IGN)
        let previousQuit = signal(SIGQUIT, SIG_IGN)
        func ignored(_ handler: __sighandler_t?) -> Bool { handler.map { unsafeBitCast($0, to: Int.self) == 1 } ?? false }
        var ignoredBefore = Set([SIGTERM, SIGHUP].filter(SignalRelay.isIgnored))
        if ignored(previousInterrupt) { ignoredBefore.insert(SIGINT) }
        if ignored(previousQuit) { ignoredBefore.insert(SIGQUIT) }
        let child: pid_t
        let relay: SignalRelayThread
        do {
            defer {
                signal(SIGINT, previousInterrupt)
                signal(SIGQUIT, previousQuit)
            }
            // The program starts with the dispositions linkscope was started with (Spawn).
            child = try launch.spawn(command)
            // From now on those signals are the program's (SignalRelay): linkscope does not die of them, the
            // program gets each once, and the trace shows what it did.
            relay = SignalRelayThread(program: child, leaving: ignoredBefore)
        }
        defer { relay.stop() }
        var supervisor = Supervisor(program: child, followForks: configuration.followForks)
        if let refusal = supervisor.refusal {
            diagnostics("cannot supervise \(executable) (PTRACE_SEIZE: \(refusal)): its signals and execs are not traced")
        }
        var outcome: ProgramOutcome?
        var idle = 0
        var lastLook: UInt64 = 0
        while !supervisor.isEmpty {
            var worked = serveRequest()
            if drainRings() { worked = true }
            control.pointee.heartbeat &+= 1
            // A thread stopped at a signal waits for us however busy the rings are: one waitpid on every idle
            // pass, and while busy at most every `lookInterval` (the system call stays off most passes).
            let now = ls_rdtsc()
            if !worked || now &- lastLook >= Self.lookInterval {
                lastLook = now
                while let stop = try next(&supervisor, program: child) {
                    worked = true
                    if let ending = try handle(stop, &supervisor, relay: relay, program: child) { outcome = ending }
                }
            }
            if worked { idle = 0; continue }
            idle += 1
            // Sleep until the agent asks something (it wakes the request word) or a little time passes.
            let seq = ls_load_acquire32(&control.pointee.request_seq)
            if seq == control.pointee.response_seq {
                futexWait(&control.pointee.request_seq, seq, nanoseconds: idle < 10 ? 200_000 : 2_000_000)
            }
        }
        // The program is gone: whatever its threads recorded before is still in the rings.
        control.pointee.disabled = 1
        while drainRings() {}
        counters.fullWaits = rings.reduce(0) { $0 + $1.header.pointee.full_waits }
        if counters.requests == 0 {
            // The agent never spoke: the loader did not load it (a secure-execution start ignores LD_AUDIT).
            diagnostics("the in-process agent was not loaded into \(command.displayPath): nothing was traced (try --engine ptrace)")
        }
        for rule in configuration.filter.unmatchedRules(afterSeeing: candidates) {
            diagnostics("filter rule '\(rule)' matched no PLT slot")
        }
        return outcome ?? .detached
    }

    /// What a supervisor stop means for the trace; the program's outcome when it is the program's end.
    private func handle(_ stop: Supervisor.Stop, _ supervisor: inout Supervisor, relay: SignalRelayThread,
                        program: pid_t) throws(TraceError) -> ProgramOutcome? {
        switch stop {
        case .signal(let thread, let process, let signal):
            drainRings()
            counters.signals += 1
            emit(.signal(thread: ThreadID(rawValue: thread), signal: signal, time: .now()))
            if process == program { relay.programReceived(signal) }
            try resume(&supervisor, thread, signal: signal)
        case .exec(let process) where process == program && counters.requests == 0:
            // The spawn's own exec, when the seize came before the kernel had finished it (posix_spawn returns
            // once the new image replaces the old, before the exec event): the agent is already on its way
            // in, and nothing was traced yet.
            try resume(&supervisor, process)
        case .exec(let process):
            execed(process)
            try resume(&supervisor, process)
        case .fork(let thread, let parent, let forked):
            self.forked(forked, by: thread, of: parent)
            do { try supervisor.release(forked) } catch {
                throw .lostTracee(pid: forked, operation: "PTRACE_CONT", errno: error)
            }
            try resume(&supervisor, thread)
        case .threadEnded(let thread, let process):
            drainRings()  // its ring is known, and its records read with the tid they were written under
            closeUnfinishedCalls(of: process, thread: thread, at: .now())
            retireRings(of: process, thread: thread)
        case .ended(let process, let ending):
            drainRings()
            let time = Timestamp.now()
            closeUnfinishedCalls(of: process, at: time)
            if let event = ending.event(process: ThreadID(rawValue: process), time: time) { emit(event) }
            retireRings(of: process)
            if process == program { return ending }
        }
        return nil
    }

    /// TSC ticks between two looks for stopped threads while the rings keep linkscope busy (~30-50 µs).
    static let lookInterval: UInt64 = 100_000

    private func next(_ supervisor: inout Supervisor, program: pid_t) throws(TraceError) -> Supervisor.Stop? {
        do { return try supervisor.next() } catch {
            throw .lostTracee(pid: program, operation: "waitpid", errno: error)
        }
    }

    private func resume(_ supervisor: inout Supervisor, _ tid: pid_t, signal: Int32 = 0) throws(TraceError) {
        do { try supervisor.resume(tid, signal: signal) } catch {
            throw .lostTracee(pid: tid, operation: "PTRACE_CONT", errno: error)
        }
    }

    // MARK: Processes

    /// `process` exec'd (stopped before its loader runs): what linkscope knew of its objects and open calls
    /// is gone with the old image; the new one gets the agent again, unless its loader would not take it.
    private func execed(_ process: pid_t) {
        drainRings()
        // A thread of the old image may have died in a request (exec ends every other thread): answer it, and
        // free the request lock it held, which its process (same pid, alive) would otherwise hold forever.
        _ = serveRequest()
        if ls_load_acquire32(&control.pointee.request_lock) != 0, control.pointee.request_owner == process {
            control.pointee.request_owner = 0
            ls_store_release32(&control.pointee.request_lock, 0)
            futexWake(&control.pointee.request_lock)
        }
        let path = ProcFS.executable(of: process) ?? ""
        objects[process] = [:]
        mainPaths[process] = path
        closeUnfinishedCalls(of: process, at: .now())  // none of them returns
        retireRings(of: process)  // the old image's threads are gone; the new one takes rings of its own
        let name = ProcFS.executableName(of: process) ?? path.split(separator: "/").last.map(String.init) ?? path
        programNames[process] = name
        emit(.exec(process: ThreadID(rawValue: process), program: name, time: .now()))
        if let reason = Self.loaderRefusal(path, named: path) {
            diagnose("the exec'd \(reason): its calls are not traced")
            return
        }
        guard let stack = InitialStack.read(pid: process) else {
            diagnose("cannot read the initial stack of \(path) after its exec: its calls are not traced")
            return
        }
        if stack.isSecure { return }  // set-id: the loader ignores LD_AUDIT (and removes it)
        do { try stack.install(entry: agentEntry, pid: process) } catch {
            diagnose("cannot give the agent to \(path) after its exec (\(error)): its calls are not traced")
        }
    }

    /// -f: `child` is a copy of `parent` (fork) or runs in its memory (vfork): it knows the same objects, and
    /// the forking thread's open calls return in it too (their return addresses are in its copy of the
    /// stack), with the ids of the parent's calls, as the ptrace engine reports them.
    private func forked(_ child: pid_t, by thread: pid_t, of parent: pid_t) {
        drainRings()
        objects[child] = objects[parent]
        mainPaths[child] = mainPaths[parent] ?? mainPath
        programNames[child] = programNames[parent]
        if let ring = rings.last(where: { $0.tid == thread && $0.pid == parent }) { inheritedCalls[child] = ring.open }
    }

    /// The calls `process`'s threads (or one thread of it) were still in when it ended: closed, innermost
    /// first, on every thread alike (the ptrace engine closes them so too).
    private func closeUnfinishedCalls(of process: pid_t, thread: pid_t? = nil, at time: Timestamp) {
        for index in rings.indices where rings[index].pid == process && (thread == nil || rings[index].tid == thread) {
            let ring = rings[index]
            for open in ring.open.reversed() {
                let binding = open.binding
                emit(.callReturn(CallReturnEvent(thread: ThreadID(rawValue: ring.tid), process: ThreadID(rawValue: ring.pid),
                                                 callID: open.callID, function: binding.symbol, caller: binding.caller,
                                                 depth: 0, decoded: nil, entryTime: open.time, time: time,
                                                 processEnded: true)))
            }
            rings[index].open = []
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    // MARK: The agent's questions

    private func serveRequest() -> Bool {
        let seq = ls_load_acquire32(&control.pointee.request_seq)
        guard seq != control.pointee.response_seq else { return false }
        counters.requests += 1
        let request = control.pointee
        let path = ls_request_path(control).withMemoryRebound(to: UInt8.self, capacity: Int(LS_REQUEST_PATH_BYTES)) {
            String(decoding: UnsafeBufferPointer(start: $0, count: strnlen(ls_request_path(control), Int(LS_REQUEST_PATH_BYTES))),
                   as: UTF8.self)
        }
        control.pointee.response_count = 0
        control.pointee.response_padding = 0
        control.pointee.response_pltgot = 0
        control.pointee.response_relro_start = 0
        control.pointee.response_relro_end = 0
        switch request.request_kind {
        case UInt32(LS_REQ_OBJOPEN): objectOpened(pid: request.request_pid, index: UInt32(request.request_map), path: path)
        case UInt32(LS_REQ_OBJCLOSE): objects[request.request_pid]?[UInt32(request.request_map)] = nil
        case UInt32(LS_REQ_PLTGOT): patchPLTGot(pid: request.request_pid, index: UInt32(request.request_map))
        case UInt32(LS_REQ_SYMBIND):
            symbolBound(pid: request.request_pid, caller: UInt32(request.request_map),
                        definer: request.request_base == UInt64.max ? nil : UInt32(request.request_base), symbol: path)
        default: break
        }
        ls_store_release32(&control.pointee.response_seq, seq)
        futexWake(&control.pointee.response_seq)
        return true
    }

    private func objectOpened(pid: Int32, index: UInt32, path reported: String) {
        let isMain = reported.isEmpty && objects[pid]?.isEmpty != false
        let path = isMain ? mainPaths[pid] ?? mainPath : reported
        guard !path.isEmpty, let file = try? ELFFile(path: path) else { return }
        let soname = (try? file.dynamicInfo())?.soname
        // The main program answers filters by its launch name and by its real file's (a symlink's target).
        let object = TracedObject(isMainProgram: isMain, path: path, soname: soname,
                                  otherPaths: isMain ? [Self.realPath(path), launchName].compactMap { $0 } : [])
        objects[pid, default: [:]][index] = object
        if isMain {
            // A non-PIE program's undefined function symbols with a value: its PLT stub is their canonical
            // address, which the loader gives every GLOB_DAT word for them (patchPLTGot).
            canonicalStubs[pid] = Set(((try? file.dynamicSymbols()) ?? []).filter {
                !$0.isDefined && $0.value != 0 && $0.type == .function
            }.map(\.name))
        }
        if configuration.filter.mayTraceCalls(from: object) {
            control.pointee.response_count = 1
            control.pointee.response_padding = ReturnSitePadding.of(file) ?? 0
        }
        if configuration.filter.needsDefiningLibrary, definitions[path] == nil {
            definitions[path] = Set(((try? file.dynamicSymbols()) ?? []).filter {
                $0.isDefined && $0.binding != .local && ($0.type == .function || $0.type == .indirectFunction)
            }.map(\.name))
        }
        // Slots whose GOT word the loader fills without la_symbind: .plt.got (GLOB_DAT) and IRELATIVE ones
        // (libc's calls to its own IFUNCs).
        let gotSlots = ((try? file.pltSlots()) ?? []).filter { $0.section == .pltGot || $0.relocation == .x86_64_irelative }
        if !gotSlots.isEmpty {
            pltGotSlots[path] = gotSlots
            relroRanges[path] = file.programHeaders.filter { $0.type == .gnuRelro }
                .map { $0.virtualAddress..<($0.virtualAddress &+ $0.memorySize) }
            control.pointee.response_pltgot = UInt32(gotSlots.count)
            if let relro = relroRanges[path]?.first {
                control.pointee.response_relro_start = relro.lowerBound
                control.pointee.response_relro_end = relro.upperBound
            }
        }
    }

    /// The .plt.got slots of a relocated object that the filter selects, chosen as the ptrace engine chooses
    /// its breakpoints (`ArmingPlan`), with a binding and capture plan each.
    private func patchPLTGot(pid: Int32, index: UInt32) {
        guard let known = objects[pid], let object = known[index], let slots = pltGotSlots[object.path] else { return }
        let loadOrder = known.sorted { $0.key < $1.key }.map(\.value)
        let plan = ArmingPlan(object: object, slots: slots, filter: configuration.filter, loadOrder: loadOrder,
                              definedFunctions: { self.definitions[$0.path] })
        candidates += plan.candidates
        let relro = relroRanges[object.path] ?? []
        var written = 0
        let capacity = Int(LS_RESPONSE_BYTES) / MemoryLayout<ls_got_hook>.stride
        // A word holding the program's canonical stub leads through the program's own binding, hooked when the
        // filter selects it there: hooking the word too would record the call twice and change the address
        // the library sees for the function (its pointer would no longer equal the program's).
        let main = known.values.first(where: \.isMainProgram)
        let viaProgram = canonicalStubs[pid] ?? []
        for chosen in plan.slots where written < capacity {
            if !object.isMainProgram, viaProgram.contains(chosen.slot.symbol), let main,
               configuration.filter.selects(symbol: chosen.slot.symbol, caller: main, definingLibrary: nil as TracedObject?) {
                continue
            }
            var hook = ls_got_hook()
            hook.got_offset = chosen.slot.gotAddress
            hook.relro = relro.contains { $0.contains(chosen.slot.gotAddress) } ? 1 : 0
            hook.hook = makeHook(symbol: chosen.slot.symbol, caller: object, reported: chosen.reported)
            UnsafeMutableRawPointer(ls_response(control))
                .storeBytes(of: hook, toByteOffset: written * MemoryLayout<ls_got_hook>.stride, as: ls_got_hook.self)
            written += 1
        }
        control.pointee.response_count = UInt32(written)
    }

    private func symbolBound(pid: Int32, caller: UInt32, definer: UInt32?, symbol: String) {
        guard let object = objects[pid]?[caller] else { return }
        let filter = configuration.filter
        let defining = definer.flatMap { objects[pid]?[$0] }.flatMap { $0.isMainProgram ? nil : $0 }
        var reported = false
        if filter.mayTraceCalls(from: object) {
            candidates.append(FilterCandidate(symbol: symbol, caller: object, definingLibrary: defining))
            reported = filter.selects(symbol: symbol, caller: object, definingLibrary: defining)
        }
        let unwinds = UnwindStarters.names.contains(symbol)
        let vforks = symbol == "vfork" || symbol == "__vfork"
        guard reported || unwinds || vforks || Self.opensObjects(symbol) else { return }
        UnsafeMutableRawPointer(ls_response(control)).storeBytes(
            of: makeHook(symbol: symbol, caller: object, reported: reported), as: ls_hook.self)
        control.pointee.response_count = 1
    }

    /// A new binding of (caller, symbol): its id, flags and capture plan.
    private func makeHook(symbol: String, caller object: TracedObject, reported: Bool) -> ls_hook {
        let unwinds = UnwindStarters.names.contains(symbol)
        let vforks = symbol == "vfork" || symbol == "__vfork"
        var flags: UInt32 = 0
        if reported { flags |= LS_BIND_REPORTED }
        if NoReturnFunctions.contains(symbol) { flags |= LS_BIND_NO_RETURN }
        if unwinds { flags |= LS_BIND_UNWINDS | LS_BIND_NO_RETURN }
        if vforks { flags |= LS_BIND_VFORK }
        if Self.opensObjects(symbol) { flags |= LS_BIND_DLOPEN }
        let prototype = configuration.decoder.library.prototype(named: symbol)
        var hook = ls_hook()
        hook.binding = UInt32(recordDecoder!.bindings.count)
        hook.plan = CapturePlan(prototype: prototype, decoder: configuration.decoder, flags: flags).plan
        recordDecoder!.bindings.append(Binding(symbol: symbol, caller: object.isMainProgram ? nil : object.displayName,
                                prototype: prototype, stackWords: Int(hook.plan.stack_words),
                                noReturn: NoReturnFunctions.contains(symbol)))
        counters.bindings += 1
        return hook
    }

    /// Functions that load objects: their return is where the agent patches the new objects' .plt.got words.
    static func opensObjects(_ symbol: String) -> Bool { symbol == "dlopen" || symbol == "dlmopen" }

    // MARK: Rings

    @discardableResult
    private func drainRings() -> Bool {
        let claimed = Int(min(ls_load_acquire32(&control.pointee.rings_claimed), control.pointee.ring_count))
        while rings.count < claimed {
            let base = UnsafeMutableRawPointer(control).advanced(by: Int(LS_CONTROL_BYTES) + rings.count * Int(LS_RING_BYTES))
            let header = base.assumingMemoryBound(to: ls_ring_header.self)
            guard ls_load_acquire32(&header.pointee.state) != 0 else { break }  // claimed, not yet set up
            let pid = header.pointee.pid
            rings.append(RingState(header: header,
                                   data: base.advanced(by: Int(LS_RING_HEADER_BYTES)).assumingMemoryBound(to: UInt8.self),
                                   tid: header.pointee.tid, pid: pid, open: inheritedCalls.removeValue(forKey: pid) ?? [],
                                   generation: ls_load_acquire32(&header.pointee.generation)))
            counters.rings = rings.count
        }
        counters.threadsWithoutRing = Int(ls_load_acquire32(&control.pointee.rings_refused))
        var records = recordDecoder!
        recordDecoder = nil
        defer {
            counters.calls = records.calls
            counters.records = records.records
            recordDecoder = records
        }
        var worked = false
        for index in rings.indices {
            if drain(&rings[index], into: &records) { worked = true }
            if rings[index].retiring { freeRing(&rings[index]) }
        }
        return worked
    }

    /// The threads of `process` (one thread, or all when nil) have ended: their rings are freed once read.
    private func retireRings(of process: pid_t, thread: pid_t? = nil) {
        for index in rings.indices {
            let header = rings[index].header
            guard ls_load_acquire32(&header.pointee.state) == LS_RING_IN_USE, header.pointee.pid == process,
                  thread == nil || header.pointee.tid == thread else { continue }
            rings[index].retiring = true
        }
    }

    /// Gives a drained ring of an ended thread back for another thread to take (LS_RING_FREE).
    private func freeRing(_ ring: inout RingState) {
        let header = ring.header
        guard ls_load_acquire(&header.pointee.head) == header.pointee.tail,
              ls_load_acquire32(&header.pointee.generation) == ring.generation else { return }
        ring.retiring = false
        ring.open.removeAll()
        ls_store_release32(&header.pointee.state, LS_RING_FREE)
        control.pointee.rings_freed &+= 1
        futexWake(&control.pointee.rings_freed)
    }

    private func drain(_ ring: inout RingState, into records: inout RecordDecoder) -> Bool {
        let header = ring.header
        let emit = self.emit
        let head = ls_load_acquire(&header.pointee.head)
        let generation = ls_load_acquire32(&header.pointee.generation)
        if generation != ring.generation {
            // Freed and taken again by a new thread: what is in it from now on is that thread's.
            ring.generation = generation
            ring.tid = header.pointee.tid
            ring.pid = header.pointee.pid
            ring.open = inheritedCalls.removeValue(forKey: ring.pid) ?? []
        }
        var tail = header.pointee.tail
        guard head != tail else { return false }
        let program = programNames[ring.pid]
        let length = UInt64(LS_RING_DATA_BYTES)
        while tail < head {
            let offset = Int(tail % length)
            let record = UnsafeRawPointer(ring.data.advanced(by: offset))
            let size = record.load(as: ls_record.self).size
            guard size >= UInt32(MemoryLayout<ls_record>.size), UInt64(offset) + UInt64(size) <= length else {
                break  // a corrupt ring: stop reading it rather than trust it
            }
            records.decode(record, size: Int(size), ring: &ring, program: program, emit: emit)
            tail += UInt64(size)
            // Make room as we go, so a thread waiting on a full ring runs on while we decode.
            if tail - header.pointee.tail > length / 4 { release(header, tail) }
        }
        release(header, tail)
        return true
    }

    private func release(_ header: UnsafeMutablePointer<ls_ring_header>, _ tail: UInt64) {
        ls_store_release(&header.pointee.tail, tail)
        if ls_exchange32(&header.pointee.waiting, 0) != 0 { futexWake(&header.pointee.waiting) }
    }
}

/// Turns the agent's TSC readings into the trace's two clocks, from pairs of (TSC, clock) readings taken here.
struct TimestampClock {
    private var tsc0: UInt64
    private var monotonic0: UInt64
    private var wall0: (seconds: Int64, nanoseconds: Int64)
    private var nanosecondsPerTick: Double

    init() {
        let start = Timestamp.now()
        let tscStart = ls_rdtsc()
        var pause = timespec(tv_sec: 0, tv_nsec: 2_000_000)
        nanosleep(&pause, nil)
        let end = Timestamp.now()
        let tscEnd = ls_rdtsc()
        tsc0 = tscStart
        monotonic0 = start.monotonicNanoseconds
        wall0 = (start.wallSeconds, Int64(start.wallNanoseconds))
        let ticks = Double(tscEnd &- tscStart)
        nanosecondsPerTick = ticks > 0 ? Double(end.monotonicNanoseconds - start.monotonicNanoseconds) / ticks : 1
    }

    func timestamp(tsc: UInt64) -> Timestamp {
        let delta = Int64((Double(Int64(bitPattern: tsc &- tsc0)) * nanosecondsPerTick).rounded())
        let monotonic = UInt64(Int64(monotonic0) + delta)
        let wall = wall0.nanoseconds + delta
        let seconds = wall0.seconds + wall / 1_000_000_000 - (wall < 0 && wall % 1_000_000_000 != 0 ? 1 : 0)
        var nanos = wall % 1_000_000_000
        if nanos < 0 { nanos += 1_000_000_000 }
        return Timestamp(wallSeconds: seconds, wallNanoseconds: Int32(nanos), monotonicNanoseconds: monotonic)
    }
}

func futexWait(_ word: UnsafeMutablePointer<UInt32>, _ value: UInt32, nanoseconds: Int) {
    ls_futex_wait(word, value, nanoseconds)
}

func futexWake(_ word: UnsafeMutablePointer<UInt32>) { ls_futex_wake(word) }
