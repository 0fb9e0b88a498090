import ArgumentParser
import Foundation
import InProcess
import Prototypes
import TraceModel
import Tracer

/// `linkscope trace [ltrace flags] -- COMMAND [ARGS...]` or `linkscope trace -p PID`: runs COMMAND (or
/// attaches to PID) under the PLT breakpoint engine and prints its library calls as ltrace does. Exits with
/// the program's own status (128+N when signal N killed it; 0 when the trace detached from a PID); 127 when
/// COMMAND cannot be found, 126 when it cannot be executed or traced or PID cannot be attached to, 2 for bad
/// usage.
public struct TraceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace the library calls a program makes.",
        usage: """
        linkscope trace [<options>] [--] COMMAND [ARGS ...]
        linkscope trace [<options>] -p PID [-p PID ...] [--duration SECONDS]
        """,
        discussion: """
        Options end at COMMAND, as for ltrace: `linkscope trace -e strlen ls -l` passes -l to ls. Short \
        options take attached values (-s8, -ofile, -emalloc) and bundle (-fc, -tt).

        Threads are always traced. With -p, ^C, SIGTERM, SIGHUP or --duration detach: every breakpoint and \
        return address is put back and the program runs on.

        Exit status: the traced program's own (128+N when signal N killed it; 0 after detaching from -p \
        processes that still run); 127 when COMMAND is not found, 126 when it cannot be executed or traced \
        or a PID cannot be attached to, 2 for bad usage.
        """
    )

    // Values are taken `.unconditional`ly, as getopt takes them: `-e -malloc` is the expression `-malloc`.
    // TraceArguments.normalise has already detached `-s8` and put `--` before the command.
    @Option(name: .customShort("e"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Filter expression (ltrace -e syntax); repeatable.", valueName: "EXPR"))
    var expressions: [String] = []
    @Option(name: [.customShort("l"), .customLong("library")], parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Trace calls into libraries whose soname matches LIB; repeatable.", valueName: "LIB"))
    var libraries: [String] = []
    @Flag(name: .customShort("L"), help: "Do not trace calls made through the main program's PLT (libraries' calls only).")
    var notMainProgram = false
    @Option(name: .customShort("x"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Function-entry breakpoints (not supported: PLT calls only).", valueName: "SYM"))
    var entryPoints: [String] = []
    @Option(name: [.customShort("o"), .customLong("output")], parsing: .unconditional,
            help: ArgumentHelp("Write the trace to FILE instead of stderr.", valueName: "FILE"))
    var outputFile: String?
    @Flag(name: [.customShort("c"), .customLong("summary")], help: "Print a summary table of calls when the program ends.")
    var summary = false
    @Option(name: .customShort("s"), parsing: .unconditional, help: ArgumentHelp("Longest string shown.", valueName: "N"))
    var stringLimit: Int = 32
    @Option(name: .customShort("A"), parsing: .unconditional, help: ArgumentHelp("Most array elements shown.", valueName: "N"))
    var arrayLimit: Int = 4
    @Option(name: [.customShort("n"), .customLong("indent")], parsing: .unconditional,
            help: ArgumentHelp("Indent nested calls by N spaces per level.", valueName: "N"))
    var indent: Int = 0
    @Option(name: [.customShort("a"), .customLong("align")], parsing: .unconditional,
            help: ArgumentHelp("Put the = of results in COLUMN, as ltrace -a counts it.", valueName: "COLUMN"))
    var align: Int = TraceCommand.ltraceDefaultAlign
    @Flag(name: .customShort("t"), help: "Prefix lines with the time of day (-tt: with microseconds, -ttt: seconds since the epoch).")
    var timestamps: Int
    @Flag(name: .customShort("r"), help: "Prefix lines with the time since the previous line.")
    var relative = false
    @Flag(name: .customShort("T"), help: "Show the time spent inside each call.")
    var callDuration = false
    @Flag(name: .customShort("i"), help: "Show the call site of each call.")
    var callSite = false
    @Flag(name: [.customShort("C"), .customLong("demangle")], help: "Demangle C++ names.")
    var demangle = false
    @Flag(name: [.customShort("b"), .customLong("no-signals")], help: "Do not print signals (--- SIGNAL --- lines).")
    var noSignals = false
    @Flag(name: .customShort("f"), help: "Also trace the processes the program forks, vforks and spawns (after exec too), lines prefixed [pid N].")
    var follow = false
    @Option(name: .customShort("p"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Attach to the running process PID (every thread); repeatable.", valueName: "PID"))
    var pids: [Int32] = []
    @Option(name: .customLong("duration"), parsing: .unconditional,
            help: ArgumentHelp("With -p: detach after SECONDS.", valueName: "SECONDS"))
    var duration: Double?
    @Option(name: [.customShort("F"), .customLong("config")], parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Read prototypes from an ltrace.conf FILE; repeatable.", valueName: "FILE"))
    var prototypeFiles: [String] = []
    @Flag(name: .long, help: "One JSON object per event instead of ltrace text.")
    var json = false
    @Option(name: .customLong("engine"), parsing: .unconditional,
            help: ArgumentHelp("auto (in-process where it can serve, else ptrace), inproc or ptrace.", valueName: "ENGINE"))
    var engineChoice: EngineChoice = EngineChoice.fromEnvironment
    @Flag(name: .customLong("engine-stats"), help: "At the end, print the engine's stop counters to stderr.")
    var engineStats = false
    @Flag(name: .customShort("V"), help: "Print linkscope's version and exit (also --version).")
    var printVersion = false
    @Argument(parsing: .postTerminator, help: "The command to run and its arguments (options end at COMMAND; -- is optional).")
    var command: [String] = []

    public init() {}

    public func validate() throws {
        if printVersion { return }
        if command.isEmpty && pids.isEmpty { throw ValidationError("trace needs a COMMAND to run, or -p PID") }
        if !command.isEmpty && !pids.isEmpty { throw ValidationError("trace takes a command or -p PID, not both") }
        if let bad = pids.first(where: { $0 <= 0 }) { throw ValidationError("-p takes a process id, not \(bad)") }
        if let duration {
            if pids.isEmpty { throw ValidationError("--duration applies to -p only") }
            if !(duration > 0) || !duration.isFinite { throw ValidationError("--duration takes a positive number of seconds") }
        }
        if stringLimit < 0 || arrayLimit < 0 || indent < 0 || align < 0 {
            throw ValidationError("-s, -A, -n and -a take a non-negative number")
        }
        if !entryPoints.isEmpty { throw ValidationError("-x (function-entry breakpoints) is not supported: linkscope traces PLT calls") }
    }

    public func run() throws {
        if printVersion {
            print(LinkscopeCommand.configuration.version)
            Foundation.exit(0)
        }
        let status = runTrace()
        Foundation.exit(status)
    }

    private func fail(_ message: String, status: Int32) -> Int32 {
        FileHandle.standardError.write(Data("linkscope: \(message)\n".utf8))
        return status
    }

    /// Everything `run` does, returning the exit status (tests of the command call the built executable).
    func runTrace() -> Int32 {
        let filter: CallFilter
        do { filter = try CallFilter(expressions: expressions, libraries: libraries, excludingMainProgram: notMainProgram) } catch {
            return fail(error.description, status: ExitStatus.cannotAnalyse)
        }
        var library = PrototypeLibrary.builtin
        for path in prototypeFiles {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                return fail("cannot read prototype file \(path)", status: ExitStatus.cannotAnalyse)
            }
            for diagnostic in library.load(text, file: path) {
                FileHandle.standardError.write(Data("linkscope: \(diagnostic)\n".utf8))
            }
        }
        let target: TraceConfiguration.Target
        var programName = ""
        if pids.isEmpty {
            guard let executable = Self.resolve(command[0]) else {
                return fail("cannot execute \(command[0]): No such file or directory", status: 127)
            }
            target = .launch(executable: executable, arguments: command,
                             environment: ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" })
            programName = (executable as NSString).lastPathComponent
        } else {
            target = .attach(pids: pids)
        }

        let output: TraceOutput
        if let outputFile {
            do { output = try TraceOutput.file(outputFile) } catch {
                return fail(error.description, status: ExitStatus.cannotAnalyse)
            }
        } else {
            output = TraceOutput.standardError()
        }
        var options = TraceRenderOptions()
        options.stringLimit = stringLimit
        options.arrayLimit = arrayLimit
        options.indent = indent
        options.alignColumn = Self.renderColumn(align: align)
        options.showSignals = !noSignals
        options.timestamps = [.none, .time, .timeMicroseconds, .epochMicroseconds][min(timestamps, 3)]
        options.relativeTimestamps = relative
        options.showCallDuration = callDuration
        options.showCallSite = callSite
        options.demangle = demangle
        options.showCallerOfMainProgram = !expressions.isEmpty || !libraries.isEmpty
        options.mainProgramName = programName
        // ltrace -f prefixes every line; several processes attached to are told apart the same way.
        if follow || Set(pids).count > 1 { options.processPrefix = .always }
        // A process attached to with threads already running: every line says which thread, from the first.
        if let pid = pids.first, ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"))?.count ?? 0) > 1 {
            options.processPrefix = .always
        }
        let renderer: TraceRenderer
        if summary { renderer = SummaryRenderer(output: output) }
        else if json { renderer = JSONLinesRenderer(output: output, showSignals: !noSignals) }
        else { renderer = LtraceTextRenderer(output: output, options: options) }

        let configuration = TraceConfiguration(
            target: target, followForks: follow, duration: duration, filter: filter,
            decoder: CallDecoder(stringLimit: stringLimit, arrayLimit: arrayLimit, library: library))
        let engine: any TraceEngine
        switch engineChoice {
        case .ptrace: engine = TraceSession(configuration: configuration)
        case .inproc:
            if let reason = InProcessEngine.unsupportedReason(configuration) {
                return fail("the in-process engine cannot trace this: \(reason)", status: 126)
            }
            engine = InProcessEngine(configuration: configuration)
        case .auto:
            engine = InProcessEngine.unsupportedReason(configuration) == nil
                ? InProcessEngine(configuration: configuration) : TraceSession(configuration: configuration)
        }
        let outcome: ProgramOutcome
        do {
            outcome = try engine.run(events: { renderer.render($0) }, diagnostics: { message in
                output.flush()
                FileHandle.standardError.write(Data("linkscope: \(message)\n".utf8))
            })
        } catch {
            renderer.finish()
            switch error {
            case .cannotExecute(_, let errno) where errno.rawValue == ENOENT: return fail(error.description, status: 127)
            default: return fail(error.description, status: 126)
            }
        }
        renderer.finish()
        if engineStats {
            FileHandle.standardError.write(Data("linkscope: engine: \(engine.statistics) [\(engine.name)]\n".utf8))
        }
        return outcome.shellStatus
    }

    /// ltrace's default `-a` (its DEFAULT_ALIGN).
    static let ltraceDefaultAlign = 50

    /// Where the renderer pads a call to before ` = `: ltrace's `-a N` puts the `=` in column N (1-based),
    /// which is padding to N-2 columns (measured against ltrace 0.7.3 for N = 10, 24, 25, 30, 40 and 50).
    static func renderColumn(align: Int) -> Int { max(0, align - 2) }

    /// COMMAND as a shell finds it: a name with a slash is a path, others are looked up in PATH.
    static func resolve(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.fileExists(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// `--engine`: which trace engine runs the trace.
enum EngineChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, inproc, ptrace

    /// The default: `LINKSCOPE_TRACE_ENGINE` when set (the test matrix runs every trace test with `ptrace`
    /// as well as with `auto`), else auto.
    static var fromEnvironment: EngineChoice {
        ProcessInfo.processInfo.environment["LINKSCOPE_TRACE_ENGINE"].flatMap(EngineChoice.init(rawValue:)) ?? .auto
    }
}
