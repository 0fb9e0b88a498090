import ArgumentParser

public struct CheckCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Find every program in a root filesystem that the loader would refuse."
    )
    @Argument(help: "Paths inside the root to check.") var paths: [String] = []
    public init() {}
    public func run() throws {
        throw CleanExit.message("check: not built yet")
    }
}
