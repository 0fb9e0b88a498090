import Glibc

/// A program to start, as the shell handed it to linkscope (shared/DESIGN.md, decision 8: the traced program
/// is exactly as untraced). argv and the environment are the bytes given, in order: never decoded into Swift
/// strings (a name that is not UTF-8 would be "repaired"), never put through a dictionary (order, duplicate
/// names and entries without `=` would be lost). The signal state is the one linkscope itself was started
/// with, whatever linkscope does to its own since. Both engines start the program from this value.
public struct LaunchCommand: Hashable, Sendable {
    /// The file given to execve: COMMAND itself when it has a slash, else where execvp's PATH search found it.
    public var executable: [UInt8]
    /// argv, argv[0] included.
    public var arguments: [[UInt8]]
    /// The environment, entry by entry.
    public var environment: [[UInt8]]
    /// The signal mask and ignored signals the program starts with.
    public var signals: InheritedSignals
    /// A path that opens `executable` from Swift (ELF reading, messages): the path itself when it is UTF-8,
    /// else `/proc/self/fd/N` of a descriptor held on it (see `resolve`).
    public var readablePath: String

    public init(executable: [UInt8], arguments: [[UInt8]], environment: [[UInt8]],
                signals: InheritedSignals, readablePath: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.signals = signals
        self.readablePath = readablePath ?? String(decoding: executable, as: UTF8.self)
    }

    /// The command's file name as a user reads it (not UTF-8: with replacement characters).
    public var displayPath: String { String(decoding: executable, as: UTF8.self) }

    /// Finds `arguments[0]` as execvp does and returns the command to start, with `environment`. A name with
    /// a slash is the file itself; another is looked up in the environment's PATH (glibc's default
    /// `/bin:/usr/bin` without one; an empty element is the current directory), skipping what is not there,
    /// directories and files that are not executable, as bash does. Throws `.cannotExecute` with ENOENT when nothing was
    /// found (a shell's 127) and EACCES when only files that cannot be executed were (126).
    public static func resolve(arguments: [[UInt8]], environment: [[UInt8]],
                               signals: InheritedSignals) throws(TraceError) -> LaunchCommand {
        precondition(!arguments.isEmpty, "a command has at least its name")
        let name = arguments[0]
        let executable: [UInt8]
        if name.contains(UInt8(ascii: "/")) {
            executable = name
        } else {
            let search = environment.last { $0.starts(with: Array("PATH=".utf8)) }.map { Array($0.dropFirst(5)) }
                ?? Array("/bin:/usr/bin".utf8)
            var deniedAt: [UInt8]?
            var found: [UInt8]?
            for directory in search.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false) {
                let candidate = (directory.isEmpty ? Array(".".utf8) : Array(directory)) + [UInt8(ascii: "/")] + name
                switch Self.executability(of: candidate) {
                case .executable: found = candidate
                case .notExecutable: deniedAt = deniedAt ?? candidate
                case .absent: break
                }
                if found != nil { break }
            }
            guard let found else {
                if let deniedAt { throw .cannotExecute(path: String(decoding: deniedAt, as: UTF8.self), errno: Errno(rawValue: EACCES)) }
                throw .cannotExecute(path: String(decoding: name, as: UTF8.self), errno: Errno(rawValue: ENOENT))
            }
            executable = found
        }
        return LaunchCommand(executable: executable, arguments: arguments, environment: environment,
                             signals: signals, readablePath: Self.readablePath(of: executable))
    }

    private enum Executability { case executable, notExecutable, absent }

    /// What a PATH search makes of `path`. As bash's: a directory is not a command (skipped; glibc's execvp
    /// would remember its EACCES), a file without execute permission is skipped but remembered (126 if
    /// nothing else is found).
    private static func executability(of path: [UInt8]) -> Executability {
        path.withCString { pointer in
            var info = stat()
            guard stat(pointer, &info) == 0, info.st_mode & S_IFMT != S_IFDIR else { return .absent }
            return access(pointer, X_OK) == 0 ? .executable : .notExecutable
        }
    }

    /// `path` as a Swift string that opens the same file. A path that is not UTF-8 cannot be one: a
    /// descriptor on it (O_PATH: it opens nothing for reading, and close-on-exec: the program never sees it)
    /// is held for as long as linkscope runs and named through /proc/self/fd.
    private static func readablePath(of path: [UInt8]) -> String {
        if let text = String(validating: path, as: UTF8.self) { return text }
        let fd = path.withCString { open($0, 0o10000000 /* O_PATH: Glibc lacks _GNU_SOURCE */ | O_CLOEXEC) }
        return fd >= 0 ? "/proc/self/fd/\(fd)" : String(decoding: path, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// The bytes as a NUL-terminated C string for the length of `body`.
    fileprivate func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try (self + [0]).withUnsafeBufferPointer { bytes in
            try bytes.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }
}

/// `strings` as a NULL-terminated array of C strings (an argv or envp) for the length of `body`.
public func withCStringArray<R, E: Error>(_ strings: [[UInt8]],
                                          _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) throws(E) -> R) throws(E) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { bytes in
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        bytes.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(copy).copyMemory(from: raw.baseAddress ?? UnsafeRawPointer(copy), byteCount: raw.count)
        }
        copy[bytes.count] = 0
        return copy
    }
    pointers.append(nil)
    defer { for pointer in pointers { pointer?.deallocate() } }
    return try pointers.withUnsafeBufferPointer { buffer throws(E) in try body(buffer.baseAddress!) }
}

/// A set of signals 1...64, as the kernel's masks (`SigBlk:` in /proc/PID/status) hold them.
public struct SignalSet: Hashable, Sendable {
    /// Bit N-1 is signal N.
    public var bits: UInt64

    public init(bits: UInt64 = 0) { self.bits = bits }

    public init(_ signals: some Sequence<Int32>) {
        bits = 0
        for signal in signals { insert(signal) }
    }

    public func contains(_ signal: Int32) -> Bool { (1...64).contains(signal) && bits & (1 << UInt64(signal - 1)) != 0 }

    public mutating func insert(_ signal: Int32) {
        precondition((1...64).contains(signal), "signal \(signal) out of range")
        bits |= 1 << UInt64(signal - 1)
    }
}

/// The signal state a program inherits through fork and exec: the blocked mask and the ignored dispositions
/// (a caught signal is reset to its default by exec, so nothing else survives). `nohup` ignores SIGHUP, a
/// shell's background job SIGINT and SIGQUIT, `trap '' PIPE` SIGPIPE: a program started under linkscope
/// keeps each, as started without it.
public struct InheritedSignals: Hashable, Sendable {
    public var blocked: SignalSet
    public var ignored: SignalSet

    public init(blocked: SignalSet, ignored: SignalSet) {
        self.blocked = blocked
        self.ignored = ignored
    }

    /// Nothing blocked, nothing ignored: what a login shell gives a program.
    public static let defaults = InheritedSignals(blocked: SignalSet(), ignored: SignalSet())

}
