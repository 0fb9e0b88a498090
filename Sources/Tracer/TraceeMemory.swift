import TraceModel
import CPtrace
import Glibc
import Prototypes

/// A tracee's memory, read in bulk with process_vm_readv (shared/DESIGN.md decision 4) and written word by
/// word through ptrace, which may write the read-only pages that hold code.
public struct TraceeMemory: MemoryReader, Sendable {
    public let pid: Int32

    public init(pid: Int32) { self.pid = pid }

    public func read(from address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try readBytes(from: address, into: buffer)
    }

    /// The typed primitive the engine uses (MemoryReader's `read` is untyped-throwing by protocol).
    func readBytes(from address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        guard buffer.count > 0 else { return 0 }
        var local = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        var remote = iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(address)), iov_len: buffer.count)
        while true {
            let n = cptrace_process_vm_readv(pid, &local, 1, &remote, 1)
            if n >= 0 { return n }
            let code = Errno.current
            if code == .interrupted { continue }
            if code.rawValue == EFAULT { return 0 }
            throw code
        }
    }

    /// One little-endian word, or an error when it is not all readable.
    func word(at address: UInt64) throws(Errno) -> UInt64 {
        var value: UInt64 = 0
        let n = try withUnsafeMutableBytes(of: &value) { (raw) throws(Errno) in try readBytes(from: address, into: raw) }
        guard n == 8 else { throw Errno(rawValue: EFAULT) }
        return value
    }

    /// Two words from two places in one system call (a GOT word and the return address at a slot stop).
    func words(at first: UInt64, _ second: UInt64) throws(Errno) -> (UInt64, UInt64) {
        var values: (UInt64, UInt64) = (0, 0)
        let n = try withUnsafeMutableBytes(of: &values) { (raw) throws(Errno) -> Int in
            var local = iovec(iov_base: raw.baseAddress, iov_len: 16)
            var remote: (iovec, iovec) = (
                iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(first)), iov_len: 8),
                iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(second)), iov_len: 8))
            return try withUnsafeMutableBytes(of: &remote) { (r) throws(Errno) -> Int in
                while true {
                    let n = cptrace_process_vm_readv(pid, &local, 1, r.baseAddress!.assumingMemoryBound(to: iovec.self), 2)
                    if n >= 0 { return n }
                    let code = Errno.current
                    if code == .interrupted { continue }
                    throw code
                }
            }
        }
        guard n == 16 else { throw Errno(rawValue: EFAULT) }
        return values
    }

    func writeWord(_ value: UInt64, at address: UInt64) throws(Errno) {
        try Ptrace.poke(pid, address, value)
    }

    /// Replaces the byte at `address` and returns the byte that was there.
    @discardableResult
    func replaceByte(at address: UInt64, with byte: UInt8) throws(Errno) -> UInt8 {
        let word = try Ptrace.peek(pid, address)
        try Ptrace.poke(pid, address, (word & ~0xff) | UInt64(byte))
        return UInt8(truncatingIfNeeded: word)
    }
}
