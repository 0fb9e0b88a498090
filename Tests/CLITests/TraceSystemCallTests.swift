import Foundation
import Testing
import TestSupport

/// `-S` (issue 10): system calls between the library calls, named and, for the common ones, decoded as strace
/// shows them; the ptrace engine only (the in-process engine refuses, `auto` takes ptrace).
@Suite struct TraceSystemCallTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    private var program: String { fixtures.appendingPathComponent("syscalls").path }

    @Test func systemCallsAreShownBetweenLibraryCalls() throws {
        let run = try Traced.run(["-S", "-e", "open+close"], [program])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "hello\nfd -1\n")
        let lines = run.lines.map { $0.replacing(/\ {2,}/, with: " ") }
        let openAt = "SYS_openat(AT_FDCWD, \"/nonexistent/linkscope.conf\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"
        #expect(lines.contains(openAt), "\(run.lines)")
        #expect(lines.contains("SYS_write(1, \"hello\\n\", 6) = 6"))
        #expect(lines.contains("SYS_close(-1) = -1 EBADF (Bad file descriptor)"))
        #expect(lines.contains("SYS_exit_group(0) = ?"))
        // In order, inside the library calls that made them.
        let open = lines.firstIndex { $0.hasPrefix("syscalls->open(\"/nonexistent") }
        let syscall = lines.firstIndex(of: openAt)
        let resumed = lines.firstIndex { $0.hasPrefix("<... open resumed>") }
        #expect(open != nil && syscall != nil && resumed != nil && open! < syscall! && syscall! < resumed!, "\(run.lines)")
        #expect(run.lines.last == "+++ exited (status 0) +++")
    }

    @Test func jsonAndSummaryHaveTheSystemCalls() throws {
        let json = try Traced.run(["-S", "--json", "-e", "open"], [program])
        let records = json.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let openAt = records.first { $0["type"] as? String == "syscall" && $0["name"] as? String == "SYS_openat"
            && ($0["args"] as? [String])?.contains("\"/nonexistent/linkscope.conf\"") == true }
        #expect(openAt?["result"] as? Int == -1 && openAt?["errno"] as? String == "ENOENT", "\(json.lines)")
        #expect(openAt?["number"] as? Int == 257 && openAt?["pid"] as? Int == openAt?["tid"] as? Int)

        let summary = try Traced.run(["-S", "-c", "-e", "open"], [program])
        let row = summary.lines.first { $0.hasSuffix(" SYS_write") }?.split(separator: " ")
        #expect(row.map { Int($0[3]) ?? 0 } ?? 0 >= 2, "\(summary.lines)")  // hello, fd -1 (and any stdio)
        #expect(summary.lines.contains { $0.hasSuffix(" SYS_openat") } && summary.lines.contains { $0.hasSuffix(" open") })
    }

    @Test func theInProcessEngineRefusesAndAutoTakesPtrace() throws {
        let forced = try Traced.run(["-S", "--engine", "inproc"], [program])
        #expect(forced.status == 126)
        #expect(forced.stderr.contains("-S (system calls) needs the ptrace engine"), "\(forced.stderr)")
        let auto = TestSupport.linkscope(["trace", "-S", "-o", "/dev/null", "--engine-stats", program],
                                         environment: ["LINKSCOPE_TRACE_ENGINE": "inproc"])
        #expect(auto.status == 0 && auto.stderr.contains("[ptrace]"), "\(auto.stderr)")
    }

    /// With -f every process's system calls are shown, each line with its pid; with threads, each thread's.
    @Test func followedChildrenAndThreadsShowTheirSystemCalls() throws {
        let forks = try Traced.run(["-S", "-f"], [fixtures.appendingPathComponent("forks").path])
        #expect(forks.status == 0, "\(forks.stderr)")
        let pids = Set(forks.lines.filter { Traced.body(of: $0).hasPrefix("SYS_") }.compactMap(Traced.pid(of:)))
        #expect(pids.count >= 2, "\(forks.lines.suffix(10))")
        let threads = try Traced.run(["-S"], [fixtures.appendingPathComponent("threads").path])
        #expect(threads.status == 0, "\(threads.stderr)")
        let tids = Set(threads.lines.filter { Traced.body(of: $0).hasPrefix("SYS_") }.compactMap(Traced.pid(of:)))
        #expect(tids.count >= 2, "\(threads.lines.suffix(10))")
    }
}
