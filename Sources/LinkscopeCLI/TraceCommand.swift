import ArgumentParser
import ELF
import Glibc
import Linker
import InProcess
import Prototypes
import TraceModel
import Tracer

/// `linkscope trace [ltrace flags] [--] COMMAND [ARGS...]` or `linkscope trace -p PID`: runs COMMAND (or
/// attaches to PID) under a trace engine and prints its library calls as ltrace does. Exits with the
/// program's own status (128+N when signal N killed it; 0 when the trace detached from a PID); 127 when
/// COMMAND cannot be found, 126 when it cannot be executed or traced or PID cannot be attached to, 125 when
/// the trace could not be written, 2 for bad usage.
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
        or a PID cannot be attached to, 125 when the trace could not be written, 2 for bad usage.
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
    @Flag(name: .customShort("S"), help: "Also show system calls (SYS_openat(...) = -1 ENOENT ...), ptrace engine.")
    var systemCalls = false
    @Flag(name: [.customShort("b"), .customLong("no-signals")], help: "Do not print signals (--- SIGNAL --- lines).")
    var noSignals = false
    @Flag(name: .customShort("f"), help: "Also trace the processes the program forks, vforks and spawns (after exec too), lines prefixed [pid N].")
    var follow = false
    @Option(name: .customShort("p"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Attach to the running process PID (every thread); repeatable.", valueName: "PID"))
    var pids: [Int32] = []
    @Option(name: .customShort("u"), parsing: .unconditional,
            help: ArgumentHelp("Run COMMAND as USER (its uid, gid and groups; as root, ptrace engine).", valueName: "USER"))
    var user: String?
    @Option(name: .customLong("duration"), parsing: .unconditional,
            help: ArgumentHelp("With -p: detach after SECONDS.", valueName: "SECONDS"))
    var duration: Double?
    @Option(name: [.customShort("F"), .customLong("config")], parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Read prototypes from an ltrace.conf FILE; repeatable.", valueName: "FILE"))
    var prototypeFiles: [String] = []
    @Flag(name: .long, help: "One JSON object per event instead of ltrace text.")
    var json = false
    @Option(name: .customLong("engine"), parsing: .unconditional,
            help: ArgumentHelp("auto (in-process where it can serve, else ptrace), inproc (launched glibc programs) or ptrace.", valueName: "ENGINE"))
    var engineChoice: EngineChoice = .auto
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
        if user != nil && !pids.isEmpty { throw ValidationError("-u applies to a COMMAND linkscope starts, not to -p") }
        if !entryPoints.isEmpty { throw ValidationError("-x (function-entry breakpoints) is not supported: linkscope traces PLT calls") }
    }

    public func run() throws {
        if printVersion {
            print(LinkscopeCommand.configuration.version)
            Glibc.exit(0)
        }
        let status = runTrace()
        Glibc.exit(status)
    }

    /// One line on stderr, written even when stderr is the closed pipe whose failure is being reported.
    static func say(_ message: String) {
        StandardStreams.error("linkscope: \(message)\n")
    }

    private func fail(_ message: String, status: Int32) -> Int32 {
        Self.say("\(message)")
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
                Self.say("\(diagnostic)")
            }
        }
        let target: TraceConfiguration.Target
        var programName = ""
        if pids.isEmpty {
            let launch: LaunchCommand
            do { launch = try LaunchCommand.resolve(arguments: Self.bytes(ofCommand: command), environment: SystemCalls.environmentEntries(),
                                                       signals: .atStartup) } catch {
                return fail(error.description, status: Self.status(ofFailedStart: error))
            }
            target = .launch(launch)
            programName = launch.displayPath.split(separator: "/").last.map(String.init) ?? launch.displayPath
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
        if let pid = pids.first, ((try? SystemCalls.directoryEntries("/proc/\(pid)/task"))?.count ?? 0) > 1 {
            options.processPrefix = .always
        }
        let renderer: TraceRenderer
        if summary { renderer = SummaryRenderer(output: output) }
        else if json { renderer = JSONLinesRenderer(output: output, showSignals: !noSignals) }
        else { renderer = LtraceTextRenderer(output: output, options: options) }

        var configuration = TraceConfiguration(
            target: target, followForks: follow, duration: duration, filter: filter,
            decoder: CallDecoder(stringLimit: stringLimit, arrayLimit: arrayLimit, library: library))
        configuration.traceSystemCalls = systemCalls
        var runAs: Credentials?
        if let user {
            guard geteuid() == 0 else {
                return fail("-u \(user): only root can start a program as another user", status: ExitStatus.cannotAnalyse)
            }
            do { runAs = try Credentials.of(user: user) } catch {
                return fail("-u: \(error)", status: ExitStatus.cannotAnalyse)
            }
        }
        // The in-process engine starts programs as linkscope's own user only.
        let inProcessReason = runAs != nil ? "-u needs the ptrace engine" : InProcessEngine.unsupportedReason(configuration)
        let engine: any TraceEngine
        switch engineChoice {
        case .ptrace: engine = TraceSession(configuration: configuration, runAs: runAs)
        case .inproc:
            if let inProcessReason {
                return fail("the in-process engine cannot trace this: \(inProcessReason)", status: 126)
            }
            engine = InProcessEngine(configuration: configuration)
        case .auto:
            engine = EngineChoice.autoPrefersInProcess && inProcessReason == nil
                ? InProcessEngine(configuration: configuration) : TraceSession(configuration: configuration, runAs: runAs)
        }
        // The in-process engine's events come in bursts drained from the program's rings: coalesce them.
        output.coalesceStreams = engine is InProcessEngine
        TraceCommand.catchBrokenPipes()
        if case .launch = target { TraceSignalNet.install() }
        // A failed write is said once, when it happens (the trace goes on unwritten); the status says it too.
        var reportedWriteError = false
        func reportWriteError() {
            guard !reportedWriteError, let failure = output.writeError else { return }
            reportedWriteError = true
            Self.say("\(failure)")
        }
        let outcome: ProgramOutcome
        do {
            outcome = try engine.run(events: { event in
                renderer.render(event)
                output.endOfEvent()
                if !reportedWriteError { reportWriteError() }
            }, diagnostics: { message in
                output.flush()
                Self.say("\(message)")
            })
        } catch {
            renderer.finish()
            output.close()
            return fail(error.description, status: Self.status(ofFailedStart: error))
        }
        renderer.finish()
        output.close()
        reportWriteError()
        if engineStats {
            Self.say("engine: \(engine.statistics) [\(engine.name)]")
        }
        if output.writeError != nil { return Self.traceNotWritten }
        return outcome.shellStatus
    }

    /// The exit status when the trace could not be written (the program itself ran to its end): 125, which
    /// env, timeout and docker use for "the tool itself failed", beside 126/127.
    static let traceNotWritten: Int32 = 125

    /// A closed pipe on the trace output must be a write error that is reported, not a SIGPIPE that kills
    /// linkscope (and with it a launched program). A caught signal is reset by exec, so programs linkscope
    /// starts still get SIGPIPE's default; an ignored one is left as inherited.
    static func catchBrokenPipes() {
        var current = sigaction()
        sigaction(SIGPIPE, nil, &current)
        guard current.__sigaction_handler.sa_handler == nil else { return }  // SIG_DFL is 0
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(SIGPIPE, &action, nil)
    }

    /// ltrace's default `-a` (its DEFAULT_ALIGN).
    static let ltraceDefaultAlign = 50

    /// Where the renderer pads a call to before ` = `: ltrace's `-a N` puts the `=` in column N (1-based),
    /// which is padding to N-2 columns (measured against ltrace 0.7.3 for N = 10, 24, 25, 30, 40 and 50).
    static func renderColumn(align: Int) -> Int { max(0, align - 2) }

    /// A shell's status for a command it could not start: 127 when it was not found, 126 otherwise.
    static func status(ofFailedStart error: TraceError) -> Int32 {
        if case .cannotExecute(_, let errno) = error, errno.rawValue == ENOENT { return 127 }
        return 126
    }

    /// COMMAND's words as the bytes linkscope was given: `runMain` hands argv over as `RawBytes` strings,
    /// which keep bytes that are not UTF-8.
    static func bytes(ofCommand words: [String]) -> [[UInt8]] { words.map(RawBytes.bytes) }
}

/// `--engine`: which trace engine runs the trace.
enum EngineChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, inproc, ptrace

    /// Whether `auto` takes the in-process engine where it can serve (a launched, dynamically linked glibc
    /// program, `-f` or not): yes, unless `LINKSCOPE_TRACE_ENGINE=ptrace` says otherwise (the test matrix runs
    /// every trace test once with each engine; README, "The in-process engine").
    static var autoPrefersInProcess: Bool { SystemCalls.environment()["LINKSCOPE_TRACE_ENGINE"] != "ptrace" }
}
