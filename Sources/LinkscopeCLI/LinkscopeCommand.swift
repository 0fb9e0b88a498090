import ArgumentParser

/// The `linkscope` command and its subcommands. `main.swift` only calls `main()`; tests import this.
public struct LinkscopeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "linkscope",
        abstract: "See what the dynamic linker loads for a program, and which library calls it makes.",
        subcommands: [DepsCommand.self, TraceCommand.self, CheckCommand.self]
    )

    public init() {}
}
