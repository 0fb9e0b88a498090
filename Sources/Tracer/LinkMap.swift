import TraceModel

/// The loader's list of loaded objects as read from the tracee (glibc <link.h>: `struct r_debug` and its
/// chain of `struct link_map`), and how it differs from what the engine has armed. Reads go through any
/// `TraceeReader`; nothing read is trusted: the walk is bounded, stops at a loop, and a node that cannot be
/// read ends it.
struct LinkMap {
    /// One `struct link_map` node.
    struct Entry: Equatable {
        /// The node's address, which identifies the object while it stays loaded.
        var node: UInt64
        /// l_addr: what to add to the file's virtual addresses.
        var base: UInt64
        /// l_name: the path the loader opened (empty for the program and the vDSO).
        var name: String

        /// A node and load address pair names one loaded object; a reopened library gets a new pair.
        var identity: Identity { Identity(node: node, base: base) }
    }

    struct Identity: Hashable {
        var node: UInt64
        var base: UInt64
    }

    /// Field offsets of the LP64 structures (glibc <link.h>).
    enum Layout {
        /// r_debug.r_map: the first link_map node.
        static let map: UInt64 = 8
        /// r_debug.r_brk: the function the loader calls around every change (`_dl_debug_state`).
        static let breakpoint: UInt64 = 16
        /// r_debug.r_state: RT_CONSISTENT (0), RT_ADD or RT_DELETE.
        static let state: UInt64 = 24
        /// link_map.l_addr, l_name, l_next.
        static let loadBias: UInt64 = 0
        static let name: UInt64 = 8
        static let next: UInt64 = 24
        /// One Elf64_Dyn entry: d_tag, then d_val.
        static let dynamicEntrySize: UInt64 = 16
    }

    /// DT_NULL and DT_DEBUG of <elf.h>.
    static let dynamicNull: UInt64 = 0
    static let dynamicDebug: UInt64 = 21
    /// r_state when the list is complete (RT_CONSISTENT).
    static let consistentState: UInt32 = 0

    /// Bounds on what a tracee's memory can make us read.
    static let maximumObjects = 65536
    static let maximumDynamicEntries: UInt64 = 4096
    static let maximumNameLength = 4096

    /// The objects in the loader's order: the program first.
    var entries: [Entry]

    /// Walks the list from r_debug.r_map; nil when r_map cannot be read.
    init?(rDebug: UInt64, memory: some TraceeReader) {
        guard var node = try? memory.word(at: rDebug &+ Layout.map) else { return nil }
        var entries: [Entry] = []
        var visited: Set<UInt64> = []
        while node != 0, visited.count < Self.maximumObjects, visited.insert(node).inserted {
            guard let base = try? memory.word(at: node &+ Layout.loadBias),
                  let nameAddress = try? memory.word(at: node &+ Layout.name),
                  let next = try? memory.word(at: node &+ Layout.next) else { break }
            let name = (try? memory.cString(at: nameAddress, limit: Self.maximumNameLength)) ?? ""
            entries.append(Entry(node: node, base: base, name: name))
            node = next
        }
        self.entries = entries
    }

    init(entries: [Entry]) { self.entries = entries }

    /// The address of r_debug, from the DT_DEBUG entry of the program's dynamic section as loaded at
    /// `address` (the loader fills it in); nil when there is none, or it is still 0.
    static func rDebug(dynamicSection address: UInt64, size: UInt64, memory: some TraceeReader) -> UInt64? {
        let count = min(size / Layout.dynamicEntrySize, maximumDynamicEntries)
        var found: UInt64 = 0
        var index: UInt64 = 0
        while index < count {
            let entry = address &+ index * Layout.dynamicEntrySize
            guard let tag = try? memory.word(at: entry), tag != dynamicNull else { break }
            if tag == dynamicDebug { found = (try? memory.word(at: entry &+ 8)) ?? 0 }
            index += 1
        }
        return found == 0 ? nil : found
    }

    /// r_debug.r_brk, nil when unreadable or 0.
    static func breakpointAddress(rDebug: UInt64, memory: some TraceeReader) -> UInt64? {
        guard let address = try? memory.word(at: rDebug &+ Layout.breakpoint), address != 0 else { return nil }
        return address
    }

    /// Whether r_state says the list is complete (the loader calls r_brk before and after each change).
    static func isConsistent(rDebug: UInt64, memory: some TraceeReader) -> Bool {
        guard let state = try? memory.word(at: rDebug &+ Layout.state) else { return false }
        return UInt32(truncatingIfNeeded: state) == consistentState
    }

    /// The objects in the list, for telling which armed ones are gone.
    var identities: Set<Identity> { Set(entries.map(\.identity)) }

    /// The entries not among `armed`, with their position in the list (0: the program).
    func entries(notIn armed: some Sequence<Identity>) -> [(position: Int, entry: Entry)] {
        let known = Set(armed)
        return entries.enumerated().filter { !known.contains($0.element.identity) }.map { ($0.offset, $0.element) }
    }

    /// The file of an entry: the program's own path for the first, nil for an object without a file (the
    /// vDSO); a relative name (dlopen("./x.so")) is relative to the process's working directory.
    static func path(of entry: Entry, position: Int, programPath: String, workingDirectory: String) -> String? {
        let path = position == 0 ? programPath : entry.name
        guard !path.isEmpty else { return nil }
        return path.hasPrefix("/") ? path : workingDirectory + "/" + path
    }
}
