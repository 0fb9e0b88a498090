import ArgumentParser
import Check
import Glibc
import Linker

public struct CheckCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Find every program in a root filesystem or container image that the loader would refuse.",
        discussion: """
            Walks ROOT (or the PATHs inside it), parses every ELF program and shared object without running \
            anything, and resolves each as glibc's loader would inside ROOT: its ld.so.cache, ld.so.conf, \
            default directories, RPATH/RUNPATH and $ORIGIN, with absolute symlinks read inside ROOT.
            An image (a root tar, a docker save archive, an OCI layout directory or tar; gzip or zstd layers) \
            is read in place: its layers are applied in memory with OCI whiteouts, nothing is unpacked to \
            disk, no device is created and nothing is executed. Its config's Env (LD_LIBRARY_PATH) applies \
            and its Entrypoint/Cmd is checked first.
            Exit status: 0 clean, 1 problems found (warnings too with --strict), 2 the check could not run.
            """
    )

    @Option(name: .long, help: ArgumentHelp(
        "The root filesystem: a directory, a tar of one (docker export), a docker save archive, or an OCI layout (directory or tar). Default: this system.",
        valueName: "DIR|TAR|OCI|DOCKER-ARCHIVE"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("Which image of an archive or layout holding several (its RepoTags or ref.name).", valueName: "NAME:TAG"))
    var image: String?

    @Option(name: .long, help: ArgumentHelp("The platform to pick from a multi-platform index (default linux/amd64).", valueName: "OS/ARCH[/VARIANT]"))
    var platform: String?

    @Option(name: .customLong("add"), help: ArgumentHelp(
        "Check a host file as if copied into the image at PATH (default /usr/local/bin/NAME); repeatable. Without PATH arguments only the added files (and the entry point) are checked.",
        valueName: "HOST[:PATH]"))
    var additions: [String] = []

    @Option(name: .long, help: ArgumentHelp("A library the runtime supplies at start (NAME or NAME.so.N); its absence is not a problem. Repeatable.", valueName: "LIB"))
    var provided: [String] = []

    @Option(name: .long, help: ArgumentHelp("Libraries a container runtime injects: nvidia (the NVIDIA container toolkit's driver libraries). Repeatable.", valueName: "NAME"))
    var runtime: [String] = []

    @Flag(name: .long, help: "Print the JSON report (schema in the README) instead of the summary.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Also write a JUnit XML report to FILE.", valueName: "FILE"))
    var junit: String?

    @Option(name: .long, help: ArgumentHelp("Also write a SARIF 2.1.0 report (code scanning) to FILE.", valueName: "FILE"))
    var sarif: String?

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
        for name in runtime where RuntimeProfile.named(name) == nil {
            throw ValidationError("unknown --runtime '\(name)' (known: \(RuntimeProfile.all.map(\.name).joined(separator: ", ")))")
        }
        if let platform, platform.split(separator: "/", omittingEmptySubsequences: false).count < 2
            || platform.split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            throw ValidationError("--platform must be OS/ARCH or OS/ARCH/VARIANT, not '\(platform)'")
        }
        for addition in additions where addition.isEmpty || addition.hasPrefix(":") {
            throw ValidationError("--add needs a host file: HOST[:PATH]")
        }
    }

    public func run() throws {
        let progress: CheckProgressLine? = (noProgress || isatty(STDERR_FILENO) == 0) ? nil : CheckProgressLine()
        var options = CheckOptions(root: root, paths: paths)
        options.symbols = symbols
        options.crossesMounts = crossMounts
        options.jobs = jobs ?? SystemCalls.processorCount
        options.image = image
        options.platform = platform
        options.additions = additions.map(Addition.init(argument:))
        options.provided = provided
        options.runtimes = runtime.compactMap(RuntimeProfile.named)
        let report: CheckReport
        do {
            var onProgress: Checker.Progress?
            if let progress { onProgress = { done, total in progress.update(done, total) } }
            report = try Checker(options: options).run(progress: onProgress)
        } catch {
            progress?.finish()
            StandardStreams.error("linkscope check: \(error)\n")
            throw ExitCode(ExitStatus.cannotAnalyse)
        }
        progress?.finish()
        let text = json ? report.renderJSON() : report.renderText(filesPerCause: verbose ? Int.max : 8)
        StandardStreams.output(text)
        for (file, render) in [(junit, report.renderJUnit), (sarif, { report.renderSARIF() })] {
            guard let file else { continue }
            let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            let written = fd >= 0 && StandardStreams.write(render(), to: fd)
            let code = errno
            if fd >= 0 { close(fd) }
            guard written else {
                StandardStreams.error("linkscope check: cannot write \(file): \(String(cString: strerror(code)))\n")
                throw ExitCode(ExitStatus.cannotAnalyse)
            }
        }
        let status = report.exitStatus(strict: strict)
        if status != 0 { throw ExitCode(status) }
    }
}
