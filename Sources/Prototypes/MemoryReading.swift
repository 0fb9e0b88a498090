// Typed reads over the one `MemoryReader` primitive. Everything here distrusts the tracee: lengths are capped
// by the caller's limits, a short read ends the data, and an unreadable address is a value, not an error.

/// The page size the reads avoid crossing in one request: a string that ends just before an unmapped page
/// must still be read, so a chunk never asks for bytes past the page it starts in.
let memoryPageSize: UInt64 = 4096

extension MemoryReader {
    /// Up to `count` bytes from `address`; fewer when the range runs into unmapped memory.
    public func readBytes(at address: UInt64, count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let (start, overflow) = address.addingReportingOverflow(UInt64(done))
            if overflow { break }
            let got = result.withUnsafeMutableBytes { raw -> Int in
                let slice = UnsafeMutableRawBufferPointer(rebasing: raw[done...])
                return (try? read(from: start, into: slice)) ?? 0
            }
            if got <= 0 {
                // A read that crossed into an unmapped page may fail as a whole: retry up to the page end.
                let toPageEnd = Int(memoryPageSize - start % memoryPageSize)
                if toPageEnd < count - done {
                    let partial = result.withUnsafeMutableBytes { raw -> Int in
                        let slice = UnsafeMutableRawBufferPointer(rebasing: raw[done..<(done + toPageEnd)])
                        return (try? read(from: start, into: slice)) ?? 0
                    }
                    if partial > 0 { done += partial; continue }
                }
                break
            }
            done += min(got, count - done)
        }
        result.removeSubrange(done...)
        return result
    }

    /// A fixed-size little-endian integer, or nil when unreadable.
    public func readInteger<T: FixedWidthInteger>(at address: UInt64, as type: T.Type = T.self) -> T? {
        let bytes = readBytes(at: address, count: MemoryLayout<T>.size)
        guard bytes.count == MemoryLayout<T>.size else { return nil }
        var value: T = 0
        for (i, b) in bytes.enumerated() { value |= T(truncatingIfNeeded: b) << (8 * i) }
        return value
    }

    /// A NUL-terminated string of at most `limit` bytes, read page by page in bulk (never word by word).
    /// `truncated` is true when the string goes on past `limit`. nil when not even its first byte is readable.
    public func readCString(at address: UInt64, limit: Int) -> (bytes: [UInt8], truncated: Bool)? {
        var bytes: [UInt8] = []
        var cursor = address
        let wanted = max(0, limit) + 1  // one more byte tells "exactly limit" from "longer"
        while bytes.count < wanted {
            let toPageEnd = Int(memoryPageSize - cursor % memoryPageSize)
            let chunk = readBytes(at: cursor, count: min(toPageEnd, wanted - bytes.count, 1024))
            if chunk.isEmpty { break }
            if let nul = chunk.firstIndex(of: 0) {
                bytes += chunk[..<nul]
                return (Array(bytes.prefix(limit)), bytes.count > limit)
            }
            bytes += chunk
            let (next, overflow) = cursor.addingReportingOverflow(UInt64(chunk.count))
            if overflow { break }
            cursor = next
        }
        if bytes.isEmpty { return nil }
        // No NUL within the limit (or memory ended): show what there is, cut.
        return (Array(bytes.prefix(limit)), bytes.count > limit || bytes.count < wanted)
    }
}
