import TraceModel
import ELF

/// One object mapped into the traced address space, as the loader's link map names it.
struct LoadedImage {
    var object: TracedObject
    /// l_addr: what to add to the file's virtual addresses (0 for a non-PIE program).
    var base: UInt64
    /// The link_map node, which identifies the object while it stays loaded.
    var linkMapNode: UInt64
    /// Every breakpoint address this object holds, so a dlclose can forget them.
    var breakpoints: [UInt64] = []
    /// Where calls made through this object's PLT return to (a breakpoint inside the object).
    var returnSite: UInt64?

    /// What events name as the caller: nil for the main program, else the soname or base name.
    var callerName: String? { object.isMainProgram ? nil : object.displayName }

    var identity: LinkMap.Identity { LinkMap.Identity(node: linkMapNode, base: base) }
}

/// `ImageFacts` by path, each file read once (its slots only once some object of it is armed).
struct ImageFactsCache {
    /// Whether to collect the functions each object defines (`-l` needs them).
    let wantDefinitions: Bool
    private var byPath: [String: ImageFacts] = [:]
    private var loaders: [String: (debugState: UInt64, rDebug: UInt64)?] = [:]

    init(wantDefinitions: Bool) { self.wantDefinitions = wantDefinitions }

    subscript(path: String) -> ImageFacts? { byPath[path] }

    mutating func facts(path: String, wantSlots: Bool) throws(ELFError) -> ImageFacts {
        if let known = byPath[path], !wantSlots || !known.slots.isEmpty || known.isStatic { return known }
        let facts = try ImageFacts(file: try ELFFile(path: path), wantSlots: wantSlots, wantDefinitions: wantDefinitions)
        byPath[path] = facts
        return facts
    }

    /// The file addresses of `_dl_debug_state` (r_brk) and `_r_debug` in the loader at `path`; nil when it
    /// lacks either (not glibc's) or cannot be read. Read once per path.
    mutating func loaderSymbols(path: String) -> (debugState: UInt64, rDebug: UInt64)? {
        if let known = loaders[path] { return known }
        var found: (debugState: UInt64, rDebug: UInt64)?
        if let symbols = try? ELFFile(path: path).dynamicSymbols(),
           let debugState = symbols.first(where: { $0.name == "_dl_debug_state" && $0.isDefined })?.value,
           let rDebug = symbols.first(where: { $0.name == "_r_debug" && $0.isDefined })?.value {
            found = (debugState, rDebug)
        }
        loaders[path] = found
        return found
    }
}

/// Facts about an object file the engine needs, read once per path.
struct ImageFacts {
    var slots: [PLTSlot]
    /// Function names the object defines (for `-l`: which library defines a called symbol).
    var definedFunctions: Set<String>
    var soname: String?
    /// A file virtual address inside the object's executable segment that the program never executes: the
    /// padding between the end of the code and the end of its last page. Nil when the code ends exactly on
    /// a page boundary.
    var returnSitePadding: UInt64?
    var entry: UInt64
    var dynamicSegment: (address: UInt64, size: UInt64)?
    var isStatic: Bool
    /// PT_INTERP: the loader the kernel maps for it.
    var interpreter: String?

    init(file: ELFFile, wantSlots: Bool, wantDefinitions: Bool) throws(ELFError) {
        let dynamic = try file.dynamicInfo()
        soname = dynamic.soname
        entry = file.header.entry
        slots = wantSlots ? try file.pltSlots() : []
        definedFunctions = []
        if wantDefinitions {
            for symbol in try file.dynamicSymbols() where symbol.isDefined && symbol.binding != .local
                && (symbol.type == .function || symbol.type == .indirectFunction) {
                definedFunctions.insert(symbol.name)
            }
        }
        isStatic = !file.programHeaders.contains { $0.type == .interpreter || $0.type == .dynamic }
        interpreter = try file.interpreter()
        if let segment = file.programHeaders.first(where: { $0.type == .dynamic }) {
            dynamicSegment = (segment.virtualAddress, segment.memorySize)
        }
        returnSitePadding = ImageFacts.padding(in: file.programHeaders)
    }

    static let pageSize: UInt64 = 4096

    /// A PT_LOAD as the padding rule sees it.
    struct LoadSegment: Equatable {
        var address: UInt64
        var memorySize: UInt64
        var fileSize: UInt64
        var executable: Bool
    }

    static func padding(in segments: [ProgramHeader]) -> UInt64? {
        padding(in: segments.filter { $0.type == .load }.map {
            LoadSegment(address: $0.virtualAddress, memorySize: $0.memorySize, fileSize: $0.fileSize,
                        executable: $0.flags.contains(.execute))
        })
    }

    /// The first byte after the code of the executable PT_LOAD, when that byte still lies in the segment's
    /// last mapped page and no other segment shares that page. The bytes there are the file's (or zeros past
    /// its end), mapped executable, and never run by the program.
    static func padding(in loads: [LoadSegment]) -> UInt64? {
        guard let code = loads.first(where: { $0.executable }) else { return nil }
        let (end, overflow) = code.address.addingReportingOverflow(code.memorySize)
        guard !overflow, code.memorySize == code.fileSize, end % pageSize != 0 else { return nil }
        let pageEnd = (end / pageSize + 1) * pageSize
        for other in loads where other != code {
            let otherEnd = other.address &+ other.memorySize
            if other.address < pageEnd && otherEnd > end { return nil }
        }
        return end
    }
}
