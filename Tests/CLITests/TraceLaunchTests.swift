import Foundation
import Testing
import TestSupport

/// How `linkscope trace COMMAND` starts COMMAND (issue 10): exactly as a shell would start it untraced. The
/// fixture `launchstate` prints what a program inherits (argv and environment bytes, SigBlk/SigIgn, cwd,
/// umask, rlimits, open descriptors), and in its other role starts a command in a chosen state, as a shell
/// would; each test compares the traced start with the untraced one, on both engines.
@Suite struct TraceLaunchTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    private var launchstate: String { fixtures.appendingPathComponent("launchstate").path }

    static let engines = ["ptrace", "inproc"]

    /// Words in hex, as `launchstate SETUP -- HEX...` takes them (Foundation's Process passes only UTF-8).
    private static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    private static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    /// A shell's start of `words` in the state `setup` describes (launchstate's SETUP options); the test
    /// runner's own signal mask is not inherited (launchstate sets the mask it is told).
    private func start(_ setup: [String], _ words: [[UInt8]], directory: String? = nil) -> TestSupport.Output {
        TestSupport.run([launchstate] + setup + ["--"] + words.map(Self.hex), directory: directory)
    }

    /// `linkscope trace --engine ENGINE -o /dev/null WORDS` as `start` starts it.
    private func startTraced(_ engine: String, _ setup: [String], _ words: [[UInt8]], options: [String] = [],
                             directory: String? = nil) -> TestSupport.Output {
        let linkscope = [TestSupport.linkscopeExecutable, "trace", "--engine", engine] + options
        return start(setup, linkscope.map { Array($0.utf8) } + words, directory: directory)
    }

    /// The environment a shell would hand over that a String dictionary cannot: a name twice, an entry
    /// without `=`, bytes that are not UTF-8, and the order (not sorted).
    static let awkwardEnvironment: [[UInt8]] = [
        Array("ZED=last-name-first".utf8), Array("A=1".utf8), Array("A=2".utf8), Array("NO_EQUALS_SIGN".utf8),
        Array("LATIN=caf".utf8) + [0xe9], [0x4e, 0xff, 0x3d, 0x31], Array("EMPTY=".utf8), Array("PATH=/usr/bin:/bin".utf8),
    ]

    /// 33 is glibc's SIGSETXID: ignored by whoever started linkscope, it is ignored in the program too.
    static let setup: [String] = [
        "--block", "USR1,RTMIN+3", "--ignore", "PIPE,HUP,INT,QUIT,USR2,TERM,33", "--umask", "027", "--nofile", "512",
    ] + awkwardEnvironment.flatMap { ["--env", hex($0)] }

    @Test(arguments: engines)
    func theProgramInheritsWhatItWouldUntraced(engine: String) throws {
        let directory = try TestSupport.temporaryDirectory("trace-launch").resolvingSymlinksInPath().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let words: [[UInt8]] = [Array(launchstate.utf8), Array("latin1-".utf8) + [0xe9, 0x2e], Array("".utf8), Array("two words".utf8)]
        let untraced = start(Self.setup, words, directory: directory)
        try #require(untraced.status == 0, "\(untraced.stderr)")
        // What the fixture must have seen for the comparison to mean anything.
        for fact in ["argv[1] latin1-\\xe9.", "env A=1\nenv A=2\nenv NO_EQUALS_SIGN", "env N\\xff=1", "SigBlk:\t0000001000000200",
                     "SigIgn:\t0000000100005807", "umask 027", "rlimit nofile 512 "] {
            #expect(untraced.stdout.contains(fact), "\(fact) not in:\n\(untraced.stdout)")
        }
        #expect(untraced.stdout.contains("env ZED=last-name-first\nenv A=1"))

        let traced = startTraced(engine, Self.setup, words, options: ["-o", "/dev/null"], directory: directory)
        #expect(traced.status == 0, "\(traced.stderr)")
        var seen = traced.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if engine == "inproc" {
            // The agent's LD_AUDIT=/proc/self/fd/N entry is blanked in place, after the program's own: the
            // program's environ does not have it, but /proc/self/environ still spans its bytes (the kernel's
            // env_end cannot move without CAP_SYS_RESOURCE), which read as that many empty entries at the end.
            guard let lastEnvironment = seen.lastIndex(where: { $0.hasPrefix("env ") }) else {
                Issue.record("no environment in:\n\(traced.stdout)")
                return
            }
            var blanks = 0
            while seen[lastEnvironment - blanks] == "env " { blanks += 1 }
            #expect((24...27).contains(blanks), "\(blanks) blank entries")
            seen.removeSubrange((lastEnvironment - blanks + 1)...lastEnvironment)
        }
        #expect(seen.joined(separator: "\n") == untraced.stdout)
    }

    /// A program whose file name is not UTF-8 (`trace -- ./pie$'\xff'`) is found, started and traced.
    @Test(arguments: engines)
    func aProgramPathThatIsNotUTF8(engine: String) throws {
        let directory = try TestSupport.temporaryDirectory("trace-latin").resolvingSymlinksInPath().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let name = Array("launchstate".utf8) + [0xff]
        let copy = start([], [Array("/bin/cp".utf8), Array(launchstate.utf8), Array((directory + "/").utf8) + name])
        try #require(copy.status == 0, "\(copy.stderr)")
        let trace = directory + "/trace.txt"
        let traced = startTraced(engine, [], [Array("./".utf8) + name, Array("x".utf8)],
                                 options: ["-o", trace, "-e", "getcwd"], directory: directory)
        #expect(traced.status == 0, "\(traced.stderr)")
        #expect(traced.stdout.hasPrefix("argv[0] ./launchstate\\xff\nargv[1] x\n"), "\(traced.stdout)")
        let lines = (try? String(contentsOfFile: trace, encoding: .utf8))?.split(separator: "\n") ?? []
        #expect(lines.contains { $0.contains("getcwd(") && $0.contains("= \"\(directory)\"") }, "\(lines)")
        #expect(!traced.stderr.contains("matched no PLT slot"), "\(traced.stderr)")
    }

    /// COMMAND without a slash is looked up in PATH as bash does: directories and files without execute
    /// permission are passed over; 127 when nothing is found, 126 (Permission denied) when only a file that
    /// cannot be executed was.
    @Test(arguments: engines)
    func pathLookupSkipsDirectoriesAndFilesThatCannotRun(engine: String) throws {
        let root = try TestSupport.temporaryDirectory("trace-path").resolvingSymlinksInPath().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = FileManager.default
        for name in ["plain", "directory", "real"] { try files.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true) }
        try files.createDirectory(atPath: "\(root)/directory/launchstate", withIntermediateDirectories: true)
        files.createFile(atPath: "\(root)/plain/launchstate", contents: Data("#!/bin/sh\necho wrong\n".utf8), attributes: [.posixPermissions: 0o644])
        try files.copyItem(atPath: launchstate, toPath: "\(root)/real/launchstate")

        func run(path: String) -> TestSupport.Output {
            startTraced(engine, ["--env", Self.hex("PATH=\(path)")], [Array("launchstate".utf8)], options: ["-o", "/dev/null"])
        }
        let found = run(path: "\(root)/directory:\(root)/plain:\(root)/real")
        #expect(found.status == 0, "\(found.stderr)")
        #expect(found.stdout.hasPrefix("argv[0] launchstate\n"), "\(found.stdout)")

        let denied = run(path: "\(root)/directory:\(root)/plain")
        #expect(denied.status == 126)
        #expect(denied.stderr.contains("\(root)/plain/launchstate: Permission denied"), "\(denied.stderr)")

        let missing = run(path: "\(root)/directory")
        #expect(missing.status == 127)
        #expect(missing.stderr.contains("launchstate: No such file or directory"), "\(missing.stderr)")
    }
}
