import ArgumentParser
import ELF
import Glibc
import TraceModel
import Tracer

/// The `linkscope` command and its subcommands. `main.swift` only calls `runMain()`; tests import this.
public struct LinkscopeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "linkscope",
        abstract: "See what the dynamic linker loads for a program, and which library calls it makes.",
        version: "linkscope \(LinkscopeCommand.version)",
        subcommands: [DepsCommand.self, TraceCommand.self, CheckCommand.self]
    )

    /// `linkscope --version`, `linkscope trace -V`.
    public static let version = "0.1.0"

    public init() {}

    /// Parses the command line and runs the chosen command. Bad usage exits 2, as the command-line contract
    /// says (ArgumentParser's own default would be 64); a command's own exit status passes through.
    public static func runMain(_ arguments: [String]? = nil) -> Never {
        do {
            let argv = commandLineWords()
            let given = arguments ?? invokedAs(argv.first ?? "") + Array(argv.dropFirst())
            let (arguments, operands) = DepsCommand.splitOperands(normalised(given))
            var command = try parseAsRoot(arguments)
            // The signal state a launched program inherits is the one linkscope was started with: taken
            // before trace changes a mask or a disposition (parsing changes none; deps and check need none).
            if command is TraceCommand { _ = InheritedSignals.atStartup }
            if var deps = command as? DepsCommand, let operands {
                guard !operands.isEmpty else {
                    let usage = "Error: give at least one FILE\nUsage: \(DepsCommand.configuration.usage ?? "")\n"
                        + "  See 'linkscope deps --help' for more information.\n"
                    StandardStreams.error(usage)
                    Glibc.exit(ExitStatus.cannotAnalyse)
                }
                deps.files = operands
                command = deps
            }
            try command.run()
            Glibc.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                StandardStreams.error((fullMessage(for: error) + "\n"))
                Glibc.exit(ExitStatus.cannotAnalyse)
            }
            exit(withError: error)
        }
    }

    /// argv as `RawBytes` strings: `CommandLine.arguments` repairs bytes that are not UTF-8 (`pie\xff` became
    /// `pie\u{FFFD}`, a file that does not exist), so FILE operands could not name such files, and `trace`
    /// could not pass COMMAND's words on as given (TraceCommand.bytes(ofCommand:) turns them back into bytes).
    static func commandLineWords() -> [String] {
        ProcessArguments.bytes.map { RawBytes.string($0) }
    }

    /// Installed (or linked) as `ltrace` or `linkscope-ltrace`, linkscope is `linkscope trace` with ltrace's
    /// command line; as `ldd` or `linkscope-ldd` it is `linkscope deps --ldd`, which takes ldd's flags
    /// (`-v -u -r -d` and their long names) and prints ldd's lines without load addresses, never running the
    /// file (shared/DESIGN.md, command-line contract).
    static func invokedAs(_ argv0: String) -> [String] {
        switch DropInName(argv0: argv0) {
        case .ltrace: return [TraceCommand.configuration.commandName!]
        case .ldd: return [DepsCommand.configuration.commandName!, "--ldd"]
        case nil: return []
        }
    }

    /// The names linkscope answers to as a drop-in for the tool it replaces.
    enum DropInName {
        case ldd, ltrace

        init?(argv0: String) {
            switch argv0.split(separator: "/").last.map(String.init) ?? argv0 {
            case "ldd", "linkscope-ldd": self = .ldd
            case "ltrace", "linkscope-ltrace": self = .ltrace
            default: return nil
            }
        }
    }

    /// `trace` takes ltrace's command line (options end at COMMAND, attached values): rewritten here into
    /// what ArgumentParser parses (TraceArguments).
    static func normalised(_ arguments: [String]) -> [String] {
        if arguments.starts(with: [DepsCommand.configuration.commandName!, "--ldd"]) {
            // ldd's `--version` is the tool's own: answered as the root command's.
            let words = arguments.dropFirst(2).prefix { $0 != "--" }
            if words.contains("--version") { return ["--version"] }
            return arguments
        }
        guard arguments.first == TraceCommand.configuration.commandName else { return arguments }
        return [arguments[0]] + TraceArguments.normalise(Array(arguments.dropFirst()))
    }
}
