import Glibc
import Prototypes
import TraceModel
@testable import Tracer

/// A tracee's memory made of mapped regions, with process_vm_readv's rules: a read that runs off a region
/// returns the bytes up to its end, a read that starts outside every region returns 0 (EFAULT).
final class FakeTraceeMemory: TraceeReader {
    private(set) var regions: [(base: UInt64, bytes: [UInt8])] = []
    private(set) var reads = 0

    func map(_ base: UInt64, _ bytes: [UInt8]) { regions.append((base, bytes)) }
    func map(_ base: UInt64, words: [UInt64]) { map(base, words.flatMap(Self.bytes(of:))) }
    func map(_ base: UInt64, string: String) { map(base, Array(string.utf8) + [0]) }

    static func bytes(of word: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * UInt64($0))) } }

    func read(from address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try readBytes(from: address, into: buffer)
    }

    func readBytes(from address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        reads += 1
        // The latest mapping wins, so a test can change a word by mapping it again.
        for r in regions.reversed() where address >= r.base && address < r.base + UInt64(r.bytes.count) {
            let offset = Int(address - r.base)
            let n = min(r.bytes.count - offset, buffer.count)
            for i in 0..<n { buffer[i] = r.bytes[offset + i] }
            return n
        }
        return 0
    }
}

extension Registers {
    /// A thread stopped with `pc` and `sp`, and the integer argument or result registers given.
    static func stopped(pc: UInt64, sp: UInt64, arguments: [UInt64] = [], rax: UInt64 = 0) -> Registers {
        var raw = user_regs_struct()
        raw.rip = pc
        raw.rsp = sp
        let args = arguments + Array(repeating: 0, count: max(0, 6 - arguments.count))
        (raw.rdi, raw.rsi, raw.rdx, raw.rcx, raw.r8, raw.r9) = (args[0], args[1], args[2], args[3], args[4], args[5])
        raw.rax = rax
        return Registers(raw)
    }
}
