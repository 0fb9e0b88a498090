import Glibc
import TraceModel
import Tracer

/// A new image's initial stack at its exec stop (System V AMD64 ABI 3.4.1): from the stack pointer, argc,
/// argv and a NULL, the environment and a NULL, then auxv pairs ending with AT_NULL; the strings lie above,
/// and nothing points into this block. The agent loaded at launch removes its LD_AUDIT entry so the program
/// sees its own environment, so an exec'd image would run without it: at the exec stop, before the loader
/// has run, the block is rebuilt a little lower with the agent's entry appended to the environment and the
/// entry's bytes where the old block ended. The kernel's copy of the environment (/proc/PID/environ) and of
/// auxv are untouched, and the agent removes the entry again as it starts.
struct InitialStack: Equatable {
    var arguments: [UInt64]
    var environment: [UInt64]
    var auxiliary: [UInt64]  // type, value, …, AT_NULL, 0
    let base: UInt64

    /// AT_SECURE: the loader ignores LD_AUDIT (set-id exec).
    static let secureType: UInt64 = 23

    /// Bytes the block takes.
    var size: UInt64 { UInt64(8 * (1 + arguments.count + 1 + environment.count + 1 + auxiliary.count)) }

    /// Parses the block from its words (read from `base`); nil when they end before AT_NULL.
    init?(words: [UInt64], base: UInt64) {
        self.base = base
        guard let argc = words.first, argc < UInt64(words.count) else { return nil }
        var cursor = 1 + Int(argc)
        guard cursor < words.count, words[cursor] == 0 else { return nil }
        arguments = Array(words[1..<cursor])
        cursor += 1
        guard let envEnd = words[cursor...].firstIndex(of: 0) else { return nil }
        environment = Array(words[cursor..<envEnd])
        cursor = envEnd + 1
        var pairs: [UInt64] = []
        while cursor + 1 < words.count {
            pairs += [words[cursor], words[cursor + 1]]
            if words[cursor] == 0 { break }
            cursor += 2
        }
        guard pairs.count >= 2, pairs[pairs.count - 2] == 0 else { return nil }
        auxiliary = pairs
    }

    var isSecure: Bool {
        stride(from: 0, to: auxiliary.count - 1, by: 2).contains {
            auxiliary[$0] == Self.secureType && auxiliary[$0 + 1] != 0
        }
    }

    /// The block with `entry` ("NAME=value", a NUL added) last in the environment: where it starts (16-byte
    /// aligned, as the ABI wants the stack pointer at entry) and its bytes, which end at or below the old
    /// block's end.
    func adding(entry: [UInt8]) -> (base: UInt64, bytes: [UInt8]) {
        let text = entry + [0]
        let words = UInt64(1 + arguments.count + 1 + environment.count + 2 + 1 + auxiliary.count)
        let textSize = (UInt64(text.count) + 7) & ~7
        let newBase = (base &+ size &- words * 8 &- textSize) & ~15
        let textAddress = newBase &+ words * 8
        let block: [UInt64] = [UInt64(arguments.count)] + arguments + [0] + environment + [textAddress, 0] + auxiliary
        var bytes = [UInt8](repeating: 0, count: Int(words * 8 + textSize))
        bytes.withUnsafeMutableBytes { raw in
            for index in block.indices { raw.storeBytes(of: block[index].littleEndian, toByteOffset: index * 8, as: UInt64.self) }
        }
        bytes.replaceSubrange(Int(words * 8)..<Int(words * 8) + text.count, with: text)
        return (newBase, bytes)
    }

    /// Reads the stack of `pid`, stopped at its exec stop, through /proc/PID/mem; nil when it cannot.
    static func read(pid: pid_t) -> InitialStack? {
        guard let stackPointer = try? StackPointer.read(of: pid) else { return nil }
        let fd = open("/proc/\(pid)/mem", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var words: [UInt64] = []
        // The block is a few KiB; a huge environment may take more. Bounded by ARG_MAX's usual 2 MiB.
        let chunk = 64 * 1024
        while words.count * 8 < 4 * 1024 * 1024 {
            var buffer = [UInt64](repeating: 0, count: chunk / 8)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, chunk, off_t(Int64(bitPattern: stackPointer &+ UInt64(words.count * 8)))) }
            guard n > 0 else { return nil }
            words += buffer.prefix(n / 8)
            if let stack = InitialStack(words: words, base: stackPointer) { return stack }
            if n < chunk { return nil }
        }
        return nil
    }

    /// Writes the block with `entry` added into `pid`'s stack and moves its stack pointer to it.
    func install(entry: [UInt8], pid: pid_t) throws(Errno) {
        let (newBase, bytes) = adding(entry: entry)
        let fd = open("/proc/\(pid)/mem", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw Errno.current }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(Int64(bitPattern: newBase))) }
        guard written == bytes.count else { throw written < 0 ? Errno.current : Errno(rawValue: EIO) }
        try StackPointer.set(newBase, of: pid)
    }
}
