import Glibc

/// One member of a tar archive, its long name and pax attributes already applied.
struct TarEntry: Sendable {
    enum Kind: Hashable, Sendable {
        case regular
        case hardLink(target: String)
        case symlink(target: String)
        case directory
        /// Character or block device, FIFO: an entry of the tree, never created, never read.
        case special(TarEntry.Special)
    }

    enum Special: String, Hashable, Sendable {
        case characterDevice = "character device"
        case blockDevice = "block device"
        case fifo = "FIFO"
    }

    /// The member name as written (after `L` and pax `path`), not yet made safe: see `FileTree`.
    var path: String
    var kind: Kind
    /// Bytes of data that follow the header (0 for everything but regular files and some hard links).
    var size: Int64
    var mode: UInt32
    /// Where the header starts in the (uncompressed) stream, for messages.
    var headerOffset: Int64
}

/// The raw ustar header fields (POSIX.1-1988 / GNU): offsets and lengths inside a 512-byte block.
private enum Field {
    static let name = 0..<100
    static let mode = 100..<108
    static let size = 124..<136
    static let checksum = 148..<156
    static let typeFlag = 156
    static let linkName = 157..<257
    static let magic = 257..<263
    static let prefix = 345..<500
}

/// Tar type flags (`typeflag`), named as POSIX and GNU tar name them.
private struct TypeFlag: RawRepresentable, Hashable {
    var rawValue: UInt8
    static let regular = TypeFlag(rawValue: UInt8(ascii: "0"))
    static let oldRegular = TypeFlag(rawValue: 0)
    static let hardLink = TypeFlag(rawValue: UInt8(ascii: "1"))
    static let symlink = TypeFlag(rawValue: UInt8(ascii: "2"))
    static let characterDevice = TypeFlag(rawValue: UInt8(ascii: "3"))
    static let blockDevice = TypeFlag(rawValue: UInt8(ascii: "4"))
    static let directory = TypeFlag(rawValue: UInt8(ascii: "5"))
    static let fifo = TypeFlag(rawValue: UInt8(ascii: "6"))
    static let contiguous = TypeFlag(rawValue: UInt8(ascii: "7"))
    /// pax extended header for the next member (POSIX.1-2001).
    static let paxNext = TypeFlag(rawValue: UInt8(ascii: "x"))
    /// pax global header: attributes for every member after it.
    static let paxGlobal = TypeFlag(rawValue: UInt8(ascii: "g"))
    /// GNU: the next member's name / link target, too long for the header.
    static let gnuLongName = TypeFlag(rawValue: UInt8(ascii: "L"))
    static let gnuLongLink = TypeFlag(rawValue: UInt8(ascii: "K"))
    /// GNU sparse file: refused (no image tool writes one; the data map would have to be trusted).
    static let gnuSparse = TypeFlag(rawValue: UInt8(ascii: "S"))
    static let gnuVolumeHeader = TypeFlag(rawValue: UInt8(ascii: "V"))
    static let gnuMultiVolume = TypeFlag(rawValue: UInt8(ascii: "M"))
    /// GNU dump directory: a directory whose data lists its names.
    static let gnuDumpDirectory = TypeFlag(rawValue: UInt8(ascii: "D"))
}

/// Reads a tar stream member by member: ustar, GNU (`L`/`K` long names, base-256 sizes) and pax (`x`, `g`),
/// v7 headers without magic if their checksum holds. Sparse members are refused with a message. Nothing
/// read from a header is trusted as a size to allocate: metadata bodies are capped, file data is read in
/// chunks as it really arrives, and a member that claims more than the stream holds ends in "truncated".
final class TarReader {
    static let blockSize = 512
    /// Longest GNU long name / pax header accepted: far beyond PATH_MAX, far below a memory bomb.
    static let maximumMetadataSize: Int64 = 1 << 20

    let source: ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// Bytes of the stream consumed so far.
    private(set) var position: Int64 = 0
    /// Data bytes of the current member not yet read, and the padding after them.
    private var bodyLeft: Int64 = 0
    private var paddingLeft: Int64 = 0
    private var globalAttributes: [String: String] = [:]
    private var atEnd = false

    init(_ source: ByteSource) {
        self.source = source
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The file offset of the current member's next data byte when the stream is a plain file range, so
    /// the member can be read later in place instead of being held.
    var bodyFileOffset: Int64? {
        guard let offset = source.fileOffset else { return nil }
        return offset - Int64(end - start)
    }

    // MARK: Buffered stream

    private func fill() throws(ImageError) -> Bool {
        if start < end { return true }
        start = 0
        end = try source.read(into: buffer)
        return end > 0
    }

    /// Exactly `count` bytes (a header block), or nil at a clean end of stream before the first byte.
    private func readExactly(_ count: Int, what: String) throws(ImageError) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        let startOffset = position
        while result.count < count {
            guard try fill() else {
                if result.isEmpty { return nil }
                if startOffset == 0 {
                    throw ImageError(source.name, "not a tar archive: \(result.count) bytes, shorter than one \(count)-byte header")
                }
                throw ImageError(source.name, "truncated tar archive: \(what) at offset \(startOffset) ends early")
            }
            let take = min(count - result.count, end - start)
            result.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + take)]))
            start += take
            position += Int64(take)
        }
        return result
    }

    private func skipStream(_ count: Int64, what: String) throws(ImageError) {
        var left = count
        let buffered = Int64(end - start)
        let fromBuffer = min(left, buffered)
        start += Int(fromBuffer)
        left -= fromBuffer
        position += fromBuffer
        if left > 0 {
            let scratch = UnsafeMutableRawBufferPointer(rebasing: buffer[...])
            start = 0
            end = 0
            let skipped = try source.skip(left, scratch: scratch)
            position += skipped
            if skipped < left {
                throw ImageError(source.name, "truncated tar archive: \(what) ends at offset \(position), \(left - skipped) bytes early")
            }
        }
    }

    /// Skips padding; false when the stream ended inside it.
    private func skipPadding(_ count: Int64) throws(ImageError) -> Bool {
        do { try skipStream(count, what: "padding") } catch {
            if !(try fill()) { return false }
            throw error
        }
        return true
    }

    // MARK: Members

    /// Up to `limit` bytes of the current member's data, consumed from the stream.
    func readBody(limit: Int64 = .max) throws(ImageError) -> [UInt8] {
        let want = min(bodyLeft, limit)
        var result: [UInt8] = []
        // Reserve what the header claims only up to a bound: a claim is not yet data.
        result.reserveCapacity(Int(min(want, 16 << 20)))
        while Int64(result.count) < want {
            guard try fill() else {
                throw ImageError(source.name, "truncated tar archive: member data ends at offset \(position), \(want - Int64(result.count)) bytes early")
            }
            let take = Int(min(want - Int64(result.count), Int64(end - start)))
            result.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + take)]))
            start += take
            position += Int64(take)
        }
        bodyLeft -= want
        return result
    }

    /// The next member, after skipping what is left of the current one; nil after the end-of-archive blocks
    /// (or at the end of the stream, as GNU tar accepts).
    func next() throws(ImageError) -> TarEntry? {
        guard !atEnd else { return nil }
        try skipStream(bodyLeft, what: "member data")
        bodyLeft = 0
        // A stream that stops right after a member's data, without its padding or the end-of-archive
        // blocks, is complete: Go's archive/tar (docker, containerd, umoci) reads it so, and umoci 0.4.7
        // writes layers that way.
        if paddingLeft > 0, try !skipPadding(paddingLeft) {
            atEnd = true
            return nil
        }
        paddingLeft = 0
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        while true {
            let headerOffset = position
            guard let block = try readExactly(Self.blockSize, what: "header") else {
                atEnd = true
                return nil
            }
            if block.allSatisfy({ $0 == 0 }) {
                atEnd = true
                return nil
            }
            try verifyChecksum(block, at: headerOffset)
            let flag = TypeFlag(rawValue: block[Field.typeFlag])
            let isUstar = Array(block[Field.magic]) == Array("ustar\0".utf8)
            var size = try number(block[Field.size], field: "size", at: headerOffset)
            // Only data-carrying types have data; the size of a link, device or directory is ignored, as
            // libarchive and GNU tar do, so a bogus value there cannot swallow the next headers.
            switch flag {
            case .symlink, .characterDevice, .blockDevice, .directory, .fifo: size = 0
            default: break
            }
            let padding = (Int64(Self.blockSize) - size % Int64(Self.blockSize)) % Int64(Self.blockSize)

            func metadataBody(_ what: String) throws(ImageError) -> [UInt8] {
                guard size <= Self.maximumMetadataSize else {
                    throw ImageError(source.name, "\(what) at offset \(headerOffset) claims \(size) bytes (more than \(Self.maximumMetadataSize))")
                }
                bodyLeft = size
                let body = try readBody()
                try skipStream(padding, what: what)
                return body
            }

            switch flag {
            case .paxNext:
                pax.merge(try parsePax(metadataBody("pax header"), at: headerOffset)) { $1 }
                continue
            case .paxGlobal:
                globalAttributes.merge(try parsePax(metadataBody("pax global header"), at: headerOffset)) { $1 }
                continue
            case .gnuLongName:
                longName = cString(try metadataBody("GNU long name"))
                continue
            case .gnuLongLink:
                longLink = cString(try metadataBody("GNU long link name"))
                continue
            case .gnuVolumeHeader:
                bodyLeft = size
                paddingLeft = padding
                try skipStream(bodyLeft + paddingLeft, what: "volume header")
                bodyLeft = 0
                paddingLeft = 0
                continue
            default:
                break
            }

            var attributes = globalAttributes
            attributes.merge(pax) { $1 }
            var path = cString(Array(block[Field.name]))
            if isUstar {
                let prefix = cString(Array(block[Field.prefix]))
                if !prefix.isEmpty { path = prefix + "/" + path }
            }
            if let longName { path = longName }
            if let value = attributes["path"] { path = value }
            var link = cString(Array(block[Field.linkName]))
            if let longLink { link = longLink }
            if let value = attributes["linkpath"] { link = value }
            if let value = attributes["size"] {
                guard let parsed = Int64(value), parsed >= 0 else {
                    throw ImageError(source.name, "pax size '\(value)' of \(path) at offset \(headerOffset) is not a size")
                }
                size = parsed
            }
            if flag == .gnuSparse || attributes.keys.contains(where: { $0.hasPrefix("GNU.sparse.") }) {
                throw ImageError(source.name, "sparse member \(path) at offset \(headerOffset) is not supported (image layers are never sparse)")
            }
            if flag == .gnuMultiVolume {
                throw ImageError(source.name, "multi-volume member \(path) at offset \(headerOffset) is not supported")
            }
            let mode = UInt32(truncatingIfNeeded: (try? number(block[Field.mode], field: "mode", at: headerOffset)) ?? 0o644)
            let kind: TarEntry.Kind
            switch flag {
            case .regular, .oldRegular, .contiguous: kind = .regular
            case .hardLink: kind = .hardLink(target: link)
            case .symlink: kind = .symlink(target: link)
            case .directory, .gnuDumpDirectory: kind = .directory
            case .characterDevice: kind = .special(.characterDevice)
            case .blockDevice: kind = .special(.blockDevice)
            case .fifo: kind = .special(.fifo)
            default:
                // An unknown type is data to skip, as POSIX says readers treat it (as a regular file).
                kind = .regular
            }
            // A trailing slash on an old-style regular member means a directory (pre-POSIX tars).
            let finalKind: TarEntry.Kind = (flag == .oldRegular && path.hasSuffix("/")) ? .directory : kind
            bodyLeft = size
            paddingLeft = (Int64(Self.blockSize) - size % Int64(Self.blockSize)) % Int64(Self.blockSize)
            return TarEntry(path: path, kind: finalKind, size: size, mode: mode, headerOffset: headerOffset)
        }
    }

    /// The header checksum: the sum of all bytes with the checksum field read as spaces. Historic tars
    /// summed signed chars; both sums are accepted, as GNU tar does.
    private func verifyChecksum(_ block: [UInt8], at offset: Int64) throws(ImageError) {
        let stored = try number(block[Field.checksum], field: "checksum", at: offset)
        // The checksum field counts as eight spaces.
        var unsigned = Int64(Field.checksum.count) * Int64(UInt8(ascii: " "))
        var signed = unsigned
        block.withUnsafeBufferPointer { bytes in
            for index in 0..<bytes.count where !Field.checksum.contains(index) {
                unsigned &+= Int64(bytes[index])
                signed &+= Int64(Int8(bitPattern: bytes[index]))
            }
        }
        guard stored == unsigned || stored == signed else {
            throw ImageError(source.name, "not a tar archive: bad header checksum at offset \(offset)")
        }
    }

    /// An octal field (NUL/space padded) or GNU base-256 (first byte 0x80), overflow-checked.
    private func number(_ field: ArraySlice<UInt8>, field name: String, at offset: Int64) throws(ImageError) -> Int64 {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 {
            guard first == 0x80 else {
                throw ImageError(source.name, "negative \(name) in tar header at offset \(offset)")
            }
            var value: Int64 = 0
            for byte in field.dropFirst() {
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 256)
                guard !overflow, shifted <= Int64.max - Int64(byte) else {
                    throw ImageError(source.name, "\(name) too large in tar header at offset \(offset)")
                }
                value = shifted + Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        var seenDigit = false
        for byte in field {
            if byte == 0 || (byte == UInt8(ascii: " ") && seenDigit) { break }
            if byte == UInt8(ascii: " ") { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7") else {
                throw ImageError(source.name, "not a tar archive: bad \(name) field in header at offset \(offset)")
            }
            seenDigit = true
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 8)
            guard !overflow else { throw ImageError(source.name, "\(name) too large in tar header at offset \(offset)") }
            value = shifted + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// pax records, `LEN key=value\n`, where LEN counts the whole record; a bad length stops with a message.
    private func parsePax(_ body: [UInt8], at offset: Int64) throws(ImageError) -> [String: String] {
        var result: [String: String] = [:]
        var index = 0
        while index < body.count {
            if body[index] == 0 { break }
            guard let space = body[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: body[index..<space], as: UTF8.self)),
                  length > space - index + 1, length <= body.count - index else {
                throw ImageError(source.name, "corrupt pax header at offset \(offset)")
            }
            let record = body[(space + 1)..<(index + length)]
            guard record.last == UInt8(ascii: "\n"), let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
                throw ImageError(source.name, "corrupt pax record in header at offset \(offset)")
            }
            let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
            let value = String(decoding: record[(equals + 1)..<(record.endIndex - 1)], as: UTF8.self)
            result[key] = value
            index += length
        }
        return result
    }

    private func cString(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
