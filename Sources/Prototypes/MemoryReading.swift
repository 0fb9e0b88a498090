// Typed reads over the one `MemoryReader` primitive. Everything here distrusts the tracee: lengths are capped
// by the caller's limits, a short read ends the data, and an unreadable address is a value, not an error.

/// The page size the reads avoid crossing in one request: a string that ends just before an unmapped page
/// must still be read, so a chunk never asks for bytes past the page it starts in.
let memoryPageSize: UInt64 = 4096

extension MemoryReader {
    /// Up to `count` bytes from `address`; fewer when the range runs into unmapped memory.
    public func readBytes(at address: UInt64, count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = readAll(at: address, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Fills as much of `buffer` from `address` as is readable and returns how many bytes that was.
    func readAll(at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = buffer.count
        var done = 0
        while done < count {
            let (start, overflow) = address.addingReportingOverflow(UInt64(done))
            if overflow { break }
            let got = (try? read(from: start, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))) ?? 0
            if got <= 0 {
                // A read that crossed into an unmapped page may fail as a whole: retry up to the page end.
                let toPageEnd = Int(memoryPageSize - start % memoryPageSize)
                if toPageEnd < count - done {
                    let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + toPageEnd)])
                    let partial = (try? read(from: start, into: slice)) ?? 0
                    if partial > 0 { done += partial; continue }
                }
                break
            }
            done += min(got, count - done)
        }
        return done
    }

    /// A fixed-size little-endian integer, or nil when unreadable.
    public func readInteger<T: FixedWidthInteger>(at address: UInt64, as type: T.Type = T.self) -> T? {
        var value: T = 0
        let got = withUnsafeMutableBytes(of: &value) { readAll(at: address, into: $0) }
        return got == MemoryLayout<T>.size ? T(littleEndian: value) : nil
    }

    /// A NUL-terminated string of at most `limit` bytes, read page by page in bulk (never word by word) into
    /// one array. `truncated` is true when the string goes on past `limit`. nil when not even its first byte
    /// is readable.
    public func readCString(at address: UInt64, limit: Int) -> (bytes: [UInt8], truncated: Bool)? {
        var bytes: [UInt8] = []
        var cursor = address
        let wanted = max(0, limit) + 1  // one more byte tells "exactly limit" from "longer"
        let chunkBytes = 1024
        return withUnsafeTemporaryAllocation(byteCount: chunkBytes, alignment: 8) { chunk in
            while bytes.count < wanted {
                let toPageEnd = Int(memoryPageSize - cursor % memoryPageSize)
                let piece = UnsafeMutableRawBufferPointer(rebasing: chunk[..<min(toPageEnd, wanted - bytes.count, chunkBytes)])
                let got = readAll(at: cursor, into: piece)
                if got == 0 { break }
                let read = UnsafeRawBufferPointer(rebasing: piece[..<got])
                if let nul = read.firstIndex(of: 0) {
                    let length = bytes.count + nul
                    let kept = min(length, limit) - bytes.count
                    if kept > 0 { bytes.append(contentsOf: read[..<kept]) }
                    return (bytes, length > limit)
                }
                bytes.append(contentsOf: read)
                let (next, overflow) = cursor.addingReportingOverflow(UInt64(got))
                if overflow { break }
                cursor = next
            }
            if bytes.isEmpty { return nil }
            // No NUL within the limit (or memory ended): show what there is, cut.
            let truncated = bytes.count > limit || bytes.count < wanted
            if bytes.count > limit { bytes.removeSubrange(limit...) }
            return (bytes, truncated)
        }
    }
}

/// A memory reader over bytes copied out of a process (the in-process agent's copies of a call's strings,
/// buffers and stack words), read in place: a read outside the copies fails, as a read of unmapped memory
/// does. The pointers are the caller's: valid while it decodes. The first region holding an address wins
/// (put the newest copies first).
public struct CapturedBytes: MemoryReader {
    public struct Region {
        public var address: UInt64
        public var bytes: UnsafeRawBufferPointer
        public init(address: UInt64, bytes: UnsafeRawBufferPointer) {
            self.address = address
            self.bytes = bytes
        }
    }

    public var regions: [Region]

    public init(regions: [Region] = []) { self.regions = regions }

    public func read(from address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        for region in regions where address >= region.address {
            let offset = address - region.address
            guard offset < UInt64(region.bytes.count) else { continue }
            let count = min(buffer.count, region.bytes.count - Int(offset))
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: region.bytes[Int(offset)..<(Int(offset) + count)]))
            return count
        }
        return 0
    }
}
