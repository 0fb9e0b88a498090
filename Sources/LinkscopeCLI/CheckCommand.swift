import ArgumentParser
import Check
import Foundation

public struct CheckCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Find every program in a root filesystem that the loader would refuse.",
        discussion: """
            Walks ROOT (or the PATHs inside it), parses every ELF program and shared object without running \
            anything, and resolves each as glibc's loader would inside ROOT: its ld.so.cache, ld.so.conf, \
            default directories, RPATH/RUNPATH and $ORIGIN, with absolute symlinks read inside ROOT.
            Exit status: 0 clean, 1 problems found (warnings too with --strict), 2 the check could not run.
            """
    )

    @Option(name: .long, help: ArgumentHelp(
        "The root filesystem: a directory, or a tar archive of one (docker export). Default: this system.",
        valueName: "DIR|TAR"))
    var root: String?

    @Flag(name: .long, help: "Print the JSON report (schema in the README) instead of the summary.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Also write a JUnit XML report to FILE.", valueName: "FILE"))
    var junit: String?

    @Flag(name: .long, help: "Also report undefined symbols no loaded object defines (a static ldd -r).")
    var symbols = false

    @Flag(name: .long, help: "Exit 1 on warnings too (weak versions, shadowing wrong-arch libraries).")
    var strict = false

    @Flag(name: .customLong("cross-mounts"), help: "Descend into directories on other file systems.")
    var crossMounts = false

    @Option(name: [.short, .customLong("jobs")], help: "Worker threads (default: one per core).")
    var jobs: Int?

    @Flag(name: .customLong("no-progress"), help: "Do not draw the progress line, even on a terminal.")
    var noProgress = false

    @Flag(name: .shortAndLong, help: "List every affected file under each problem, not only the first few.")
    var verbose = false

    @Argument(help: ArgumentHelp("Paths inside the root to check (default: all of it).", valueName: "PATH"))
    var paths: [String] = []

    public init() {}

    public func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    public func run() throws {
        let progress: CheckProgressLine? = (noProgress || isatty(STDERR_FILENO) == 0) ? nil : CheckProgressLine()
        var options = CheckOptions(root: root, paths: paths)
        options.symbols = symbols
        options.crossesMounts = crossMounts
        options.jobs = jobs ?? max(ProcessInfo.processInfo.activeProcessorCount, 1)
        let report: CheckReport
        do {
            var onProgress: Checker.Progress?
            if let progress { onProgress = { done, total in progress.update(done, total) } }
            report = try Checker(options: options).run(progress: onProgress)
        } catch {
            progress?.finish()
            FileHandle.standardError.write(Data("linkscope check: \(error)\n".utf8))
            throw ExitCode(ExitStatus.cannotAnalyse)
        }
        progress?.finish()
        let text = json ? report.renderJSON() : report.renderText(filesPerCause: verbose ? Int.max : 8)
        FileHandle.standardOutput.write(Data(text.utf8))
        if let junit {
            do {
                try Data(report.renderJUnit().utf8).write(to: URL(fileURLWithPath: junit))
            } catch {
                FileHandle.standardError.write(Data("linkscope check: cannot write \(junit): \(error.localizedDescription)\n".utf8))
                throw ExitCode(ExitStatus.cannotAnalyse)
            }
        }
        let status = report.exitStatus(strict: strict)
        if status != 0 { throw ExitCode(status) }
    }
}
