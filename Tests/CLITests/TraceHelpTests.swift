import Foundation
import LinkscopeCLI
import Testing
import TestSupport

/// `linkscope trace --help` is a contract: every ltrace flag we take, both usage forms, and the exit
/// statuses are listed.
@Suite struct TraceHelpTests {
    @Test func helpListsTheFlagsAndExitStatuses() {
        let result = TestSupport.linkscope(["trace", "--help"])
        #expect(result.status == 0)
        for flag in ["-e <EXPR>", "-l, --library <LIB>", "-L ", "-o, --output <FILE>", "-c, --summary", "-s <N>",
                     "-A <N>", "-n, --indent <N>", "-a, --align <COLUMN>", "-t ", "-r ", "-T ", "-i ",
                     "-C, --demangle", "-b, --no-signals", "-S ", "-f ", "-p <PID>", "--duration <SECONDS>",
                     "-F, --config <FILE>", "--json", "--engine <ENGINE>", "--engine-stats", "-x <SYM>", "-u <USER>", "-V ",
                     "--version"] {
            #expect(result.stdout.contains("  " + flag), "help lacks \(flag)")
        }
        // Both forms, as ltrace's usage has them: a COMMAND (no `--` needed) or -p PID.
        #expect(result.stdout.contains("USAGE: linkscope trace [<options>] [--] COMMAND [ARGS ...]\n"
                                       + "       linkscope trace [<options>] -p PID [-p PID ...] [--duration SECONDS]\n"))
        #expect(result.stdout.contains("128+N when signal N killed it"))
        #expect(result.stdout.contains("127 when"))
        // The discussion is re-wrapped to the terminal's width: compare it with single spaces.
        let words = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(words.contains("0 after detaching from -p processes that still run"))
        #expect(words.contains("126 when it cannot be executed or traced or a PID cannot be attached to"))
        #expect(words.contains("With -p, ^C, SIGTERM, SIGHUP or --duration detach"))
        #expect(words.contains("Options end at COMMAND, as for ltrace"))
        #expect(words.contains("125 when the trace could not be written"))
    }

    /// The getopt-style rewriting (TraceArguments) must know every option `trace` has, and whether it takes a
    /// value: an option missing there would swallow the command, or a value taken for the command.
    @Test func argumentRewritingKnowsEveryOptionOfTheHelp() throws {
        let help = TestSupport.linkscope(["trace", "--help"]).stdout
        var shortWithValue: Set<Character> = [], shortFlags: Set<Character> = [], longWithValue: Set<String> = []
        let optionLine = try Regex(#"^  (?:-([A-Za-z]))?(?:, )?(?:--([a-z-]+))?(?: <[A-Z]+>)?"#)
        for line in help.split(separator: "\n") {
            guard let match = try optionLine.prefixMatch(in: line), match.output[0].substring!.count > 2 else { continue }
            let takesValue = match.output[0].substring!.hasSuffix(">")
            if let short = match.output[1].substring?.first {
                if takesValue { shortWithValue.insert(short) } else { shortFlags.insert(short) }
            }
            if let long = match.output[2].substring, takesValue { longWithValue.insert(String(long)) }
        }
        #expect(shortWithValue == TraceArguments.shortOptionsWithValue)
        #expect(shortFlags == TraceArguments.shortFlags)
        #expect(longWithValue == TraceArguments.longOptionsWithValue)
    }

    @Test func versionFromTheRootAndFromTrace() {
        for arguments in [["--version"], ["trace", "-V"], ["trace", "--version"]] {
            let result = TestSupport.linkscope(arguments)
            #expect(result.status == 0, "\(arguments)")
            #expect(result.stdout == "linkscope \(LinkscopeCommand.version)\n", "\(arguments)")
        }
    }

    @Test func unsupportedEntryBreakpointsAreAUsageError() {
        let result = TestSupport.linkscope(["trace", "-x", "main", "--", "/bin/true"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("-x"))
    }
}
