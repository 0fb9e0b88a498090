/// `-S`: the system calls a program makes, named, and for the common ones their arguments decoded as strace
/// shows them (`SYS_openat(AT_FDCWD, "/etc/myapp.conf", O_RDONLY)`). Where a value lives (the six syscall
/// argument registers, the tracee's memory) is the engine's; what it means is this table's.
public struct SystemCallDecoder: Sendable {
    /// How one argument reads.
    enum Argument: Sendable {
        case signed, unsigned, hex, pointer, octalMode
        /// A file descriptor; `directory` also takes AT_FDCWD.
        case descriptor(directory: Bool)
        /// A NUL-terminated path.
        case path
        /// A buffer the call reads from, its length the argument at `lengthIndex`.
        case buffer(lengthIndex: Int)
        case openFlags, accessMode, mmapProtection, mmapFlags, atFlags
        /// An array of strings (execve's argv), at most `arrayLimit` shown.
        case strings
        /// A struct sockaddr, its length the argument at `lengthIndex`.
        case socketAddress(lengthIndex: Int)
    }

    /// How the result reads: a number (-1 and the errno on failure), or an address (mmap, brk).
    enum Result: Sendable { case signed, address, none }

    struct Entry: Sendable {
        var name: String
        var arguments: [Argument]
        var result: Result = .signed
    }

    public var stringLimit: Int
    public var arrayLimit: Int

    public init(stringLimit: Int = 32, arrayLimit: Int = 4) {
        self.stringLimit = stringLimit
        self.arrayLimit = arrayLimit
    }

    /// The call's name as shown (`SYS_openat`); `SYS_N` for a number the table does not know.
    public static func name(of number: UInt64) -> String {
        "SYS_" + (table[number]?.name ?? String(number))
    }

    /// Whether the call never returns to its caller when it succeeds (exit, exit_group): shown at entry.
    public static func neverReturns(_ number: UInt64) -> Bool { number == 60 || number == 231 }

    /// Whether `number`'s result is an address (mmap, brk), shown in hex.
    public static func returnsAddress(_ number: UInt64) -> Bool {
        if case .address = table[number]?.result { return true }
        return false
    }

    /// The arguments of call `number` from its six argument registers, reading strings and buffers through
    /// `memory`. An unknown call shows its six registers in hex, as strace does for one it cannot decode.
    public func decodeArguments(number: UInt64, registers: [UInt64], memory: some MemoryReader) -> [Value] {
        guard var entry = Self.table[number] else { return registers.prefix(6).map { .hex($0) } }
        // open/openat's mode means something only with O_CREAT or O_TMPFILE: strace leaves it out otherwise.
        if let flagsIndex = entry.arguments.firstIndex(where: { if case .openFlags = $0 { true } else { false } }),
           entry.arguments.count == flagsIndex + 2, flagsIndex < registers.count,
           registers[flagsIndex] & 0o100 == 0, registers[flagsIndex] & 0o20200000 != 0o20200000 {
            entry.arguments.removeLast()
        }
        return entry.arguments.enumerated().map { index, kind in
            let word = index < registers.count ? registers[index] : 0
            return decode(kind, word, registers: registers, memory: memory)
        }
    }

    private func decode(_ kind: Argument, _ word: UInt64, registers: [UInt64], memory: some MemoryReader) -> Value {
        switch kind {
        case .signed: return .signed(Int64(bitPattern: word))
        case .unsigned: return .unsigned(word)
        case .hex: return .hex(word)
        case .pointer: return word == 0 ? .null : .pointer(word)
        case .octalMode: return .octal(word)
        case .descriptor(let directory):
            let fd = Int32(truncatingIfNeeded: word)
            if directory && fd == Self.atFileDescriptorCurrentDirectory { return .enumeration(name: "AT_FDCWD", raw: Int64(fd)) }
            return .signed(Int64(fd))
        case .path:
            return string(at: word, memory: memory)
        case .buffer(let lengthIndex):
            guard word != 0 else { return .null }
            let length = lengthIndex < registers.count ? registers[lengthIndex] : 0
            let shown = Int(min(length, UInt64(stringLimit)))
            let bytes = memory.readBytes(at: word, count: shown)
            guard bytes.count == shown else { return .unreadable(address: word) }
            return .string(bytes: bytes, truncated: UInt64(shown) < length)
        case .openFlags: return Self.openFlags(word)
        case .accessMode: return Self.bitmask(word, Self.accessModes, zero: "F_OK")
        case .mmapProtection: return Self.bitmask(word, Self.protections, zero: "PROT_NONE")
        case .mmapFlags: return Self.bitmask(word, Self.mapFlags, zero: "0")
        case .atFlags: return Self.bitmask(word, Self.atFlagNames, zero: "0")
        case .strings:
            guard word != 0 else { return .null }
            var elements: [Value] = []
            var truncated = false
            for index in 0..<UInt64(arrayLimit + 1) {
                guard let pointer = memory.readInteger(at: word &+ index * 8, as: UInt64.self) else { return .unreadable(address: word) }
                if pointer == 0 { break }
                if elements.count == arrayLimit { truncated = true; break }
                elements.append(string(at: pointer, memory: memory))
            }
            return .array(elements, truncated: truncated)
        case .socketAddress(let lengthIndex):
            guard word != 0 else { return .null }
            let length = lengthIndex < registers.count ? registers[lengthIndex] : 0
            return socketAddress(at: word, length: length, memory: memory)
        }
    }

    private func string(at address: UInt64, memory: some MemoryReader) -> Value {
        guard address != 0 else { return .null }
        guard let (bytes, truncated) = memory.readCString(at: address, limit: stringLimit) else {
            return .unreadable(address: address)
        }
        return .string(bytes: bytes, truncated: truncated)
    }

    /// `{sa_family=AF_UNIX, sun_path="/run/x"}`, `{sa_family=AF_INET, sin_port=htons(80),
    /// sin_addr=inet_addr("127.0.0.1")}`, others by family alone.
    private func socketAddress(at address: UInt64, length: UInt64, memory: some MemoryReader) -> Value {
        let count = Int(min(length, 128))
        let bytes = memory.readBytes(at: address, count: count)
        guard count >= 2, bytes.count == count else { return .unreadable(address: address) }
        let family = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        func shown(_ text: String) -> Value { .enumeration(name: "{" + text + "}", raw: Int64(family)) }
        switch family {
        case 1:
            let path = Array(bytes[2...].prefix { $0 != 0 })
            return shown("sa_family=AF_UNIX, sun_path=" + Value.string(bytes: path, truncated: false).ltraceText)
        case 2 where count >= 8:
            let port = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
            let ip = bytes[4..<8].map(String.init).joined(separator: ".")
            return shown("sa_family=AF_INET, sin_port=htons(\(port)), sin_addr=inet_addr(\"\(ip)\")")
        case 10: return shown("sa_family=AF_INET6, ...")
        default: return shown("sa_family=\(family), ...")
        }
    }

    // MARK: Flags

    static let atFileDescriptorCurrentDirectory: Int32 = -100

    private static func bitmask(_ word: UInt64, _ names: [(UInt64, String)], zero: String) -> Value {
        if word == 0 { return .bitmask(names: [zero], remainder: 0) }
        var rest = word
        var shown: [String] = []
        for (bit, name) in names where rest & bit == bit {
            shown.append(name)
            rest &= ~bit
        }
        return .bitmask(names: shown, remainder: rest)
    }

    private static func openFlags(_ word: UInt64) -> Value {
        let access = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][Int(word & 3)]
        guard case .bitmask(let names, let remainder) = bitmask(word & ~3, openFlagNames, zero: "") else { return .hex(word) }
        return .bitmask(names: [access] + names.filter { !$0.isEmpty }, remainder: remainder)
    }

    private static let openFlagNames: [(UInt64, String)] = [
        (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"), (0o2000, "O_APPEND"),
        (0o4000, "O_NONBLOCK"), (0o4010000, "O_SYNC"), (0o10000, "O_DSYNC"), (0o20000, "O_ASYNC"),
        (0o40000, "O_DIRECT"), (0o200000, "O_DIRECTORY"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
        (0o2000000, "O_CLOEXEC"), (0o10000000, "O_PATH"), (0o20200000, "O_TMPFILE"), (0o100000, "O_LARGEFILE"),
    ]
    private static let accessModes: [(UInt64, String)] = [(4, "R_OK"), (2, "W_OK"), (1, "X_OK")]
    private static let protections: [(UInt64, String)] = [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")]
    private static let mapFlags: [(UInt64, String)] = [
        (0x01, "MAP_SHARED"), (0x02, "MAP_PRIVATE"), (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"),
        (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"), (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"),
        (0x8000, "MAP_POPULATE"), (0x20000, "MAP_STACK"), (0x100000, "MAP_FIXED_NOREPLACE"),
    ]
    private static let atFlagNames: [(UInt64, String)] = [
        (0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"), (0x400, "AT_SYMLINK_FOLLOW"),
        (0x800, "AT_NO_AUTOMOUNT"), (0x1000, "AT_EMPTY_PATH"),
    ]

    // MARK: The table (x86-64 numbers, <asm/unistd_64.h>)

    private static let fd = Argument.descriptor(directory: false)
    private static let dirfd = Argument.descriptor(directory: true)

    static let table: [UInt64: Entry] = [
        0: Entry(name: "read", arguments: [fd, .pointer, .unsigned]),
        1: Entry(name: "write", arguments: [fd, .buffer(lengthIndex: 2), .unsigned]),
        2: Entry(name: "open", arguments: [.path, .openFlags, .octalMode]),
        3: Entry(name: "close", arguments: [fd]),
        4: Entry(name: "stat", arguments: [.path, .pointer]),
        5: Entry(name: "fstat", arguments: [fd, .pointer]),
        6: Entry(name: "lstat", arguments: [.path, .pointer]),
        8: Entry(name: "lseek", arguments: [fd, .signed, .signed]),
        9: Entry(name: "mmap", arguments: [.pointer, .unsigned, .mmapProtection, .mmapFlags, fd, .hex], result: .address),
        10: Entry(name: "mprotect", arguments: [.pointer, .unsigned, .mmapProtection]),
        11: Entry(name: "munmap", arguments: [.pointer, .unsigned]),
        12: Entry(name: "brk", arguments: [.pointer], result: .address),
        13: Entry(name: "rt_sigaction", arguments: [.signed, .pointer, .pointer, .unsigned]),
        14: Entry(name: "rt_sigprocmask", arguments: [.signed, .pointer, .pointer, .unsigned]),
        16: Entry(name: "ioctl", arguments: [fd, .hex, .hex]),
        17: Entry(name: "pread64", arguments: [fd, .pointer, .unsigned, .signed]),
        18: Entry(name: "pwrite64", arguments: [fd, .buffer(lengthIndex: 2), .unsigned, .signed]),
        19: Entry(name: "readv", arguments: [fd, .pointer, .signed]),
        20: Entry(name: "writev", arguments: [fd, .pointer, .signed]),
        21: Entry(name: "access", arguments: [.path, .accessMode]),
        22: Entry(name: "pipe", arguments: [.pointer]),
        32: Entry(name: "dup", arguments: [fd]),
        33: Entry(name: "dup2", arguments: [fd, fd]),
        35: Entry(name: "nanosleep", arguments: [.pointer, .pointer]),
        39: Entry(name: "getpid", arguments: []),
        41: Entry(name: "socket", arguments: [.signed, .signed, .signed]),
        42: Entry(name: "connect", arguments: [fd, .socketAddress(lengthIndex: 2), .unsigned]),
        43: Entry(name: "accept", arguments: [fd, .pointer, .pointer]),
        44: Entry(name: "sendto", arguments: [fd, .buffer(lengthIndex: 2), .unsigned, .hex, .socketAddress(lengthIndex: 5), .unsigned]),
        45: Entry(name: "recvfrom", arguments: [fd, .pointer, .unsigned, .hex, .pointer, .pointer]),
        49: Entry(name: "bind", arguments: [fd, .socketAddress(lengthIndex: 2), .unsigned]),
        50: Entry(name: "listen", arguments: [fd, .signed]),
        56: Entry(name: "clone", arguments: [.hex, .pointer, .pointer, .pointer, .hex]),
        57: Entry(name: "fork", arguments: []),
        58: Entry(name: "vfork", arguments: []),
        59: Entry(name: "execve", arguments: [.path, .strings, .pointer]),
        60: Entry(name: "exit", arguments: [.signed], result: .none),
        61: Entry(name: "wait4", arguments: [.signed, .pointer, .hex, .pointer]),
        62: Entry(name: "kill", arguments: [.signed, .signed]),
        63: Entry(name: "uname", arguments: [.pointer]),
        72: Entry(name: "fcntl", arguments: [fd, .signed, .hex]),
        78: Entry(name: "getdents", arguments: [fd, .pointer, .unsigned]),
        79: Entry(name: "getcwd", arguments: [.pointer, .unsigned]),
        80: Entry(name: "chdir", arguments: [.path]),
        82: Entry(name: "rename", arguments: [.path, .path]),
        83: Entry(name: "mkdir", arguments: [.path, .octalMode]),
        84: Entry(name: "rmdir", arguments: [.path]),
        87: Entry(name: "unlink", arguments: [.path]),
        89: Entry(name: "readlink", arguments: [.path, .pointer, .unsigned]),
        90: Entry(name: "chmod", arguments: [.path, .octalMode]),
        95: Entry(name: "umask", arguments: [.octalMode]),
        96: Entry(name: "gettimeofday", arguments: [.pointer, .pointer]),
        97: Entry(name: "getrlimit", arguments: [.signed, .pointer]),
        102: Entry(name: "getuid", arguments: []),
        104: Entry(name: "getgid", arguments: []),
        107: Entry(name: "geteuid", arguments: []),
        108: Entry(name: "getegid", arguments: []),
        110: Entry(name: "getppid", arguments: []),
        158: Entry(name: "arch_prctl", arguments: [.hex, .pointer]),
        186: Entry(name: "gettid", arguments: []),
        202: Entry(name: "futex", arguments: [.pointer, .signed, .signed, .pointer]),
        217: Entry(name: "getdents64", arguments: [fd, .pointer, .unsigned]),
        218: Entry(name: "set_tid_address", arguments: [.pointer]),
        228: Entry(name: "clock_gettime", arguments: [.signed, .pointer]),
        230: Entry(name: "clock_nanosleep", arguments: [.signed, .hex, .pointer, .pointer]),
        231: Entry(name: "exit_group", arguments: [.signed], result: .none),
        257: Entry(name: "openat", arguments: [dirfd, .path, .openFlags, .octalMode]),
        262: Entry(name: "newfstatat", arguments: [dirfd, .path, .pointer, .atFlags]),
        263: Entry(name: "unlinkat", arguments: [dirfd, .path, .atFlags]),
        267: Entry(name: "readlinkat", arguments: [dirfd, .path, .pointer, .unsigned]),
        269: Entry(name: "faccessat", arguments: [dirfd, .path, .accessMode]),
        273: Entry(name: "set_robust_list", arguments: [.pointer, .unsigned]),
        293: Entry(name: "pipe2", arguments: [.pointer, .openFlags]),
        302: Entry(name: "prlimit64", arguments: [.signed, .signed, .pointer, .pointer]),
        318: Entry(name: "getrandom", arguments: [.pointer, .unsigned, .hex]),
        322: Entry(name: "execveat", arguments: [dirfd, .path, .strings, .pointer, .atFlags]),
        332: Entry(name: "statx", arguments: [dirfd, .path, .atFlags, .hex, .pointer]),
        334: Entry(name: "rseq", arguments: [.pointer, .unsigned, .signed, .hex]),
        435: Entry(name: "clone3", arguments: [.pointer, .unsigned]),
        439: Entry(name: "faccessat2", arguments: [dirfd, .path, .accessMode, .atFlags]),
    ]
}

/// errno names, for `= -1 ENOENT (No such file or directory)` (glibc's strerrorname_np is _GNU_SOURCE only).
public enum ErrnoNames {
    public static func name(_ code: Int32) -> String? { names[code] }

    static let names: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC", 9: "EBADF",
        10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV",
        19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY",
        26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 30: "EROFS", 31: "EMLINK", 32: "EPIPE", 33: "EDOM",
        34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 61: "ENODATA",
        75: "EOVERFLOW", 88: "ENOTSOCK", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL",
        101: "ENETUNREACH", 104: "ECONNRESET", 110: "ETIMEDOUT", 111: "ECONNREFUSED", 113: "EHOSTUNREACH",
        115: "EINPROGRESS", 512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND", 516: "ERESTART_RESTARTBLOCK",
    ]
}
