import ArgumentParser
import ELF
import Foundation
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
        // The signal state a launched program inherits is the one linkscope was started with: taken before
        // anything here changes a mask or a disposition.
        _ = InheritedSignals.atStartup
        do {
            let argv = commandLineBytes()
            let given = arguments ?? invokedAs(argv.first ?? "") + Array(argv.dropFirst())
            let (arguments, operands) = DepsCommand.splitOperands(normalised(given))
            var command = try parseAsRoot(arguments)
            if var deps = command as? DepsCommand, let operands {
                guard !operands.isEmpty else {
                    let usage = "Error: give at least one FILE\nUsage: \(DepsCommand.configuration.usage ?? "")\n"
                        + "  See 'linkscope deps --help' for more information.\n"
                    FileHandle.standardError.write(Data(usage.utf8))
                    Foundation.exit(ExitStatus.cannotAnalyse)
                }
                deps.files = operands
                command = deps
            }
            try command.run()
            Foundation.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitStatus.cannotAnalyse)
            }
            exit(withError: error)
        }
    }

    /// argv as `RawBytes` strings: `CommandLine.arguments` repairs bytes that are not UTF-8 (`pie\xff`
    /// became `pie\u{FFFD}`, a file that does not exist), so FILE operands could not name such files.
    static func commandLineBytes() -> [String] {
        (0..<Int(CommandLine.argc)).map { index in
            CommandLine.unsafeArgv[index].map { RawBytes.string(cString: $0) } ?? ""
        }
    }

    /// Installed (or linked) as `ltrace` or `linkscope-ltrace`, linkscope is `linkscope trace` with ltrace's
    /// command line (shared/DESIGN.md, command-line contract).
    static func invokedAs(_ argv0: String) -> [String] {
        let name = argv0.split(separator: "/").last.map(String.init) ?? argv0
        return ["ltrace", "linkscope-ltrace"].contains(name) ? [TraceCommand.configuration.commandName!] : []
    }

    /// `trace` takes ltrace's command line (options end at COMMAND, attached values): rewritten here into
    /// what ArgumentParser parses (TraceArguments).
    static func normalised(_ arguments: [String]) -> [String] {
        guard arguments.first == TraceCommand.configuration.commandName else { return arguments }
        return [arguments[0]] + TraceArguments.normalise(Array(arguments.dropFirst()))
    }
}
