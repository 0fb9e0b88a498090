// Typed reads over the one `MemoryReader` primitive. Everything here distrusts the tracee: lengths are capped
// by the caller's limits, a short read ends the data, and an unreadable address is a value, not an error.

/// The page size the reads avoid crossing in one request: a string that ends just before an unmapped page
/// must still be read, so a chunk never asks for bytes past the page it starts in.
let memoryPageSize: UInt64 = 4096

extension MemoryReader {
    /// Up to `count` bytes from `address`; fewer when the range runs into unmapped memory.
    public func readBytes(at address: UInt64, count: Int) -> [UInt8] {
        var result: [UInt8] = []
        readBytes(at: address, count: count, appendingTo: &result)
        return result
    }

    /// Appends up to `count` bytes from `address` to `result` and returns how many; fewer when the range runs
    /// into unmapped memory.
    @discardableResult
    func readBytes(at address: UInt64, count: Int, appendingTo result: inout [UInt8]) -> Int {
        guard count > 0 else { return 0 }
        let base = result.count
        result.append(contentsOf: repeatElement(0, count: count))
        var done = 0
        while done < count {
            let (start, overflow) = address.addingReportingOverflow(UInt64(done))
            if overflow { break }
            let got = result.withUnsafeMutableBytes { raw -> Int in
                let slice = UnsafeMutableRawBufferPointer(rebasing: raw[(base + done)..<(base + count)])
                return (try? read(from: start, into: slice)) ?? 0
            }
            if got <= 0 {
                // A read that crossed into an unmapped page may fail as a whole: retry up to the page end.
                let toPageEnd = Int(memoryPageSize - start % memoryPageSize)
                if toPageEnd < count - done {
                    let partial = result.withUnsafeMutableBytes { raw -> Int in
                        let slice = UnsafeMutableRawBufferPointer(rebasing: raw[(base + done)..<(base + done + toPageEnd)])
                        return (try? read(from: start, into: slice)) ?? 0
                    }
                    if partial > 0 { done += partial; continue }
                }
                break
            }
            done += min(got, count - done)
        }
        result.removeSubrange((base + done)...)
        return done
    }

    /// A fixed-size little-endian integer, or nil when unreadable.
    public func readInteger<T: FixedWidthInteger>(at address: UInt64, as type: T.Type = T.self) -> T? {
        var value: T = 0
        let got = withUnsafeMutableBytes(of: &value) { raw in (try? read(from: address, into: raw)) ?? 0 }
        if got >= MemoryLayout<T>.size { return T(littleEndian: value) }
        // A short read (the value crosses into unmapped memory, or the reader returns less): the careful way.
        let bytes = readBytes(at: address, count: MemoryLayout<T>.size)
        guard bytes.count == MemoryLayout<T>.size else { return nil }
        value = 0
        for (i, b) in bytes.enumerated() { value |= T(truncatingIfNeeded: b) << (8 * i) }
        return value
    }

    /// A NUL-terminated string of at most `limit` bytes, read page by page in bulk (never word by word) into
    /// one array. `truncated` is true when the string goes on past `limit`. nil when not even its first byte
    /// is readable.
    public func readCString(at address: UInt64, limit: Int) -> (bytes: [UInt8], truncated: Bool)? {
        var bytes: [UInt8] = []
        var cursor = address
        let wanted = max(0, limit) + 1  // one more byte tells "exactly limit" from "longer"
        bytes.reserveCapacity(min(wanted, 4096))
        while bytes.count < wanted {
            let toPageEnd = Int(memoryPageSize - cursor % memoryPageSize)
            let start = bytes.count
            let got = readBytes(at: cursor, count: min(toPageEnd, wanted - bytes.count, 1024), appendingTo: &bytes)
            if got == 0 { break }
            if let nul = bytes[start...].firstIndex(of: 0) {
                let length = nul
                bytes.removeSubrange(min(length, limit)...)
                return (bytes, length > limit)
            }
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
