import Glibc

/// The bytes of one ELF file as private memory, read from the file on first use.
///
/// A mapping of the file itself (libelf's ELF_C_READ_MMAP) faults with SIGBUS on every page a
/// concurrent truncation takes away — a library rewritten by a package upgrade while `deps` reads it
/// killed linkscope inside libelf. Here the file's size is taken once (fstat), an anonymous mapping of
/// that size is reserved (pages cost nothing until touched), and the pages a caller asks for are filled
/// with pread(2). A short read means the file changed under us: the image stops answering, and the
/// reader reports "file changed while reading". Memory is what is read, at most the file's size.
///
/// libelf works on this memory through elf_memory(3), so every range libelf will look at must be
/// `ensure`d first (the headers at open, a section's data before elf_getdata); anything read through
/// `ELFFile.bytes(at:count:)` is ensured there.
final class FileImage {
    enum Failure: Equatable {
        /// A read ended before the size fstat gave: the file shrank (or was replaced) while we read it.
        case changed
        /// pread failed with this errno (EIO on a failing disk, for instance).
        case readError(Int32)
    }

    /// The file's size when it was opened; the image never grows or shrinks after.
    let count: Int
    let base: UnsafeMutableRawPointer
    private let mappedLength: Int
    /// The file, -1 for an image built from bytes (every page filled from the start).
    private let fileDescriptor: Int32
    /// One bit per page: filled from the file.
    private var filled: [UInt64]
    /// The last range `ensure` answered, so repeated reads of one table cost no page walk.
    private var lastEnsured: Range<Int> = 0..<0
    private(set) var failure: Failure?

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Reserves `size` bytes for the file open at `fileDescriptor` (not taken over: the caller closes it).
    /// Fails with the errno of mmap (ENOMEM when the size is beyond what this machine can reserve).
    init(fileDescriptor: Int32, size: Int) throws(FileImageError) {
        let length = max(Self.roundedUp(size), Self.pageSize)
        guard let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              base != UnsafeMutableRawPointer(bitPattern: -1) else { throw FileImageError(errno: errno) }
        self.base = base
        self.count = size
        self.mappedLength = length
        self.fileDescriptor = fileDescriptor
        self.filled = [UInt64](repeating: 0, count: (length / Self.pageSize + 63) / 64)
    }

    /// An image holding `bytes`, all filled (tests and the fuzzer).
    init(copying bytes: some Collection<UInt8>) throws(FileImageError) {
        let length = max(Self.roundedUp(bytes.count), Self.pageSize)
        guard let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              base != UnsafeMutableRawPointer(bitPattern: -1) else { throw FileImageError(errno: errno) }
        let target = UnsafeMutableRawBufferPointer(start: base, count: bytes.count)
        // One memcpy when the bytes are contiguous (an image's file): element by element, through the
        // unspecialised generic, costs seconds on a root's worth of libraries.
        if bytes.withContiguousStorageIfAvailable({ target.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
            _ = target.initializeMemory(as: UInt8.self, from: bytes)
        }
        self.base = base
        self.count = bytes.count
        self.mappedLength = length
        self.fileDescriptor = -1
        self.filled = [UInt64](repeating: ~0, count: (length / Self.pageSize + 63) / 64)
    }

    deinit { munmap(base, mappedLength) }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    private static func roundedUp(_ size: Int) -> Int { (size + pageSize - 1) / pageSize * pageSize }

    private func isFilled(_ page: Int) -> Bool { filled[page / 64] & (1 << UInt64(page % 64)) != 0 }
    private func markFilled(_ page: Int) { filled[page / 64] |= 1 << UInt64(page % 64) }

    /// Makes `[offset, offset + length)` hold the file's bytes; false when the range is outside the
    /// file, or reading failed (then `failure` says why, and every later call is false too).
    @discardableResult
    func ensure(_ offset: Int, _ length: Int) -> Bool {
        guard failure == nil, offset >= 0, length >= 0, offset <= count, length <= count - offset else { return false }
        if length == 0 || (lastEnsured.lowerBound <= offset && offset + length <= lastEnsured.upperBound) { return true }
        let first = offset / Self.pageSize
        let last = (offset + length - 1) / Self.pageSize
        var page = first
        while page <= last {
            if isFilled(page) { page += 1; continue }
            var end = page
            while end + 1 <= last, !isFilled(end + 1) { end += 1 }
            guard read(pages: page...end) else { return false }
            page = end + 1
        }
        lastEnsured = offset..<(offset + length)
        return true
    }

    /// Fills whole pages from the file (the last page only up to the file's size).
    private func read(pages: ClosedRange<Int>) -> Bool {
        let start = pages.lowerBound * Self.pageSize
        let end = min((pages.upperBound + 1) * Self.pageSize, count)
        var done = start
        while done < end {
            let got = pread(fileDescriptor, base + done, end - done, off_t(done))
            if got < 0 {
                if errno == EINTR { continue }
                failure = .readError(errno)
                return false
            }
            if got == 0 {
                failure = .changed
                return false
            }
            done += got
        }
        for page in pages { markFilled(page) }
        return true
    }
}

struct FileImageError: Error {
    var errno: Int32
}
