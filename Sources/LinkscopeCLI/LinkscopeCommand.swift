import ArgumentParser
import Foundation

/// The `linkscope` command and its subcommands. `main.swift` only calls `runMain()`; tests import this.
public struct LinkscopeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "linkscope",
        abstract: "See what the dynamic linker loads for a program, and which library calls it makes.",
        subcommands: [DepsCommand.self, TraceCommand.self, CheckCommand.self]
    )

    public init() {}

    /// Parses the command line and runs the chosen command. Bad usage exits 2, as the command-line contract
    /// says (ArgumentParser's own default would be 64); a command's own exit status passes through.
    public static func runMain(_ arguments: [String]? = nil) -> Never {
        do {
            var command = try parseAsRoot(arguments)
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
}
