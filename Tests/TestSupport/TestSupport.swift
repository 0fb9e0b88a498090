import Foundation

/// Shared by every test target: where the package is, the built `linkscope` executable, the C fixtures of
/// `TestBinaries/` (compiled once per test run), and a way to run a command and capture what it printed.
public enum TestSupport {
    /// The package root, found from this file's own path so it works in any clone.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.build/<triple>/debug/linkscope`, next to the test bundle `swift test` runs.
    public static let linkscopeExecutable: String = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        // The runner may be inside the `.xctest` bundle folder on some layouts.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("linkscope").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/linkscope").path
    }()

    /// The folder `TestBinaries/build.sh` compiled the fixtures into; each area has a subfolder
    /// (`deps/`, `trace/`, ...). Built once per process; the script itself takes a lock, so parallel test
    /// processes do not race.
    public static var testBinaries: URL {
        get throws { try builtTestBinaries.get() }
    }

    private static let builtTestBinaries: Result<URL, TestSupportError> = {
        let output = packageRoot.appendingPathComponent(".build/testbinaries")
        let script = packageRoot.appendingPathComponent("TestBinaries/build.sh").path
        let result = run(["/bin/bash", script, output.path])
        guard result.status == 0 else {
            return .failure(TestSupportError("TestBinaries/build.sh failed (\(result.status)):\n\(result.stderr)"))
        }
        return .success(output)
    }()

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// True when the process was killed by a signal; `status` is then the signal number.
        public var killedBySignal: Bool
    }

    /// Runs `arguments[0]` with the rest as arguments, waits, and returns its status and output.
    /// `environment` entries are added to (or, with a nil value, removed from) the current environment.
    /// A process still running after `timeout` seconds is killed (SIGKILL) and reported as such.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String?] = [:],
                           directory: String? = nil, input: Data? = nil,
                           timeout: TimeInterval = 300) -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        do { try start(process) } catch {
            return Output(status: 127, stdout: "", stderr: "cannot run \(arguments[0]): \(error)", killedBySignal: false)
        }
        // A hang (a tracer bug, a stopped tracee) must fail the test, not stall CI: SIGKILL after `timeout`.
        // linkscope's tracees die with it (PTRACE_O_EXITKILL).
        let pid = process.processIdentifier
        let watchdog = DispatchSource.makeTimerSource(queue: .global())
        watchdog.schedule(deadline: .now() + timeout)
        watchdog.setEventHandler { kill(pid, SIGKILL) }
        watchdog.resume()
        defer { watchdog.cancel() }
        if let input { inPipe.fileHandleForWriting.write(input) }
        try? inPipe.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = errPipe.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self),
                      killedBySignal: process.terminationReason == .uncaughtSignal)
    }

    /// Starts `process` as a shell starts a command: with no signal blocked. A test runs on a worker thread
    /// that blocks signals, the spawn inherits the calling thread's mask, and a mask survives fork and exec
    /// (linkscope passes the one it was started with on to the program it traces, as a shell would). Every
    /// test that starts a process starts it here.
    public static func start(_ process: Process) throws {
        var none = sigset_t(), previous = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try process.run()
    }

    /// Runs the built `linkscope` with `arguments`.
    @discardableResult
    public static func linkscope(_ arguments: [String], environment: [String: String?] = [:],
                                 directory: String? = nil) -> Output {
        run([linkscopeExecutable] + arguments, environment: environment, directory: directory)
    }

    /// A fresh temporary directory, removed by the caller (or left for the OS to clean).
    public static func temporaryDirectory(_ label: String = "linkscope-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

public struct TestSupportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
