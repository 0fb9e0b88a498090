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

/// One ELF file opened through libelf. The file is mapped, not read; structures are decoded on demand and
/// every offset, count and string taken from the file is bounds-checked before use, so a hostile file yields
/// an `ELFError`, never a crash.
///
/// Not thread-safe: use one `ELFFile` per thread (the values it returns are `Sendable`).
public final class ELFFile {
    public let path: String
    public let header: ELFHeader
    public let programHeaders: [ProgramHeader]

    let elf: OpaquePointer
    private let fileDescriptor: Int32
    private let ownedImage: UnsafeMutableRawBufferPointer?
    /// The whole file as libelf mapped it; every raw read goes through `bytes(at:count:)`.
    let image: UnsafeRawBufferPointer

    private static let libelfReady: Bool = elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE)

    /// Opens and validates the ELF header and program headers of `path`.
    public convenience init(path: String) throws(ELFError) {
        precondition(Self.libelfReady, "libelf refused EV_CURRENT")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
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
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            close(fd)
            throw .malformed(path: path, reason: Self.libelfMessage())
        }
        do {
            try self.init(path: path, elf: elf, fileDescriptor: fd, ownedImage: nil)
        } catch {
            elf_end(elf)
            close(fd)
            throw error
        }
    }

    /// Parses an in-memory image (tests and the fuzzer). `name` is used in messages.
    public convenience init(bytes: some Collection<UInt8>, name: String = "<memory>") throws(ELFError) {
        precondition(Self.libelfReady, "libelf refused EV_CURRENT")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        // One memcpy when the bytes are contiguous (an image's file): element by element, through the
        // unspecialised generic, costs seconds on a root's worth of libraries.
        if bytes.withContiguousStorageIfAvailable({ buffer.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
            _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
        }
        guard let base = buffer.baseAddress,
              let elf = elf_memory(base.assumingMemoryBound(to: CChar.self), bytes.count) else {
            buffer.deallocate()
            throw .malformed(path: name, reason: Self.libelfMessage())
        }
        do {
            try self.init(path: name, elf: elf, fileDescriptor: -1, ownedImage: buffer)
        } catch {
            elf_end(elf)
            buffer.deallocate()
            throw error
        }
    }

    private init(path: String, elf: OpaquePointer, fileDescriptor: Int32,
                 ownedImage: UnsafeMutableRawBufferPointer?) throws(ELFError) {
        var size = 0
        let raw = elf_rawfile(elf, &size)
        guard elf_kind(elf) == ELF_K_ELF, let raw else {
            if size < 4 || raw == nil { throw .tooShort(path: path, size: size) }
            throw .notELF(path: path)
        }
        let image = UnsafeRawBufferPointer(start: raw, count: size)
        guard size >= 16 else { throw .tooShort(path: path, size: size) }
        var ehdr = GElf_Ehdr()
        guard gelf_getehdr(elf, &ehdr) != nil else {
            // The magic is right but the header is cut short or of an unknown class.
            if size < 52 { throw .tooShort(path: path, size: size) }
            throw .malformed(path: path, reason: "bad ELF header: \(Self.libelfMessage())")
        }
        let header = ELFHeader(
            elfClass: ELFClass(rawValue: image[4]),
            data: ELFData(rawValue: image[5]),
            osABI: image[7],
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
        segments.reserveCapacity(count)
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
        self.path = path
        self.elf = elf
        self.fileDescriptor = fileDescriptor
        self.ownedImage = ownedImage
        self.image = image
        self.header = header
        self.programHeaders = segments
    }

    deinit {
        elf_end(elf)
        if fileDescriptor >= 0 { close(fileDescriptor) }
        ownedImage?.deallocate()
    }

    static func libelfMessage() -> String {
        guard let message = elf_errmsg(-1) else { return "unknown libelf error" }
        return String(cString: message)
    }

    func malformed(_ reason: String) -> ELFError { .malformed(path: path, reason: reason) }

    // MARK: Raw, bounds-checked access

    /// `count` bytes at file offset `offset`, or nil when any of them lies outside the file.
    public func bytes(at offset: UInt64, count: UInt64) -> UnsafeRawBufferPointer? {
        let (end, overflow) = offset.addingReportingOverflow(count)
        guard !overflow, end <= UInt64(image.count) else { return nil }
        return UnsafeRawBufferPointer(rebasing: image[Int(offset)..<Int(end)])
    }

    /// The NUL-terminated string at `offset` within the file range `[tableStart, tableStart+tableSize)`.
    func string(inTableAt tableStart: UInt64, size tableSize: UInt64, offset: UInt64) -> String? {
        guard offset < tableSize, let table = bytes(at: tableStart, count: tableSize) else { return nil }
        let tail = table[Int(offset)...]
        guard let nul = tail.firstIndex(of: 0) else { return nil }
        return String(decoding: table[Int(offset)..<nul], as: UTF8.self)
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
        let hasNames = elf_getshdrstrndx(elf, &nameIndex) == 0
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
