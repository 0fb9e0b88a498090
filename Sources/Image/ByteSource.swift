import CZlib
import CZstd
import Glibc

/// A stream of bytes read front to back: a range of a file as it is, or that range decompressed. The tar
/// reader asks for nothing else; whether a skip is a seek or a decompression is the source's business.
class ByteSource {
    /// What the user would call this stream in a message ("image.tar", "image.tar: blobs/sha256/ab…").
    let name: String

    init(name: String) { self.name = name }

    /// Fills the front of `buffer`; returns how many bytes, 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        preconditionFailure("ByteSource.read is abstract")
    }

    /// Passes over `count` bytes. Plain files seek; compressed streams have to decompress them.
    /// Returns how many were passed over (fewer only at the end of the stream).
    func skip(_ count: Int64, scratch: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int64 {
        var left = count
        while left > 0 {
            let chunk = UnsafeMutableRawBufferPointer(rebasing: scratch[..<Int(min(left, Int64(scratch.count)))])
            let got = try read(into: chunk)
            if got == 0 { break }
            left -= Int64(got)
        }
        return count - left
    }

    /// For an uncompressed range of a file: the file offset the next read starts at, so a tar member can
    /// be recorded as (file, offset, size) and read later without holding it. nil for decompressed streams.
    var fileOffset: Int64? { nil }
}

/// An open file, shared by every range read from it; closed when the last reader goes.
final class OpenFile: Sendable {
    let path: String
    let descriptor: Int32
    let size: Int64

    /// Opens `path` for reading. O_NOFOLLOW is not used: the user named this file; what is never followed
    /// are links inside the image, which are entries of the tree, not of the host.
    init(path: String) throws(ImageError) {
        let fd = retryingOpen(path)
        guard fd >= 0 else { throw .system(path, "cannot open", errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw .system(path, "cannot stat", errno: code)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ImageError(path, "not a regular file")
        }
        self.path = path
        self.descriptor = fd
        self.size = Int64(info.st_size)
    }

    deinit { close(descriptor) }

    /// pread until `buffer` is full or the file ends; EINTR retried.
    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let got = pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset) + off_t(filled))
            if got < 0 {
                if errno == EINTR { continue }
                throw .system(path, "cannot read at offset \(offset + Int64(filled))", errno: errno)
            }
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    /// `count` bytes at `offset`, fewer when the file is shorter (it may have changed since it was indexed).
    func bytes(at offset: Int64, count: Int) throws(ImageError) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        let outcome: Result<Int, ImageError> = result.withUnsafeMutableBytes { raw in
            do throws(ImageError) { return .success(try read(at: offset, into: raw)) } catch { return .failure(error) }
        }
        let got = try outcome.get()
        if got < count { result.removeSubrange(got..<count) }
        return result
    }
}

private func retryingOpen(_ path: String) -> Int32 {
    while true {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        if fd < 0, errno == EINTR { continue }
        return fd
    }
}

/// A range of a file, read as it is.
final class FileRangeSource: ByteSource {
    let file: OpenFile
    private(set) var position: Int64
    let end: Int64

    init(file: OpenFile, offset: Int64 = 0, length: Int64? = nil, name: String? = nil) {
        self.file = file
        self.position = offset
        // A length written in an index is not trusted past the end of the real file.
        self.end = min(file.size, length.map { offset + $0 } ?? file.size)
        super.init(name: name ?? file.path)
    }

    override func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let want = Int(min(Int64(buffer.count), max(end - position, 0)))
        guard want > 0 else { return 0 }
        let got = try file.read(at: position, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
        position += Int64(got)
        return got
    }

    override func skip(_ count: Int64, scratch: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int64 {
        let step = min(count, max(end - position, 0))
        position += step
        return step
    }

    override var fileOffset: Int64? { position }
}

/// How a stream is compressed, told by its first bytes (never by a file name or a media type).
public enum Compression: String, Sendable {
    case none, gzip, zstd, xz, bzip2, lz4

    static func detect(_ prefix: [UInt8]) -> Compression {
        func starts(_ magic: [UInt8]) -> Bool { prefix.count >= magic.count && Array(prefix[..<magic.count]) == magic }
        if starts([0x1f, 0x8b]) { return .gzip }
        if starts([0x28, 0xb5, 0x2f, 0xfd]) { return .zstd }
        if starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return .xz }
        if starts([0x42, 0x5a, 0x68]) { return .bzip2 }
        if starts([0x04, 0x22, 0x4d, 0x18]) { return .lz4 }
        return .none
    }

    /// `raw` decompressed when its first bytes (`prefix`) say it is compressed.
    static func wrap(_ raw: ByteSource, prefix: [UInt8]) throws(ImageError) -> ByteSource {
        switch detect(prefix) {
        case .none: return raw
        case .gzip: return try GzipSource(raw)
        case .zstd: return try ZstdSource(raw)
        case let other:
            throw ImageError(raw.name, "\(other.rawValue)-compressed data is not supported (gzip, zstd or uncompressed tar)")
        }
    }
}

/// Bytes already in memory (a member of a compressed archive of an image).
final class MemorySource: ByteSource {
    let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8], name: String) {
        self.bytes = bytes
        super.init(name: name)
    }

    override func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let take = min(buffer.count, bytes.count - position)
        guard take > 0 else { return 0 }
        bytes.withUnsafeBytes { raw in
            buffer.baseAddress!.copyMemory(from: raw.baseAddress! + position, byteCount: take)
        }
        position += take
        return take
    }

    override func skip(_ count: Int64, scratch: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int64 {
        let step = Int(min(count, Int64(bytes.count - position)))
        position += step
        return Int64(step)
    }
}

/// A file of an image (a layer, a manifest, a config) where it lies: a range of a file on disk, or bytes
/// in memory. `stream` decompresses by magic.
enum Blob: Sendable {
    case file(OpenFile, offset: Int64, length: Int64)
    case memory([UInt8])

    var length: Int64 {
        switch self {
        case .file(_, _, let length): return length
        case .memory(let bytes): return Int64(bytes.count)
        }
    }

    func prefix(_ count: Int) throws(ImageError) -> [UInt8] {
        switch self {
        case .file(let file, let offset, let length): return try file.bytes(at: offset, count: Int(min(Int64(count), length)))
        case .memory(let bytes): return Array(bytes.prefix(count))
        }
    }

    /// The whole blob, refused beyond `limit` bytes (a manifest or config is small; a claim is not data).
    func bytes(limit: Int64, name: String) throws(ImageError) -> [UInt8] {
        guard length <= limit else { throw ImageError(name, "\(length) bytes, more than the \(limit) a manifest or config may have") }
        switch self {
        case .file(let file, let offset, let length): return try file.bytes(at: offset, count: Int(length))
        case .memory(let bytes): return bytes
        }
    }

    func stream(name: String) throws(ImageError) -> ByteSource {
        let head = try prefix(6)
        switch self {
        case .file(let file, let offset, let length):
            return try Compression.wrap(FileRangeSource(file: file, offset: offset, length: length, name: name), prefix: head)
        case .memory(let bytes):
            return try Compression.wrap(MemorySource(bytes, name: name), prefix: head)
        }
    }
}

/// Input buffering shared by the decompressors: compressed bytes are read from the file 256 KiB at a time.
private let compressedChunk = 256 * 1024

/// gzip (RFC 1952) through zlib, members concatenated one after another (pigz, `cat a.gz b.gz`) included.
final class GzipSource: ByteSource {
    private let input: ByteSource
    private let stream: UnsafeMutablePointer<z_stream>
    private let inputBuffer: UnsafeMutableRawBufferPointer
    private var finished = false
    private var produced: Int64 = 0

    init(_ input: ByteSource) throws(ImageError) {
        self.input = input
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        inputBuffer = .allocate(byteCount: compressedChunk, alignment: 16)
        super.init(name: input.name)
        // 15 + 16: a gzip wrapper, the largest window (inflateInit2 is a macro; this is what it expands to).
        guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ImageError(input.name, "zlib cannot start inflating")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        inputBuffer.deallocate()
    }

    override func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard !finished, buffer.count > 0 else { return 0 }
        stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(min(buffer.count, Int(UInt32.max)))
        while stream.pointee.avail_out > 0 {
            if stream.pointee.avail_in == 0 {
                let got = try input.read(into: inputBuffer)
                if got == 0 {
                    // A stream that stops inside a member is a truncated file, not a short layer.
                    throw ImageError(name, "gzip data ends early (after \(produced) uncompressed bytes)")
                }
                stream.pointee.next_in = inputBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = UInt32(got)
            }
            let before = stream.pointee.avail_out
            let status = inflate(stream, Z_NO_FLUSH)
            produced += Int64(before - stream.pointee.avail_out)
            if status == Z_STREAM_END {
                // Another member may follow; trailing zero padding (some tools write it) ends the stream.
                if stream.pointee.avail_in == 0 {
                    let got = try input.read(into: inputBuffer)
                    if got == 0 { finished = true; break }
                    stream.pointee.next_in = inputBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_in = UInt32(got)
                }
                if stream.pointee.next_in.pointee != 0x1f { finished = true; break }
                inflateReset(stream)
                continue
            }
            if status != Z_OK && status != Z_BUF_ERROR {
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                throw ImageError(name, "corrupt gzip data after \(produced) uncompressed bytes (\(message))")
            }
        }
        return buffer.count - Int(stream.pointee.avail_out)
    }
}

/// zstd frames through libzstd's streaming decoder; several frames one after another included.
final class ZstdSource: ByteSource {
    private let input: ByteSource
    private let stream: OpaquePointer
    private let inputBuffer: UnsafeMutableRawBufferPointer
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var finished = false
    /// The last ZSTD_decompressStream result: 0 when a frame was just completed.
    private var frameHint = 1

    init(_ input: ByteSource) throws(ImageError) {
        self.input = input
        guard let stream = ZSTD_createDStream() else { throw ImageError(input.name, "libzstd cannot allocate a decoder") }
        self.stream = stream
        inputBuffer = .allocate(byteCount: compressedChunk, alignment: 16)
        super.init(name: input.name)
        // A window larger than 128 MiB is a memory bomb from a file, not a layer anyone builds.
        ZSTD_DCtx_setParameter(stream, ZSTD_d_windowLogMax, 27)
    }

    deinit {
        ZSTD_freeDStream(stream)
        inputBuffer.deallocate()
    }

    override func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard !finished, buffer.count > 0 else { return 0 }
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while out.pos < out.size {
            if inBuffer.pos == inBuffer.size {
                let got = try input.read(into: inputBuffer)
                if got == 0 {
                    if frameHint == 0 { finished = true; break }
                    throw ImageError(name, "zstd data ends early")
                }
                inBuffer = ZSTD_inBuffer(src: inputBuffer.baseAddress, size: got, pos: 0)
            }
            let result = ZSTD_decompressStream(stream, &out, &inBuffer)
            if ZSTD_isError(result) != 0 {
                throw ImageError(name, "corrupt zstd data (\(String(cString: ZSTD_getErrorName(result))))")
            }
            frameHint = result
        }
        return out.pos
    }
}
