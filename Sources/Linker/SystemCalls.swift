import ELF
#if canImport(Glibc)
import Glibc
#endif

/// A failed system call, with what was attempted and on which path: enough for a one-line message a user
/// can act on ("cannot read directory /root/etc: Permission denied").
public struct SystemCallError: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var reason: String { String(cString: strerror(errno)) }
    public var description: String { "\(operation) \(path): \(reason)" }
}

/// The POSIX calls of the resolver and of `check`'s walker, each retried on EINTR and turned into
/// `throws(SystemCallError)`. Kept in one place so both read as file-system logic, not errno bookkeeping;
/// `package`, because Check uses them too, but they are no part of the Linker's API.
package enum SystemCalls {
    private static func retrying<T>(_ body: () -> T, failed: (T) -> Bool) -> (T, Int32) {
        while true {
            let value = body()
            if failed(value) {
                let code = Glibc.errno
                if code == EINTR { continue }
                return (value, code)
            }
            return (value, 0)
        }
    }

    package static func linkStatus(_ path: String) throws(SystemCallError) -> Glibc.stat {
        var info = Glibc.stat()
        let (result, code) = retrying({ RawBytes.withCString(path) { fstatat(AT_FDCWD, $0, &info, AT_SYMLINK_NOFOLLOW) } }, failed: { $0 != 0 })
        if result != 0 { throw SystemCallError("cannot stat", path: path, errno: code) }
        return info
    }

    package static func status(_ path: String) throws(SystemCallError) -> Glibc.stat {
        var info = Glibc.stat()
        // fstatat rather than stat(2): in Swift `stat` names the struct before the function.
        let (result, code) = retrying({ RawBytes.withCString(path) { fstatat(AT_FDCWD, $0, &info, 0) } }, failed: { $0 != 0 })
        if result != 0 { throw SystemCallError("cannot stat", path: path, errno: code) }
        return info
    }

    package static func readlink(_ path: String) throws(SystemCallError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let (count, code) = retrying({ RawBytes.withCString(path) { Glibc.readlink($0, &buffer, buffer.count - 1) } }, failed: { $0 < 0 })
        if count < 0 { throw SystemCallError("cannot read symlink", path: path, errno: code) }
        return RawBytes.string(buffer[..<count].map { UInt8(bitPattern: $0) })
    }

    /// Up to `count` bytes from the start of `path`; fewer when the file is shorter. O_NONBLOCK, so a FIFO
    /// named as a library or program reads as empty instead of blocking until a writer comes.
    package static func readPrefix(_ path: String, count: Int) throws(SystemCallError) -> [UInt8] {
        let (fd, openCode) = retrying({ RawBytes.withCString(path) { open($0, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) } }, failed: { $0 < 0 })
        if fd < 0 { throw SystemCallError("cannot open", path: path, errno: openCode) }
        defer { close(fd) }
        // The buffer grows from 64 KiB as data arrives: a caller's bound (64 MiB for ld.so.cache) is a limit,
        // not a size to allocate and zero for every file (that was most of `deps /bin/ls`'s time and memory).
        var bytes = [UInt8](repeating: 0, count: min(count, 64 << 10))
        var filled = 0
        while filled < count {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: min(bytes.count, count - filled))) }
            let (got, code) = bytes.withUnsafeMutableBytes { raw in
                // read, not pread: a FIFO cannot seek (ESPIPE); a fresh descriptor starts at offset 0 anyway.
                retrying({ read(fd, raw.baseAddress! + filled, raw.count - filled) }, failed: { $0 < 0 })
            }
            if got < 0 { throw SystemCallError("cannot read", path: path, errno: code) }
            if got == 0 { break }
            filled += got
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// The whole of `path` when it holds at most `limit` bytes; EFBIG when it holds more, found by reading
    /// at most `limit + 1` bytes, so a sparse giant, a file still growing or `/dev/zero` costs no more
    /// memory than `limit`. O_NONBLOCK, so a FIFO reads as empty instead of waiting for a writer.
    package static func readWholeFile(_ path: String, limit: Int) throws(SystemCallError) -> [UInt8] {
        let (fd, openCode) = retrying({ RawBytes.withCString(path) { open($0, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) } }, failed: { $0 < 0 })
        if fd < 0 { throw SystemCallError("cannot open", path: path, errno: openCode) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let want = min(chunk.count, limit + 1 - bytes.count)
            let (got, code) = retrying({ read(fd, chunk.baseAddress!, want) }, failed: { $0 < 0 })
            if got < 0, code == EAGAIN { return bytes }  // an empty FIFO or socket: nothing to read
            if got < 0 { throw SystemCallError("cannot read", path: path, errno: code) }
            if got == 0 { return bytes }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<got]))
            if bytes.count > limit { throw SystemCallError("cannot read", path: path, errno: EFBIG) }
        }
    }

    /// The names in directory `path` (without `.` and `..`) with their `d_type` and inode.
    package static func directoryEntries(_ path: String) throws(SystemCallError) -> [DirectoryEntry] {
        let (handle, code) = retrying({ RawBytes.withCString(path) { opendir($0) } }, failed: { $0 == nil })
        guard let handle else { throw SystemCallError("cannot read directory", path: path, errno: code) }
        defer { closedir(handle) }
        var result: [DirectoryEntry] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(handle) else {
                let code = Glibc.errno
                if code == 0 { break }
                if code == EINTR { continue }
                throw SystemCallError("cannot read directory", path: path, errno: code)
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                RawBytes.string(raw.prefix { $0 != 0 })
            }
            if name == "." || name == ".." { continue }
            result.append(DirectoryEntry(name: name, type: FileType(directoryType: entry.pointee.d_type),
                                         inode: UInt64(entry.pointee.d_ino)))
        }
        return result
    }
}

/// The process's own state, as the full Foundation's ProcessInfo and FileManager give it (linkscope links
/// neither: README, "The release binary").
extension SystemCalls {
    /// The working directory; "." when it cannot be named (removed, or longer than PATH_MAX).
    package static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The environment's entries as their bytes, in order (duplicate names, entries without `=` and bytes
    /// that are not UTF-8 kept).
    package static func environmentEntries() -> [[UInt8]] {
        var entries: [[UInt8]] = []
        var entry = environ
        while let pointer = entry.pointee {
            entries.append(Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))))
            entry += 1
        }
        return entries
    }

    /// The environment as a dictionary: for a name given twice, the first (the one getenv returns).
    package static func environment() -> [String: String] {
        var result: [String: String] = [:]
        for entry in environmentEntries() {
            guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(decoding: entry[..<equals], as: UTF8.self)
            if result[name] == nil { result[name] = String(decoding: entry[(equals + 1)...], as: UTF8.self) }
        }
        return result
    }

    /// The processors online.
    package static var processorCount: Int { max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1) }
}

package struct DirectoryEntry: Hashable, Sendable {
    package var name: String
    package var type: FileType
    package var inode: UInt64
}

/// A file's type, from `d_type` (DT_*) or `st_mode` (S_IF*).
package struct FileType: RawRepresentable, Hashable, Sendable {
    package var rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }
    /// DT_UNKNOWN: the file system did not say; lstat it.
    package static let unknown = FileType(rawValue: 0)
    /// DT_DIR
    package static let directory = FileType(rawValue: 4)
    /// DT_REG
    package static let regular = FileType(rawValue: 8)
    /// DT_LNK
    package static let symlink = FileType(rawValue: 10)
    /// Anything else: FIFO, socket, device node.
    package static let other = FileType(rawValue: 255)

    package init(directoryType: UInt8) {
        switch directoryType {
        case 4: self = .directory
        case 8: self = .regular
        case 10: self = .symlink
        case 0: self = .unknown
        default: self = .other
        }
    }

    package init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFDIR: self = .directory
        case S_IFREG: self = .regular
        case S_IFLNK: self = .symlink
        default: self = .other
        }
    }
}
