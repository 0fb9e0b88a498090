import ArgumentParser

public struct DepsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "deps",
        abstract: "Show the shared objects the dynamic linker would load, and why, without running anything."
    )
    @Argument(help: "ELF files to analyse.") var files: [String]
    public init() {}
    public func run() throws {
        throw CleanExit.message("deps: not built yet")
    }
}
