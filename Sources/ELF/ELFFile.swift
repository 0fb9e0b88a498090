import CLibELF
import Foundation

/// The fixed part of an ELF header: what kind of object this is and for which machine.
public struct ELFHeader: Hashable, Sendable {
    public var elfClass: ELFClass
    public var data: ELFData
    public var osABI: UInt8
    public var type: ELFObjectType
    public var machine: ELFMachine
    public var entry: UInt64
    public var flags: UInt32
}

public struct ProgramHeader: Hashable, Sendable {
    public var type: SegmentType
    public var flags: SegmentFlags
    public var offset: UInt64
    public var virtualAddress: UInt64
    public var fileSize: UInt64
    public var memorySize: UInt64
    public var alignment: UInt64
}

public struct SectionHeader: Hashable, Sendable {
    public var index: Int
    public var name: String
    public var type: SectionType
    public var flags: UInt64
    public var address: UInt64
    public var offset: UInt64
    public var size: UInt64
    public var link: UInt32
    public var info: UInt32
    public var entrySize: UInt64
}

/// One ELF file opened through libelf. The file is read, not mapped: its bytes are copied into private
/// memory page by page as views ask for them (`FileImage`), so a file truncated while we read it is an
/// `ELFError.changedWhileReading`, never a SIGBUS. Structures are decoded on demand and every offset,
/// count and string taken from the file is bounds-checked before use, so a hostile file yields an
/// `ELFError`, never a crash.
///
/// Not thread-safe: use one `ELFFile` per thread (the values it returns are `Sendable`).
public final class ELFFile {
    public let path: String
    public let header: ELFHeader
    public let programHeaders: [ProgramHeader]

    let elf: OpaquePointer
    private let fileDescriptor: Int32
    /// The file's bytes; every raw read goes through `bytes(at:count:)`, which fills them first.
    private let image: FileImage

    /// Files above this are refused (EFBIG) before anything is reserved: no real shared object or program
    /// comes near it, and a sparse giant must not make us reserve its size.
    public static let maximumFileSize = 16 << 30

    private static let libelfReady: Bool = elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE)

    /// Opens and validates the ELF header and program headers of `path`.
    public convenience init(path: String) throws(ELFError) {
        precondition(Self.libelfReady, "libelf refused EV_CURRENT")
        // O_NONBLOCK: a FIFO opens at once (and then reads as nothing) instead of waiting for a writer.
        let fd = RawBytes.withCString(path) { open($0, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) }
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw .cannotOpen(path: path, errno: code)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw .isDirectory(path: path)
        }
        guard info.st_size <= Self.maximumFileSize else {
            close(fd)
            throw .cannotOpen(path: path, errno: EFBIG)
        }
        let image: FileImage
        do { image = try FileImage(fileDescriptor: fd, size: Int(info.st_size)) } catch {
            close(fd)
            throw .cannotOpen(path: path, errno: error.errno)
        }
        do {
            try self.init(path: path, image: image, fileDescriptor: fd)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Parses an in-memory image (tests and the fuzzer). `name` is used in messages.
    public convenience init(bytes: some Collection<UInt8>, name: String = "<memory>") throws(ELFError) {
        precondition(Self.libelfReady, "libelf refused EV_CURRENT")
        let image: FileImage
        do { image = try FileImage(copying: bytes) } catch { throw .cannotOpen(path: name, errno: error.errno) }
        try self.init(path: name, image: image, fileDescriptor: -1)
    }

    private init(path: String, image: FileImage, fileDescriptor: Int32) throws(ELFError) {
        Self.ensureHeaderTables(image)
        if let failure = image.failure { throw Self.error(failure, path: path) }
        guard let elf = elf_memory(image.base.assumingMemoryBound(to: CChar.self), image.count) else {
            throw .malformed(path: path, reason: Self.libelfMessage())
        }
        do {
            let (header, segments) = try Self.readHeaders(elf: elf, image: image, path: path)
            self.path = path
            self.elf = elf
            self.fileDescriptor = fileDescriptor
            self.image = image
            self.header = header
            self.programHeaders = segments
        } catch {
            elf_end(elf)
            throw error
        }
    }

    private static func readHeaders(elf: OpaquePointer, image: FileImage, path: String) throws(ELFError)
        -> (ELFHeader, [ProgramHeader]) {
        let size = image.count
        guard elf_kind(elf) == ELF_K_ELF else {
            if size < 4 { throw .tooShort(path: path, size: size) }
            throw .notELF(path: path)
        }
        guard size >= 16 else { throw .tooShort(path: path, size: size) }
        let ident = image.buffer
        var ehdr = GElf_Ehdr()
        guard gelf_getehdr(elf, &ehdr) != nil else {
            // The magic is right but the header is cut short or of an unknown class.
            if size < 52 { throw .tooShort(path: path, size: size) }
            throw .malformed(path: path, reason: "bad ELF header: \(Self.libelfMessage())")
        }
        let header = ELFHeader(
            elfClass: ELFClass(rawValue: ident[4]),
            data: ELFData(rawValue: ident[5]),
            osABI: ident[7],
            type: ELFObjectType(rawValue: ehdr.e_type),
            machine: ELFMachine(rawValue: ehdr.e_machine),
            entry: ehdr.e_entry,
            flags: ehdr.e_flags
        )
        var count = 0
        guard elf_getphdrnum(elf, &count) == 0 else {
            throw .malformed(path: path, reason: "program header count: \(Self.libelfMessage())")
        }
        var segments: [ProgramHeader] = []
        segments.reserveCapacity(min(count, 1 << 16))
        for index in 0..<count {
            var phdr = GElf_Phdr()
            guard gelf_getphdr(elf, Int32(index), &phdr) != nil else {
                throw .malformed(path: path, reason: "program header \(index) lies outside the file")
            }
            segments.append(ProgramHeader(
                type: SegmentType(rawValue: phdr.p_type), flags: SegmentFlags(rawValue: phdr.p_flags),
                offset: phdr.p_offset, virtualAddress: phdr.p_vaddr, fileSize: phdr.p_filesz,
                memorySize: phdr.p_memsz, alignment: phdr.p_align))
        }
        return (header, segments)
    }

    /// Fills what elf_memory and the header calls read before any view asks: the ELF header, the program
    /// header table and the section header table (with section 0, which holds the real counts when
    /// e_phnum is PN_XNUM or e_shnum is 0). Fields come from the file, so each range is clamped to it.
    private static func ensureHeaderTables(_ image: FileImage) {
        image.ensure(0, min(image.count, 64))
        guard image.count >= 52 else { return }
        let raw = image.buffer
        let is64 = raw[4] == ELFClass.class64.rawValue
        let bigEndian = raw[5] == ELFData.bigEndian.rawValue
        func field(_ offset: Int, _ width: Int) -> UInt64 {
            guard offset >= 0, width <= image.count, offset <= image.count - width else { return 0 }
            var value: UInt64 = 0
            for index in 0..<width {
                let byte = UInt64(raw[offset + (bigEndian ? index : width - 1 - index)])
                value = value << 8 | byte
            }
            return value
        }
        func ensureTable(_ offset: UInt64, _ count: UInt64, _ entrySize: UInt64) {
            guard offset < UInt64(image.count) else { return }
            let (length, overflow) = count.multipliedReportingOverflow(by: entrySize)
            let available = UInt64(image.count) - offset
            image.ensure(Int(offset), Int(overflow ? available : min(length, available)))
        }
        let phoff = is64 ? field(32, 8) : field(28, 4)
        let shoff = is64 ? field(40, 8) : field(32, 4)
        var phnum = is64 ? field(56, 2) : field(44, 2)
        var shnum = is64 ? field(60, 2) : field(48, 2)
        let shentsize: UInt64 = is64 ? 64 : 40
        if shoff != 0 {
            ensureTable(shoff, 1, shentsize)
            if shnum == 0, shoff < UInt64(image.count) { shnum = is64 ? field(Int(shoff) + 32, 8) : field(Int(shoff) + 20, 4) }
            if phnum == 0xffff, shoff < UInt64(image.count) { phnum = field(Int(shoff) + (is64 ? 44 : 28), 4) }
            ensureTable(shoff, shnum, shentsize)
        }
        if phoff != 0 { ensureTable(phoff, phnum, is64 ? 56 : 32) }
    }

    deinit {
        elf_end(elf)
        if fileDescriptor >= 0 { close(fileDescriptor) }
    }

    /// The file's size when it was opened.
    var fileSize: Int { image.count }

    static func error(_ failure: FileImage.Failure, path: String) -> ELFError {
        switch failure {
        case .changed: return .changedWhileReading(path: path)
        case .readError(let code): return .cannotRead(path: path, errno: code)
        }
    }

    /// Set once a read of the file failed or came back short; every later view throws it.
    var readProblem: ELFError? { image.failure.map { Self.error($0, path: path) } }

    static func libelfMessage() -> String {
        guard let message = elf_errmsg(-1) else { return "unknown libelf error" }
        return String(cString: message)
    }

    /// A structure that does not hold together, or, when reading the file failed under us, that failure:
    /// a range that "lies outside the file" because the file shrank is a file that changed.
    func malformed(_ reason: String) -> ELFError { readProblem ?? .malformed(path: path, reason: reason) }

    // MARK: Raw, bounds-checked access

    /// `count` bytes at file offset `offset`, or nil when any of them lies outside the file.
    public func bytes(at offset: UInt64, count: UInt64) -> UnsafeRawBufferPointer? {
        let (end, overflow) = offset.addingReportingOverflow(count)
        guard !overflow, end <= UInt64(image.count), image.ensure(Int(offset), Int(count)) else { return nil }
        return UnsafeRawBufferPointer(rebasing: image.buffer[Int(offset)..<Int(end)])
    }

    /// The NUL-terminated string at `offset` within the file range `[tableStart, tableStart+tableSize)`.
    /// Only the bytes up to the NUL are read (in growing windows), not the table: `deps` asks a 1 MiB
    /// `.dynstr` (libstdc++'s) for a few names, and copying whole tables was a fifth of its time.
    func string(inTableAt tableStart: UInt64, size tableSize: UInt64, offset: UInt64) -> String? {
        let (tableEnd, overflow) = tableStart.addingReportingOverflow(tableSize)
        guard !overflow, tableEnd <= UInt64(image.count), offset < tableSize else { return nil }
        let start = tableStart + offset
        let available = tableSize - offset
        var window = min(available, 256)
        while true {
            guard let bytes = bytes(at: start, count: window) else { return nil }
            if let nul = bytes.firstIndex(of: 0) { return String(decoding: bytes[..<nul], as: UTF8.self) }
            if window == available { return nil }
            window = min(available, window * 8)
        }
    }

    /// Maps a virtual address to its file offset through the PT_LOAD segments, as the loader lays them out.
    public func fileOffset(ofVirtualAddress address: UInt64) -> UInt64? {
        for segment in programHeaders where segment.type == .load {
            let (end, overflow) = segment.virtualAddress.addingReportingOverflow(segment.fileSize)
            guard !overflow, address >= segment.virtualAddress, address < end else { continue }
            let (offset, bad) = segment.offset.addingReportingOverflow(address - segment.virtualAddress)
            return bad ? nil : offset
        }
        return nil
    }

    // MARK: Program-header views

    /// The path PT_INTERP names, or nil for objects without one (shared libraries, static programs).
    public func interpreter() throws(ELFError) -> String? {
        guard let segment = programHeaders.first(where: { $0.type == .interpreter }) else { return nil }
        guard segment.fileSize > 0, let raw = bytes(at: segment.offset, count: segment.fileSize) else {
            throw malformed("PT_INTERP lies outside the file")
        }
        let end = raw.firstIndex(of: 0) ?? raw.endIndex
        return String(decoding: raw[..<end], as: UTF8.self)
    }

    /// True when the object can be loaded by a dynamic linker for `machine`/`elfClass`.
    public func matches(machine: ELFMachine, elfClass: ELFClass) -> Bool {
        header.machine == machine && header.elfClass == elfClass
    }

    // MARK: Sections

    /// Section headers with their names; empty for a file whose section headers were stripped.
    public func sections() throws(ELFError) -> [SectionHeader] {
        var nameIndex = 0
        var hasNames = elf_getshdrstrndx(elf, &nameIndex) == 0
        // elf_strptr reads the name table from memory: fill it first.
        if hasNames, let names = elf_getscn(elf, nameIndex) {
            var shdr = GElf_Shdr()
            if gelf_getshdr(names, &shdr) != nil, shdr.sh_type != SectionType.nobits.rawValue {
                hasNames = bytes(at: shdr.sh_offset, count: shdr.sh_size) != nil
            }
        }
        if let readProblem { throw readProblem }
        var result: [SectionHeader] = []
        var scn = elf_nextscn(elf, nil)
        var guardCount = 0
        while let current = scn {
            guardCount += 1
            if guardCount > 1_000_000 { throw malformed("too many sections") }
            var shdr = GElf_Shdr()
            guard gelf_getshdr(current, &shdr) != nil else {
                throw malformed("section header: \(Self.libelfMessage())")
            }
            var name = ""
            if hasNames, let cName = elf_strptr(elf, nameIndex, Int(shdr.sh_name)) {
                name = String(cString: cName)
            }
            result.append(SectionHeader(
                index: elf_ndxscn(current), name: name, type: SectionType(rawValue: shdr.sh_type),
                flags: shdr.sh_flags, address: shdr.sh_addr, offset: shdr.sh_offset, size: shdr.sh_size,
                link: shdr.sh_link, info: shdr.sh_info, entrySize: shdr.sh_entsize))
            scn = elf_nextscn(elf, current)
        }
        if let readProblem { throw readProblem }
        return result
    }

    /// libelf's translated data of section `index`, or nil when the section has none.
    func sectionData(index: Int) throws(ELFError) -> UnsafeMutablePointer<Elf_Data>? {
        guard let scn = elf_getscn(elf, index) else { throw malformed("no section \(index)") }
        var shdr = GElf_Shdr()
        guard gelf_getshdr(scn, &shdr) != nil else { throw malformed("section header \(index)") }
        if shdr.sh_type == SectionType.nobits.rawValue { return nil }
        if shdr.sh_size > 0, bytes(at: shdr.sh_offset, count: shdr.sh_size) == nil {
            throw malformed("section \(index) lies outside the file")
        }
        guard let data = elf_getdata(scn, nil) else {
            if shdr.sh_size == 0 { return nil }
            throw malformed("section \(index) data: \(Self.libelfMessage())")
        }
        return data
    }
}
