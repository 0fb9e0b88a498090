import Foundation
import LinkscopeCLI
import Testing
import TestSupport

/// ltrace's command line (issue 10): options end at the first operand, getopt's attached values and
/// bundles, ltrace's long options, -a, -L, -b. Where ltrace 0.7.3 is right, its behaviour is the reference.
@Suite struct TraceCommandLineTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    private func program(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// `linkscope trace ARGUMENTS` with the trace written to its own file (`-o` first, so the command line
    /// under test is otherwise exactly `arguments`).
    private func trace(_ arguments: [String], directory: String? = nil) throws -> (TestSupport.Output, [String]) {
        let dir = try TestSupport.temporaryDirectory("trace-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("trace.txt").path
        let result = TestSupport.linkscope(["trace", "-o", file] + arguments, directory: directory)
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return (result, text.split(separator: "\n").map(String.init))
    }

    // MARK: The rewriting itself

    @Test(arguments: [
        (["pwd"], ["--", "pwd"]),
        (["-e", "malloc+free", "ls", "/tmp"], ["-e", "malloc+free", "--", "ls", "/tmp"]),
        // The command's own options are its own: ltrace -e strlen ls -l passes -l to ls.
        (["-e", "strlen", "ls", "-l"], ["-e", "strlen", "--", "ls", "-l"]),
        (["-s8", "-ofile", "-n2", "-p1234", "-emalloc"], ["-s", "8", "-o", "file", "-n", "2", "-p", "1234", "-e", "malloc"]),
        (["-fc", "-ttt", "ls"], ["-f", "-c", "-t", "-t", "-t", "--", "ls"]),
        (["-fs8", "x"], ["-f", "-s", "8", "--", "x"]),
        // A value is the next word whatever it looks like, as getopt takes it.
        (["-e", "-malloc", "ls"], ["-e", "-malloc", "--", "ls"]),
        (["--output", "-odd-name", "ls"], ["--output", "-odd-name", "--", "ls"]),
        (["--output=f", "--summary", "ls", "--", "x"], ["--output=f", "--summary", "--", "ls", "--", "x"]),
        (["-c", "--", "ls", "-l"], ["-c", "--", "ls", "-l"]),
        (["-", "x"], ["--", "-", "x"]),
        (["-cZq", "ls"], ["-c", "-cZq", "--", "ls"]),
    ])
    func rewritesLtraceStyleArguments(input: [String], expected: [String]) {
        #expect(TraceArguments.normalise(input) == expected)
    }

    // MARK: End to end

    @Test func aCommandNeedsNoDoubleDash() throws {
        let dir = try TestSupport.temporaryDirectory("trace-pwd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let real = dir.resolvingSymlinksInPath().path
        let (result, lines) = try trace(["pwd"], directory: real)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == real + "\n")
        #expect(lines.contains { $0.hasPrefix("getcwd(") }, "\(lines)")
        #expect(lines.last == "+++ exited (status 0) +++")
    }

    /// The words after COMMAND are COMMAND's, as ltrace gives them: compared with ltrace on the same line.
    @Test func optionsEndAtTheCommandAsInLtrace() throws {
        let words = ["-e", "strlen", "/bin/echo", "-l", "-e", "-o", "x"]
        let (ours, _) = try trace(words)
        let theirs = TestSupport.run(["/usr/bin/ltrace", "-o", "/dev/null"] + words)
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(ours.stdout == "-l -e -o x\n")
        #expect(ours.stdout == theirs.stdout)
    }

    @Test func attachedValuesAndBundles() throws {
        let (result, lines) = try trace(["-s3", "-fn2", "-estrcpy+qsort+strcmp@MAIN", program("nested")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "apple fig pear\n")
        // -f prefixes every line with its pid; -n2 indents the strcmp calls qsort makes; -s3 cuts strings.
        let bodies = lines.map { Traced.body(of: $0) }
        #expect(lines.allSatisfy { $0.hasPrefix("[pid ") }, "\(lines)")
        #expect(bodies.contains { $0.hasPrefix("  nested->strcmp(\"") && $0.contains("\"...") }, "\(lines)")
        let (cut, cutLines) = try trace(["-s3", "-estrcpy@MAIN", program("calls-lazy")])
        #expect(cut.status == 3)
        #expect(cutLines.contains { $0.contains(", \"hel\"...)") }, "\(cutLines)")
        let (attach, _) = try trace(["-p999999"])
        #expect(attach.status == 126)
        #expect(attach.stderr.contains("cannot attach to 999999"), "\(attach.stderr)")
        // -e takes a value that starts with '-' (everything but malloc), as getopt does.
        let (minus, minusLines) = try trace(["-e", "-malloc", program("calls-lazy")])
        #expect(minus.status == 3, "\(minus.stderr)")
        #expect(minusLines.contains { $0.hasPrefix("calls-lazy->strlen(") }, "\(minusLines)")
        #expect(!minusLines.contains { $0.contains("->malloc(") }, "\(minusLines)")
    }

    @Test func ltraceLongOptions() throws {
        let dir = try TestSupport.temporaryDirectory("trace-long")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("summary.txt").path
        let summary = TestSupport.linkscope(["trace", "--output=" + file, "--summary", "--library", "libc.so.6",
                                             program("calls-lazy")])
        #expect(summary.status == 3, "\(summary.stderr)")
        let table = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        #expect(table.hasPrefix("% time     seconds  usecs/call     calls      function\n"), "\(table)")
        #expect(table.contains(" strcpy\n") && table.contains(" malloc\n"), "\(table)")
        let (indented, lines) = try trace(["--indent", "3", "--demangle", "--align=30", "-e", "qsort+strcmp@MAIN",
                                           program("nested")])
        #expect(indented.status == 0, "\(indented.stderr)")
        #expect(lines.contains { $0.hasPrefix("   nested->strcmp(\"") }, "\(lines)")
    }

    /// Installed as `ltrace` (or `linkscope-ltrace`), linkscope takes ltrace's command line.
    @Test(arguments: ["ltrace", "linkscope-ltrace"])
    func invokedAsLtrace(name: String) throws {
        let dir = try TestSupport.temporaryDirectory("trace-as-ltrace")
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent(name).path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: TestSupport.linkscopeExecutable)
        let file = dir.appendingPathComponent("trace.txt").path
        let result = TestSupport.run([link, "-o", file, "-e", "strlen@MAIN", program("calls-lazy")])
        #expect(result.status == 3, "\(result.stderr)")
        let lines = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.first?.hasPrefix("calls-lazy->strlen(\"hello\")") == true, "\(lines)")
        let version = TestSupport.run([link, "-V"])
        #expect(version.stdout.hasPrefix("linkscope "), "\(version.stdout)")
    }

    /// `-a N` puts the `=` of results in column N, as ltrace counts it (its default is 50).
    @Test(arguments: [10, 30, 50, 64])
    func alignsResultsWhereLtraceDoes(column: Int) throws {
        func equalsColumn(_ lines: [String]) -> Int? {
            guard let line = lines.first(where: { $0.hasPrefix("calls-lazy->malloc(16)") }),
                  let range = line.range(of: " = ") else { return nil }
            return line.distance(from: line.startIndex, to: range.lowerBound) + 2
        }
        let options = column == 50 ? [] : ["-a", String(column)]
        let (ours, lines) = try trace(options + ["-e", "malloc@MAIN", program("calls-lazy")])
        #expect(ours.status == 3, "\(ours.stderr)")
        let dir = try TestSupport.temporaryDirectory("ltrace-align")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("ltrace.txt").path
        TestSupport.run(["/usr/bin/ltrace", "-o", file] + options + ["-e", "malloc@MAIN", program("calls-lazy")])
        let theirs = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        #expect(equalsColumn(lines) != nil && equalsColumn(lines) == equalsColumn(theirs), "\(lines) vs \(theirs)")
        if column > 24 { #expect(equalsColumn(lines) == column) }
    }

    /// `-L`: nothing through the main program's PLT; the libraries' calls still are.
    @Test func notTheMainProgramsPLT() throws {
        let (all, allLines) = try trace(["-e", "lookup_next+dlsym", program("nextmain")])
        #expect(all.status == 0)
        #expect(allLines.contains { $0.hasPrefix("nextmain->lookup_next(") }, "\(allLines)")
        #expect(allLines.contains { $0.hasPrefix("libnext1.so->dlsym(RTLD_NEXT, \"which_one\")") }, "\(allLines)")
        let (libs, libLines) = try trace(["-L", "-e", "lookup_next+dlsym", program("nextmain")])
        #expect(libs.status == 0, "\(libs.stderr)")
        #expect(libs.stdout == all.stdout)
        #expect(!libLines.contains { $0.hasPrefix("nextmain->") }, "\(libLines)")
        #expect(libLines.contains { $0.hasPrefix("libnext1.so->dlsym(RTLD_NEXT, \"which_one\")") }, "\(libLines)")
        // The rule that only the main program's calls matched now matches nothing, and says so.
        #expect(libs.stderr.contains("filter rule 'lookup_next' matched no PLT slot"), "\(libs.stderr)")
        // Alone it traces no PLT call at all, as ltrace -L.
        let (none, noneLines) = try trace(["-L", program("calls-lazy")])
        #expect(none.status == 3)
        #expect(noneLines == ["+++ exited (status 3) +++"])
    }

    /// `-u USER` (as root): the command runs with USER's uid, gid and groups, and a setuid program it starts
    /// keeps its euid, as with ltrace -u, which is the reference. Not root: a clear refusal.
    @Test func runsTheCommandAsAnotherUser() throws {
        guard geteuid() == 0 else {
            let result = TestSupport.linkscope(["trace", "-u", "nobody", "/usr/bin/id"])
            #expect(result.status == 2 && result.stderr.contains("only root"), "\(result.stderr)")
            return
        }
        let dir = try TestSupport.temporaryDirectory("trace-user")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A setuid-root copy of id: the case -u exists for (a tracer that is root starts it as the user).
        let setuidID = dir.appendingPathComponent("id-setuid").path
        try FileManager.default.copyItem(atPath: "/usr/bin/id", toPath: setuidID)
        chmod(setuidID, 0o4755)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        for program in ["/usr/bin/id", setuidID] {
            let (ours, lines) = try trace(["-u", "nobody", "-e", "getuid+geteuid", program])
            let theirs = TestSupport.run(["/usr/bin/ltrace", "-u", "nobody", "-o", "/dev/null", program])
            #expect(ours.status == 0, "\(ours.stderr)")
            #expect(ours.stdout.hasPrefix("uid=65534(nobody) gid=65534(nogroup) "), "\(ours.stdout)")
            #expect(ours.stdout == theirs.stdout, "ltrace -u: \(theirs.stdout)")
            #expect(lines.contains { $0.hasPrefix("id-setuid->geteuid()") || $0.hasPrefix("id->geteuid()") }, "\(lines)")
        }
        let unknown = TestSupport.linkscope(["trace", "-u", "no-such-user-here", "/usr/bin/id"])
        #expect(unknown.status == 2 && unknown.stderr.contains("no such user: no-such-user-here"), "\(unknown.stderr)")
        let inproc = TestSupport.linkscope(["trace", "--engine", "inproc", "-u", "nobody", "/usr/bin/id"])
        #expect(inproc.status == 126 && inproc.stderr.contains("-u needs the ptrace engine"), "\(inproc.stderr)")
    }

    /// `-b`: no `--- SIGNAL ---` lines (text or JSON); how the program ended is still said.
    @Test func noSignalLines() throws {
        let (shown, shownLines) = try trace([program("signals"), "die"])
        #expect(shown.status == 128 + SIGTERM)
        #expect(shownLines.contains("--- SIGUSR1 (User defined signal 1) ---"), "\(shownLines)")
        let (quiet, quietLines) = try trace(["-b", program("signals"), "die"])
        #expect(quiet.status == 128 + SIGTERM)
        #expect(quiet.stdout == "usr1=1 traps=2\n")
        #expect(!quietLines.contains { $0.hasPrefix("---") }, "\(quietLines)")
        #expect(quietLines.contains { $0.hasPrefix("raise(SIGUSR1) ") }, "\(quietLines)")
        #expect(quietLines.last == "+++ killed by SIGTERM +++")
        let (json, jsonLines) = try trace(["--no-signals", "--json", program("signals")])
        #expect(json.status == 0)
        #expect(!jsonLines.contains { $0.contains("\"type\":\"signal\"") }, "\(jsonLines)")
        #expect(jsonLines.last?.contains("\"type\":\"exited\"") == true)
    }
}
