import TraceModel
import Glibc

/// What the engine reads from /proc (proc(5)): one reader per file, each returning nil (or throwing) when the
/// thread or process is gone, which is normal for a tracee that may end at any moment. Parsing is apart from
/// reading (`ProcStatus`, `AuxiliaryVector`), so it is tested on bytes.
public enum ProcFS {
    /// The value of one `Name:\tvalue` line of /proc/TID/status, nil when the thread is gone.
    static func statusField(_ name: String, of tid: pid_t) -> String? {
        guard let bytes = try? readWholeFile("/proc/\(tid)/status") else { return nil }
        return ProcStatus.field(name, in: bytes)
    }

    /// Tgid: the process (thread group) `tid` belongs to.
    public static func threadGroup(of tid: pid_t) -> pid_t? { statusField("Tgid", of: tid).flatMap { pid_t($0) } }

    /// TracerPid (0: not traced).
    static func tracer(of tid: pid_t) -> pid_t? { statusField("TracerPid", of: tid).flatMap { pid_t($0) } }

    /// State's first letter (`R`, `S`, `t` for a ptrace stop...), nil when the thread is gone.
    static func state(of tid: pid_t) -> String? { statusField("State", of: tid) }

    /// SigPnd: the signals pending for the thread itself, as a mask (bit N-1 for signal N).
    static func pendingSignals(of tid: pid_t) -> UInt64? {
        statusField("SigPnd", of: tid).flatMap { UInt64($0, radix: 16) }
    }

    /// The thread ids in /proc/PID/task, sorted; empty when the process is gone.
    static func threads(of group: pid_t) -> [pid_t] {
        guard let directory = opendir("/proc/\(group)/task") else { return [] }
        defer { closedir(directory) }
        var result: [pid_t] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let tid = pid_t(name) { result.append(tid) }
        }
        return result.sorted()
    }

    /// One value of /proc/PID/auxv, nil when absent or unreadable.
    static func auxiliaryValue(_ type: AuxiliaryVector.EntryType, of pid: pid_t) -> UInt64? {
        guard let bytes = try? readWholeFile("/proc/\(pid)/auxv") else { return nil }
        return AuxiliaryVector.value(of: type, in: bytes)
    }

    /// The program file of /proc/PID/exe.
    /// The program file of `pid` as a path that opens it: the file's own path when it is UTF-8, else
    /// /proc/PID/exe (a Swift string cannot hold the bytes; valid while the process lives).
    public static func executable(of pid: pid_t) -> String? {
        guard let bytes = try? readSymlinkBytes("/proc/\(pid)/exe") else { return nil }
        return String(validating: bytes, as: UTF8.self) ?? "/proc/\(pid)/exe"
    }

    /// The base name of `pid`'s program file, for display (bytes that are not UTF-8 replaced).
    public static func executableName(of pid: pid_t) -> String? {
        guard let bytes = try? readSymlinkBytes("/proc/\(pid)/exe") else { return nil }
        return String(decoding: bytes.split(separator: UInt8(ascii: "/")).last ?? [], as: UTF8.self)
    }

    /// /proc/PID/comm without its newline.
    static func commandName(of pid: pid_t) -> String? {
        (try? readWholeFile("/proc/\(pid)/comm")).map { String(decoding: $0, as: UTF8.self).strippingBlanks() }
    }

    /// kernel.yama.ptrace_scope, nil without Yama.
    static func ptraceScope() -> Int? {
        (try? readWholeFile("/proc/sys/kernel/yama/ptrace_scope"))
            .flatMap { Int(String(decoding: $0, as: UTF8.self).strippingBlanks()) }
    }

    /// A whole (small, /proc-sized) file, read to its end.
    static func readWholeFile(_ path: String) throws(Errno) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .current }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { result += buffer[..<n]; continue }
            if n == 0 { return result }
            if errno == EINTR { continue }
            throw .current
        }
    }

    /// The target of a symbolic link (a /proc magic link: at most PATH_MAX bytes).
    static func readSymlinkBytes(_ path: String) throws(Errno) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buffer, 4096)
        guard n > 0 else { throw .current }
        return buffer[..<n].map { UInt8(bitPattern: $0) }
    }
}

/// /proc/TID/status: `Name:\tvalue` lines.
enum ProcStatus {
    /// The value of the first `name:` line, without blanks at either end; nil when there is none.
    static func field(_ name: String, in bytes: [UInt8]) -> String? {
        let prefix = name + ":"
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
            return String(line.dropFirst(prefix.count)).strippingBlanks()
        }
        return nil
    }
}

/// /proc/PID/auxv: (type, value) pairs of native words, ended by AT_NULL (LP64: 16 bytes a pair).
enum AuxiliaryVector {
    /// An `AT_*` type of <elf.h>.
    struct EntryType: RawRepresentable, Hashable, Sendable {
        var rawValue: UInt64
        /// AT_NULL: the end of the vector.
        static let null = EntryType(rawValue: 0)
        /// AT_BASE: where the program's interpreter (the loader) is mapped.
        static let interpreterBase = EntryType(rawValue: 7)
        /// AT_ENTRY: the program's entry point.
        static let entry = EntryType(rawValue: 9)
    }

    static let pairSize = 16

    /// The value of the first pair of `type` before AT_NULL; a truncated last pair is ignored.
    static func value(of type: EntryType, in bytes: [UInt8]) -> UInt64? {
        var index = 0
        while index + pairSize <= bytes.count {
            var key: UInt64 = 0, value: UInt64 = 0
            for i in 0..<8 {
                key |= UInt64(bytes[index + i]) << (8 * UInt64(i))
                value |= UInt64(bytes[index + 8 + i]) << (8 * UInt64(i))
            }
            if key == type.rawValue { return value }
            if key == EntryType.null.rawValue { break }
            index += pairSize
        }
        return nil
    }
}

extension String {
    /// Without the spaces, tabs and newlines at either end (a /proc field or one-line file).
    func strippingBlanks() -> String {
        func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" }
        return String(drop(while: isBlank).reversed().drop(while: isBlank).reversed())
    }
}
