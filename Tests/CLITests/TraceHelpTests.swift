import Testing
import TestSupport

/// `linkscope trace --help` is a contract: every ltrace flag we take, and the exit statuses, are listed.
@Suite struct TraceHelpTests {
    @Test func helpListsTheFlagsAndExitStatuses() {
        let result = TestSupport.linkscope(["trace", "--help"])
        #expect(result.status == 0)
        for flag in ["-e <EXPR>", "-l <LIB>", "-o <FILE>", "-c ", "-s <N>", "-A <N>", "-n <N>", "-t ", "-r ", "-T ",
                     "-i ", "-C ", "-f ", "-p <PID>", "--duration <SECONDS>", "-F <FILE>", "--json", "--engine-stats",
                     "-x <SYM>"] {
            #expect(result.stdout.contains("  " + flag), "help lacks \(flag)")
        }
        #expect(result.stdout.contains("USAGE: linkscope trace [<options>] -- [<command> ...]"))
        #expect(result.stdout.contains("128+N when signal N killed it"))
        #expect(result.stdout.contains("127 when"))
        // The discussion is re-wrapped to the terminal's width: compare it with single spaces.
        let words = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(words.contains("0 after detaching from -p processes that still run"))
        #expect(words.contains("126 when it cannot be executed or traced or a PID cannot be attached to"))
        #expect(words.contains("With -p, ^C, SIGTERM, SIGHUP or --duration detach"))
    }

    @Test func unsupportedEntryBreakpointsAreAUsageError() {
        let result = TestSupport.linkscope(["trace", "-x", "main", "--", "/bin/true"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("-x"))
    }
}
