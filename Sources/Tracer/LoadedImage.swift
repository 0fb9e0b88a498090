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

/// Calls that do not return to their caller: their return address is never hijacked (a frame that cannot
/// return would only dangle), and their entry is reported alone, as ltrace's `exit(0 <no return ...>`.
enum NoReturnFunctions {
    static let names: Set<String> = [
        "exit", "_exit", "_Exit", "quick_exit", "abort", "longjmp", "_longjmp", "siglongjmp", "__longjmp_chk",
        "__cxa_throw", "__cxa_rethrow", "_Unwind_Resume", "pthread_exit", "__stack_chk_fail", "__assert_fail",
        "__assert_perror_fail", "__fortify_fail", "__chk_fail", "err", "errx", "verr", "verrx",
        "__libc_start_main", "_ZSt9terminatev", "__cxa_call_unexpected",
    ]

    /// Functions that save their own return address to come back through it later (setjmp's saved PC,
    /// getcontext, vfork's register copy): a hijacked address would be saved and later "returned" through
    /// without a frame. Never hijacked either; shown at entry only.
    static let returnsTwice: Set<String> = [
        "setjmp", "_setjmp", "sigsetjmp", "__sigsetjmp", "getcontext", "savectx", "vfork", "__vfork",
    ]

    static func contains(_ name: String) -> Bool {
        if returnsTwice.contains(name) { return true }
        // libstdc++'s std::__throw_* helpers (_ZSt17__throw_bad_allocv, ...) only ever throw.
        return names.contains(name) || (name.hasPrefix("_ZSt") && name.contains("__throw_"))
    }
}

/// Functions that start an unwind. The unwinder walks return addresses and finds no unwind information for
/// a return site of ours, so before it starts every hijacked return address of the thread is put back.
/// Engine-internal breakpoints go on these slots in every object, whether or not a filter selects them.
enum UnwindStarters {
    static let names: Set<String> = [
        "_Unwind_RaiseException", "_Unwind_Resume", "_Unwind_ForcedUnwind", "_Unwind_Resume_or_Rethrow",
    ]
}
