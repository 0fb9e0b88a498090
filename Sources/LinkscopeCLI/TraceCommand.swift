import ArgumentParser

public struct TraceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace the library calls a program makes."
    )
    @Argument(parsing: .postTerminator, help: "The command to run.") var command: [String] = []
    public init() {}
    public func run() throws {
        throw CleanExit.message("trace: not built yet")
    }
}
