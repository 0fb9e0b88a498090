import TraceModel
import CPtrace
import Glibc
import Prototypes

/// What the engine reads from a tracee. One primitive (`readBytes`), typed reads in the extension; the call
/// engine and the link-map reader take any reader, so tests give them a fake memory instead of a process.
protocol TraceeReader: MemoryReader {
    /// Copies up to `buffer.count` bytes from `address`; a short count means the range ran into unmapped
    /// memory, 0 that its first byte is unmapped.
    func readBytes(from address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int
    /// Two words from two places (a GOT word and the return address at a slot stop): a requirement so that a
    /// process reads both in one system call.
    func words(at first: UInt64, _ second: UInt64) throws(Errno) -> (UInt64, UInt64)
}

extension TraceeReader {
    /// One little-endian word, or an error when it is not all readable.
    func word(at address: UInt64) throws(Errno) -> UInt64 {
        var value: UInt64 = 0
        let n = try withUnsafeMutableBytes(of: &value) { (raw) throws(Errno) in try readBytes(from: address, into: raw) }
        guard n == 8 else { throw Errno(rawValue: EFAULT) }
        return UInt64(littleEndian: value)
    }

    func words(at first: UInt64, _ second: UInt64) throws(Errno) -> (UInt64, UInt64) {
        (try word(at: first), try word(at: second))
    }

    /// A NUL-terminated string of at most `limit` bytes, read in chunks that never cross a page.
    func cString(at address: UInt64, limit: Int) throws(Errno) -> String {
        var bytes: [UInt8] = []
        var cursor = address
        while bytes.count < limit {
            let chunk = Int(min(UInt64(limit - bytes.count), 4096 - cursor % 4096))
            var buffer = [UInt8](repeating: 0, count: chunk)
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { raw in try readBytes(from: cursor, into: raw) }
            } catch let error as Errno { throw error } catch { preconditionFailure("readBytes throws only Errno") }
            guard n > 0 else { break }
            if let nul = buffer[..<n].firstIndex(of: 0) {
                bytes += buffer[..<nul]
                break
            }
            bytes += buffer[..<n]
            cursor &+= UInt64(n)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A tracee's memory, read in bulk with process_vm_readv (shared/DESIGN.md decision 4) and written word by
/// word through ptrace, which may write the read-only pages that hold code.
public struct TraceeMemory: TraceeReader, Sendable {
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
