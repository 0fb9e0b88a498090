import Foundation
import Testing
import TraceModel
@testable import LinkscopeCLI
import Prototypes
import Tracer

/// Renderers fed with synthetic events; the expected text is what ltrace 0.7.3 printed on this machine
/// for the same program (TestBinaries-like C programs in a temporary folder), columns included.
@Suite struct TraceRenderTests {
    /// Builds events the way the engine reports them.
    final class Script {
        var events: [TraceEvent] = []
        var clock: UInt64 = 1_000_000_000
        var nextID: UInt64 = 1
        var open: [(id: UInt64, name: String, caller: String?, depth: Int, entry: Timestamp)] = []

        func now(advance: UInt64 = 1000) -> Timestamp {
            clock += advance
            return Timestamp(wallSeconds: 1_796_220_381 + Int64(clock / 1_000_000_000),
                             wallNanoseconds: Int32(clock % 1_000_000_000), monotonicNanoseconds: clock)
        }

        func enter(_ name: String, _ args: [Value], caller: String? = nil, tid: Int32 = 100, site: UInt64 = 0x401000,
                   defers: Bool = false) {
            let time = now()
            let decoded = DecodedEntry(function: name, arguments: args, registers: RegisterFile(), hasPrototype: true,
                                       defersArguments: defers)
            let depth = open.count
            events.append(.call(CallEntryEvent(thread: ThreadID(rawValue: tid), process: ThreadID(rawValue: 100), callID: nextID,
                                               function: name, caller: caller, callSite: site, depth: depth,
                                               decoded: decoded, time: time)))
            open.append((nextID, name, caller, depth, time))
            nextID += 1
        }

        func leave(_ value: Value?, out: [Value] = [], tid: Int32 = 100, advance: UInt64 = 1000) {
            let frame = open.removeLast()
            events.append(.callReturn(CallReturnEvent(thread: ThreadID(rawValue: tid), process: ThreadID(rawValue: 100),
                                                      callID: frame.id, function: frame.name, caller: frame.caller,
                                                      depth: frame.depth,
                                                      decoded: value.map { DecodedReturn(value: $0, outArguments: out) },
                                                      entryTime: frame.entry, time: now(advance: advance))))
        }

        func call(_ name: String, _ args: [Value], _ ret: Value, caller: String? = nil, tid: Int32 = 100, took: UInt64 = 1000) {
            enter(name, args, caller: caller, tid: tid)
            leave(ret, tid: tid, advance: took)
        }

        func signal(_ n: Int32, tid: Int32 = 100) { events.append(.signal(thread: ThreadID(rawValue: tid), signal: n, time: now())) }
        func exit(_ status: Int32) { events.append(.exited(process: ThreadID(rawValue: 100), status: status, time: now())) }
        func killed(_ n: Int32) { events.append(.killed(process: ThreadID(rawValue: 100), signal: n, coreDumped: false, time: now())) }
    }

    func text(_ script: Script, _ options: TraceRenderOptions = TraceRenderOptions()) -> String {
        let sink = TraceTextSink()
        let renderer = LtraceTextRenderer(output: sink, options: options)
        script.events.forEach(renderer.render)
        renderer.finish()
        return sink.text
    }

    static func s(_ text: String) -> Value { .string(bytes: Array(text.utf8), truncated: false) }

    /// The session of /tmp/pl/a.c (malloc, printf, puts, qsort with strcmp callbacks, raise, exit).
    func sampleSession() -> Script {
        let script = Script()
        script.call("malloc", [.unsigned(10)], .pointer(0x557b777c62a0))
        script.call("printf", [Self.s("%d %s %f %c\n"), .signed(42), Self.s("str"), .floating(1.5), .character(UInt8(ascii: "z"))], .signed(18))
        script.call("puts", [.string(bytes: Array("a very long string that exceeds ".utf8), truncated: true)], .signed(63))
        script.enter("qsort", [.pointer(0x7fffe7001350), .unsigned(3), .unsigned(8), .pointer(0x557b55beb229)])
        script.call("strcmp", [Self.s("a"), Self.s("c")], .signed(-2))
        script.call("strcmp", [Self.s("b"), Self.s("a")], .signed(1))
        script.leave(.void)
        script.call("getenv", [Self.s("HOME")], Self.s("/root"))
        script.enter("raise", [.enumeration(name: "SIGUSR1", raw: 10)])
        script.signal(10)
        script.leave(.signed(0))
        script.enter("exit", [.signed(3)])
        script.exit(3)
        return script
    }

    @Test func ltraceLineShapes() {
        #expect(text(sampleSession()) == """
        malloc(10)                                       = 0x557b777c62a0
        printf("%d %s %f %c\\n", 42, "str", 1.500000, 'z') = 18
        puts("a very long string that exceeds "...)      = 63
        qsort(0x7fffe7001350, 3, 8, 0x557b55beb229 <unfinished ...>
        strcmp("a", "c")                                 = -2
        strcmp("b", "a")                                 = 1
        <... qsort resumed> )                            = <void>
        getenv("HOME")                                   = "/root"
        raise(SIGUSR1 <unfinished ...>
        --- SIGUSR1 (User defined signal 1) ---
        <... raise resumed> )                            = 0
        exit(3 <no return ...>
        +++ exited (status 3) +++

        """)
    }

    @Test func indentCallerPrefixAndKilled() {
        var options = TraceRenderOptions()
        options.indent = 2
        options.showCallerOfMainProgram = true
        options.mainProgramName = "b"
        let script = Script()
        script.enter("libfn", [.pointer(0x56305784900b)])
        script.call("malloc", [.unsigned(4)], .pointer(0x5630963012b0), caller: "libl.so.7")
        script.leave(.signed(3))
        script.enter("kill", [.signed(10093), .enumeration(name: "SIGTERM", raw: 15)])
        script.signal(15)
        script.killed(15)
        // ltrace -e 'puts+libfn+malloc' -n 2 printed these shapes (the main program as "b->").
        #expect(text(script, options) == """
        b->libfn(0x56305784900b <unfinished ...>
          libl.so.7->malloc(4)                           = 0x5630963012b0
        <... libfn resumed> )                            = 3
        b->kill(10093, SIGTERM <unfinished ...>
        --- SIGTERM (Terminated) ---
        +++ killed by SIGTERM +++

        """)
    }

    @Test func pidPrefixOnceASecondThreadPrints() {
        let script = Script()
        script.call("puts", [Self.s("x")], .signed(2))
        script.enter("pthread_join", [.pointer(0x7f8bf9e216c0), .null])
        script.call("puts", [Self.s("thread")], .signed(7), tid: 101)
        script.leave(.signed(0))
        #expect(text(script) == """
        puts("x")                                        = 2
        pthread_join(0x7f8bf9e216c0, nil <unfinished ...>
        [pid 101] puts("thread")                         = 7
        [pid 100] <... pthread_join resumed> )           = 0

        """)
        var always = TraceRenderOptions()
        always.processPrefix = .always
        // ltrace -f: "[pid 10093] puts("x")                            = 2" (results still start after column 48).
        #expect(text(script, always).hasPrefix("[pid 100] puts(\"x\")" + String(repeating: " ", count: 29) + " = 2\n"))
    }

    @Test func outputParametersCompleteTheArgumentList() {
        let script = Script()
        script.enter("read", [.signed(3)], defers: true)
        script.leave(.signed(3), out: [Self.s("ab\n"), .unsigned(8)])
        script.enter("read", [.signed(3)], defers: true)
        script.call("malloc", [.unsigned(1)], .pointer(0x10))
        script.leave(.signed(3), out: [Self.s("ab\n"), .unsigned(8)])
        // ltrace: read(3, "ab\n", 8) = 3, and when interrupted `<... read resumed> "ab\n", 8) = 3`.
        #expect(text(script) == """
        read(3, "ab\\n", 8)                               = 3
        read(3,  <unfinished ...>
        malloc(1)                                        = 0x10
        <... read resumed> "ab\\n", 8)                    = 3

        """)
    }

    @Test func timestampsCallSiteAndDuration() {
        var options = TraceRenderOptions()
        options.timestamps = .epochMicroseconds
        options.showCallSite = true
        options.showCallDuration = true
        let script = Script()
        script.call("malloc", [.unsigned(10)], .pointer(0x55c9be9ce2a0), took: 580_000)
        // ltrace -ttt -i -T: "1796220381.385358 [0x55c97f56c26d] malloc(10) = 0x55c9be9ce2a0 <0.000580>"
        #expect(text(script, options) == "1796220382.000001 [0x401000] malloc(10)" + String(repeating: " ", count: 9)
                + " = 0x55c9be9ce2a0 <0.000580>\n")
        var relative = TraceRenderOptions()
        relative.relativeTimestamps = true
        let two = Script()
        two.call("malloc", [.unsigned(10)], .pointer(0x1))
        two.call("free", [.pointer(0x1)], .void, took: 5000)
        // ltrace -r: "  0.000000 malloc(10)                            = 0x561ea3d662a0"
        #expect(text(two, relative) == """
          0.000000 malloc(10)                            = 0x1
          0.000002 free(0x1)                             = <void>

        """)
    }

    @Test func unwoundFramesAndEndOfTrace() {
        let script = Script()
        script.enter("longjmp_target", [.signed(1)])
        script.leave(nil)
        script.enter("never_returns", [])
        #expect(text(script) == "longjmp_target(1 <no return ...>\nnever_returns( <no return ...>\n")
    }

    /// -f: a child's exit does not end its parent's open call, which resumes later; a detach ends the trace of
    /// a process attached to.
    @Test func anotherProcessEndingLeavesAnOpenCallUnfinished() {
        let script = Script()
        script.enter("waitpid", [.signed(200)])
        script.events.append(.exited(process: ThreadID(rawValue: 200), status: 5, time: script.now()))
        script.leave(.signed(200))
        script.events.append(.detached(process: ThreadID(rawValue: 100), time: script.now()))
        var options = TraceRenderOptions()
        options.processPrefix = .always
        #expect(text(script, options) == """
            [pid 100] waitpid(200 <unfinished ...>
            [pid 200] +++ exited (status 5) +++
            [pid 100] <... waitpid resumed> )                = 200
            [pid 100] +++ detached +++

            """)
    }

    @Test func summaryTableMatchesLtraceLayout() {
        // ltrace -c, rows from its output on this machine.
        let table = SummaryRenderer.table([
            ("setlocale", 2_599_000, 1), ("strcmp", 438_000, 3), ("malloc", 316_000, 1), ("qsort", 664_000, 1),
        ])
        #expect(table == """
        % time     seconds  usecs/call     calls      function
        ------ ----------- ----------- --------- --------------------
         64.70    0.002599        2599         1 setlocale
         16.53    0.000664         664         1 qsort
         10.90    0.000438         146         3 strcmp
          7.87    0.000316         316         1 malloc
        ------ ----------- ----------- --------- --------------------
        100.00    0.004017                     6 total

        """)
    }

    @Test func summaryRendererTimesCallsFromEvents() {
        let script = Script()
        script.call("strlen", [Self.s("a")], .unsigned(1), took: 2000)
        script.call("strlen", [Self.s("b")], .unsigned(1), took: 4000)
        script.enter("exit", [.signed(0)])
        script.exit(0)
        let sink = TraceTextSink()
        let renderer = SummaryRenderer(output: sink)
        script.events.forEach(renderer.render)
        renderer.finish()
        let lines = sink.text.split(separator: "\n")
        #expect(lines[2] == "100.00    0.000006           3         2 strlen")
        // Shown at entry only: no time of its own (not the time until the program's end).
        #expect(lines[3] == "  0.00    0.000000           0         1 exit")
        #expect(lines.last == "100.00    0.000006                     3 total")
    }

    @Test func jsonLinesHaveTheDocumentedSchema() throws {
        let script = Script()
        script.enter("read", [.signed(3)], defers: true)
        script.leave(.signed(3), out: [Self.s("ab\n"), .unsigned(8)])
        script.signal(10)
        script.exit(0)
        let sink = TraceTextSink()
        let renderer = JSONLinesRenderer(output: sink)
        script.events.forEach(renderer.render)
        renderer.finish()
        let objects = try sink.text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.map { $0["type"] as? String } == ["call", "return", "signal", "exited"])
        #expect(objects[0]["function"] as? String == "read")
        #expect(objects[0]["args"] as? [String] == ["3"])
        #expect((objects[0]["caller"] as? NSNull) != nil)
        #expect(objects[1]["return"] as? String == "3")
        #expect(objects[1]["out"] as? [String] == [#""ab\n""#, "8"])
        #expect(((objects[1]["out_values"] as? [[String: Any]])?.first?["value"]) as? String == "ab\n")
        #expect(objects[1]["duration_ns"] as? Int == 1000)
        #expect(objects[2]["signal"] as? String == "SIGUSR1")
        #expect(objects[3]["status"] as? Int == 0)
        #expect(objects[0]["tid"] as? Int == 100)
    }

    @Test func outputFileIsWrittenAndFlushed() throws {
        let dir = try TestSupport_tmp()
        let path = dir + "/trace.txt"
        let output = try TraceOutput.file(path)
        let renderer = LtraceTextRenderer(output: output)
        let script = Script()
        script.call("puts", [Self.s("x")], .signed(2))
        script.exit(0)
        script.events.forEach(renderer.render)
        // Flushed by the exit event, before finish.
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(written.hasSuffix("+++ exited (status 0) +++\n"))
        renderer.finish()
        #expect(throws: TraceOutputError.self) { _ = try TraceOutput.file(dir + "/no/such/dir/x") }
    }

    private func TestSupport_tmp() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trace-render-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
