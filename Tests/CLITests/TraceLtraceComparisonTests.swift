import Foundation
import Testing
import TestSupport

/// `linkscope trace` and ltrace 0.7.3 on real programs of this machine (coreutils), in the same run: where
/// ltrace sees the calls, the call sequences are the same line for line (addresses aside); where it cannot,
/// linkscope still sees them: calls through `.plt.got` (how coreutils call malloc and free) and libc's own
/// calls through its IRELATIVE slots (`libc.so.6->strlen("LC_ALL")`: ltrace cannot name those slots, so
/// `-e strlen` never matches them). The comparison therefore keeps the program's own calls (`ls->...`).
/// The traced program's stdout and exit status are those of an untraced run.
@Suite(.serialized) struct TraceLtraceComparisonTests {
    static let ltrace = "/usr/bin/ltrace"

    /// A directory whose listing never changes between the runs.
    static func fixedDirectory() throws -> URL {
        let directory = try TestSupport.temporaryDirectory("trace-compare")
        for name in ["alpha", "beta.txt", "gamma-longer-name", "delta"] {
            FileManager.default.createFile(atPath: directory.appendingPathComponent(name).path, contents: Data("x\n".utf8))
        }
        return directory
    }

    /// Call lines only (of the calling object `from`, when given), addresses replaced and padding squeezed,
    /// so the two tracers' lines compare.
    static func calls(_ trace: String, from caller: String? = nil) -> [String] {
        trace.split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("+++") && !$0.hasPrefix("---") && !$0.hasPrefix("linkscope:") }
            .filter { line in caller.map { line.hasPrefix("\($0)->") || line.hasPrefix("<... ") } ?? true }
            .map { line in
                line.replacingOccurrences(of: "0x[0-9a-f]+", with: "0xADDR", options: .regularExpression)
                    .replacingOccurrences(of: " +=", with: " =", options: .regularExpression)
            }
    }

    /// `-f` on fork + system(): per process (pids numbered in order of appearance, as the two runs differ),
    /// the same lines as `ltrace -f` for the parent up to system() and for the fork child, and both mark the
    /// shell's exec with `--- Called exec() ---`. (ltrace ends the open system( line `<no return ...>` and
    /// later resumes it; linkscope says `<unfinished ...>`.)
    @Test func followForksLikeLtrace() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.ltrace) else {
            Issue.record("ltrace not installed (scripts/install-deps)")
            return
        }
        let forks = try TestSupport.testBinaries.appendingPathComponent("trace/forks").path
        let theirs = TestSupport.run([Self.ltrace, "-f", forks])
        let ours = TestSupport.linkscope(["trace", "-f", "--", forks])
        #expect(ours.status == 0 && theirs.status == 0)
        #expect(ours.stdout == theirs.stdout)
        let mine = Self.byProcess(ours.stderr), ltrace = Self.byProcess(theirs.stderr)
        func untilSystem(_ lines: [String]) -> [String] {
            guard let end = lines.firstIndex(where: { $0.hasPrefix("system(") }) else { return lines }
            return Array(lines[..<end])
        }
        #expect(untilSystem(mine[1] ?? []) == untilSystem(ltrace[1] ?? []), "\(ours.stderr)")
        #expect(mine[1]?.contains { $0.hasPrefix("system(\"echo from-system\"") } == true)
        #expect(mine[2] == ltrace[2], "the fork child")
        #expect(mine[2]?.contains("strlen(\"child\") = 5") == true)
        #expect(mine[3]?.first == "--- Called exec() ---" && ltrace[3]?.first == "--- Called exec() ---")
    }

    /// Calls by process (1 = the first pid seen, 2 = the next, …), each a whole `f(args) = value` (an
    /// `<unfinished ...>` entry joined with its `<... f resumed>` line, as interleaving differs between runs),
    /// with `---` lines, pids and addresses replaced and padding squeezed.
    static func byProcess(_ trace: String) -> [Int: [String]] {
        var numbers: [String: Int] = [:], result: [Int: [String]] = [:], open: [Int: [String]] = [:]
        for line in trace.split(separator: "\n") where line.hasPrefix("[pid ") {
            guard let close = line.firstIndex(of: "]") else { continue }
            let pid = String(line[line.index(line.startIndex, offsetBy: 5)..<close])
            let number = numbers[pid] ?? (numbers.count + 1)
            numbers[pid] = number
            var body = String(line[line.index(close, offsetBy: 2)...])
                .replacingOccurrences(of: "0x[0-9a-f]+", with: "0xADDR", options: .regularExpression)
                .replacingOccurrences(of: " +=", with: " =", options: .regularExpression)
            if body.hasPrefix("---") && body != "--- Called exec() ---" { continue }
            if body.hasSuffix(" <unfinished ...>") {
                open[number, default: []].append(String(body.dropLast(" <unfinished ...>".count)))
                continue
            }
            if body.hasPrefix("<... "), let resumed = body.range(of: " resumed> "), let entry = open[number]?.popLast() {
                body = entry + body[resumed.upperBound...]
            }
            result[number, default: []].append(body)
        }
        let pids = numbers.keys.sorted().joined(separator: "|")
        return result.mapValues { lines in
            lines.map { $0.replacingOccurrences(of: "\\b(\(pids))\\b", with: "PID", options: .regularExpression) }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var filter: String
        var command: [String]
        var testDescription: String { "-e \(filter) \(command.joined(separator: " "))" }
    }

    @Test(arguments: [
        Case(filter: "strlen+strcmp", command: ["/bin/ls", "DIR"]),
        // strcoll tail-calls strcmp through libc's IRELATIVE slot; without strcmp selected nothing nests inside.
        Case(filter: "strlen+strcoll", command: ["/bin/ls", "-1", "DIR"]),
        Case(filter: "strrchr+strlen", command: ["/usr/bin/basename", "DIR/beta.txt", ".txt"]),
        // getenv calls strlen: with both selected, libc.so.6->strlen (an IRELATIVE slot ltrace cannot see) nests inside.
        Case(filter: "getenv+strcmp", command: ["/usr/bin/sort", "DIR/beta.txt"]),
    ])
    func sameCallsAsLtrace(_ c: Case) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.ltrace) else {
            Issue.record("ltrace not installed (scripts/install-deps)")
            return
        }
        let directory = try Self.fixedDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let command = c.command.map { $0.replacingOccurrences(of: "DIR", with: directory.path) }
        let untraced = TestSupport.run(command, environment: ["LC_ALL": "C"])
        let theirs = TestSupport.run([Self.ltrace, "-e", c.filter] + command, environment: ["LC_ALL": "C"])
        let ours = TestSupport.linkscope(["trace", "-e", c.filter, "--"] + command, environment: ["LC_ALL": "C"])
        #expect(ours.stdout == untraced.stdout)
        #expect(ours.status == untraced.status)
        let program = (command[0] as NSString).lastPathComponent
        let expected = Self.calls(theirs.stderr, from: program)
        #expect(!expected.isEmpty, "ltrace saw no call: the case proves nothing")
        #expect(Self.calls(ours.stderr, from: program) == expected)
    }

    /// coreutils take malloc's and free's address, so the linker sends their calls through `.plt.got`;
    /// ltrace 0.7.3 puts no breakpoint there and shows none of them.
    @Test(arguments: ["/bin/ls", "/usr/bin/sort"])
    func seesPLTGotCallsLtraceMisses(_ program: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.ltrace) else {
            Issue.record("ltrace not installed (scripts/install-deps)")
            return
        }
        let directory = try Self.fixedDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let command = [program, directory.appendingPathComponent(program.hasSuffix("sort") ? "alpha" : "").path]
        let theirs = TestSupport.run([Self.ltrace, "-e", "malloc+free"] + command)
        let ours = TestSupport.linkscope(["trace", "-e", "malloc+free", "--"] + command)
        #expect(ours.status == 0, "\(ours.stderr)")
        let name = (program as NSString).lastPathComponent
        // ltrace sees the libraries' own calls (libselinux.so.1->free(0)), never the program's.
        #expect(Self.calls(theirs.stderr, from: name).isEmpty, "ltrace 0.7.3 now sees .plt.got calls: update the README")
        let mallocs = Self.calls(ours.stderr, from: name).filter { $0.hasPrefix("\(name)->malloc(") }
        #expect(mallocs.count > 0)
        // Each malloc line is complete: the call and its return on one line, with a pointer returned.
        #expect(mallocs.allSatisfy { $0.range(of: #"malloc\([0-9]+\) = 0xADDR"#, options: .regularExpression) != nil })
    }

    /// A traced function that tail-calls a traced function through its PLT (`jmp strlen@plt`, what strcoll
    /// does to strcmp in the C locale): the inner call runs on the outer's return slot, which already holds
    /// our return site; both return at one stop, with the same result.
    @Test func tailCallsReturnTogether() throws {
        let program = try TestSupport.testBinaries.appendingPathComponent("trace/tailmain").path
        let result = TestSupport.linkscope(["trace", "--engine-stats", "-e", "tail_length+strlen@libtail.so", "--", program])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "4 6\n")
        let lines = Self.calls(result.stderr).map { $0.replacingOccurrences(of: #"\(0xADDR.*<unfinished"#, with: "(<unfinished", options: .regularExpression) }
        #expect(lines == [
            "tailmain->tail_length(<unfinished ...>", "libtail.so->strlen(\"tail\") = 4", "<... tail_length resumed> ) = 4",
            "tailmain->tail_length(<unfinished ...>", "libtail.so->strlen(\"called\") = 6", "<... tail_length resumed> ) = 6",
        ])
        // Two slot stops and one shared return stop per pair of calls (none in-process).
        let inProcess = result.stderr.contains("[inproc]")
        #expect(result.stderr.contains(inProcess ? "engine: 4 calls, 0 call stops" : "engine: 4 calls, 6 call stops"),
                "\(result.stderr)")

        // The same shape in glibc: ls sorts with strcoll, which tail-calls strcmp in the C locale.
        let directory = try Self.fixedDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let command = ["/bin/ls", "-1", directory.path]
        let untraced = TestSupport.run(command, environment: ["LC_ALL": "C"])
        let ls = TestSupport.linkscope(["trace", "-e", "strcoll+strcmp", "--"] + command, environment: ["LC_ALL": "C"])
        #expect(ls.status == 0 && ls.stdout == untraced.stdout, "\(ls.stderr)")
        #expect(ls.stderr.contains("libc.so.6->strcmp(\"alpha\", \"delta\")"))
        #expect(ls.stderr.contains("<... strcoll resumed> )"))
    }

    /// The ptrace engine's promise: two stops per traced call, counted by the engine itself.
    @Test func twoStopsPerCall() throws {
        let loop = try TestSupport.testBinaries.appendingPathComponent("trace/loop").path
        let result = TestSupport.linkscope(["trace", "--engine", "ptrace", "--engine-stats", "-e", "strlen", "-o", "/dev/null",
                                            "--", loop, "3000"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("engine: 3000 calls, 6000 call stops, 2.00 stops/call"), "\(result.stderr)")
    }
}
