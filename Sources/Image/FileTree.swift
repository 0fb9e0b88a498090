import Glibc

/// An image's file system as a tree in memory, built from its layers: what `/` would look like inside
/// the container, without a byte of it written to disk. Device nodes, FIFOs and sockets are entries, never
/// created; a hard link is a second name for the same node (so its inode is shared, as on disk).
///
/// Paths given to the tree are canonical in-root paths (`/usr/lib/x`): which names are symlinks and where
/// they lead is decided by the Linker's `LoaderRoot`, the one home of the in-root path rules. The tree only
/// answers "what is at this exact name".
public final class FileTree: Sendable {
    public enum Kind: Hashable, Sendable {
        case directory
        case regular
        case symlink
        /// A device node or FIFO, as the archive describes it: listed, never opened.
        case special(String)
    }

    /// Where a regular file's bytes are.
    enum Content: Sendable {
        case none
        /// Held in memory (ELF files and configuration read from a compressed layer, `--add` files).
        case bytes([UInt8])
        /// In place in an uncompressed archive or blob: read when asked for, never copied whole before.
        case inFile(OpenFile, offset: Int64, size: Int64)
        /// Only the first bytes were kept (data files in a compressed layer): enough to tell it is not ELF.
        case prefix([UInt8])
    }

    struct Node: Sendable {
        var kind: Kind
        var size: Int64
        var target = ""
        var content = Content.none
    }

    /// What a lookup of an exact name found.
    public enum Lookup: Hashable, Sendable {
        case node(Int)
        case missing
        /// A component before the last is not a directory (ENOTDIR); `at` is the path up to it.
        case notADirectory(at: String)
    }

    /// A name in the tree's messages, usually the archive or layout the user gave.
    public let label: String
    let nodes: [Node]
    let children: [[String: Int]]
    static let rootNode = 0

    init(label: String, nodes: [Node], children: [[String: Int]]) {
        self.label = label
        self.nodes = nodes
        self.children = children
    }

    /// The node at `path`, components taken literally (no symlink followed).
    public func lookup(_ path: String) -> Lookup {
        var current = Self.rootNode
        var walked = ""
        for part in path.split(separator: "/") {
            if part == "." { continue }
            guard nodes[current].kind == .directory else { return .notADirectory(at: walked.isEmpty ? "/" : walked) }
            guard let child = children[current][String(part)] else { return .missing }
            walked += "/" + part
            current = child
        }
        return .node(current)
    }

    public func kind(_ node: Int) -> Kind { nodes[node].kind }
    public func size(_ node: Int) -> Int64 { nodes[node].size }
    public func linkTarget(_ node: Int) -> String { nodes[node].target }

    /// A directory's names and nodes, unordered.
    public func entries(_ node: Int) -> [(name: String, node: Int)] {
        children[node].map { (name: $0.key, node: $0.value) }
    }

    public var nodeCount: Int { nodes.count }

    /// Up to `count` bytes from the start of a regular file.
    public func readPrefix(_ node: Int, count: Int, path: String) throws(ImageError) -> [UInt8] {
        switch nodes[node].content {
        case .none: return []
        case .bytes(let bytes): return Array(bytes.prefix(count))
        case .prefix(let bytes):
            guard bytes.count >= count || Int64(bytes.count) == nodes[node].size else {
                throw ImageError(label, "\(path): only the first \(bytes.count) bytes were kept (not an ELF file)")
            }
            return Array(bytes.prefix(count))
        case .inFile(let file, let offset, let size):
            return try file.bytes(at: offset, count: Int(min(Int64(count), size)))
        }
    }

    /// A regular file's whole contents.
    public func contents(_ node: Int, path: String) throws(ImageError) -> [UInt8] {
        switch nodes[node].content {
        case .none: return []
        case .bytes(let bytes): return bytes
        case .prefix(let bytes):
            guard Int64(bytes.count) == nodes[node].size else {
                throw ImageError(label, "\(path): not kept in memory (not an ELF or configuration file)")
            }
            return bytes
        case .inFile(let file, let offset, let size):
            let bytes = try file.bytes(at: offset, count: Int(size))
            guard Int64(bytes.count) == size else {
                throw ImageError(file.path, "\(path) at offset \(offset): the archive is shorter than it was (changed while checking?)")
            }
            return bytes
        }
    }
}

/// Builds a `FileTree` from tar members, layer after layer, as a container runtime's snapshotter would
/// lay them out: names made safe (`..` and absolute names stay inside), parents created, symlinks in a
/// parent followed inside the tree, OCI whiteouts applied to what lower layers left.
struct FileTreeBuilder {
    private(set) var nodes: [FileTree.Node] = [FileTree.Node(kind: .directory, size: 0)]
    private(set) var children: [[String: Int]] = [[:]]
    /// Members not applied, with why (a hard link to nothing, a name through a symlink loop).
    private(set) var skipped: [String] = []

    /// OCI image spec, layer.md: `.wh.NAME` deletes NAME from lower layers; `.wh..wh..opq` empties its directory.
    static let whiteoutPrefix = ".wh."
    static let opaqueMarker = ".wh..wh..opq"
    /// Linux's MAXSYMLINKS.
    static let maximumSymlinks = 40

    func build(label: String) -> FileTree { FileTree(label: label, nodes: nodes, children: children) }

    /// The components of a member name made safe: `./`, leading slashes, empty parts dropped, `..` clamped
    /// at the top, so a member named `../../etc/x` or `/etc/x` lands at `/etc/x` of the image.
    static func components(_ name: String) -> [String] {
        var parts: [String] = []
        for part in name.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(String(part))
        }
        return parts
    }

    private mutating func newNode(_ node: FileTree.Node) -> Int {
        nodes.append(node)
        children.append([:])
        return nodes.count - 1
    }

    /// The directory at `parts`, symlinks followed inside the tree; missing directories are created (and a
    /// non-directory in the way is replaced) when `create`. nil for a symlink loop, or a missing name
    /// when not creating.
    private mutating func directory(_ parts: [String], create: Bool) -> Int? {
        var stack = [FileTree.rootNode]
        var pending = Array(parts.reversed())
        var followed = 0
        while let part = pending.popLast() {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                if stack.count > 1 { stack.removeLast() }
                continue
            }
            let current = stack[stack.count - 1]
            if let child = children[current][part] {
                switch nodes[child].kind {
                case .directory:
                    stack.append(child)
                    continue
                case .symlink:
                    followed += 1
                    guard followed <= Self.maximumSymlinks else { return nil }
                    let target = nodes[child].target
                    if target.hasPrefix("/") { stack = [FileTree.rootNode] }
                    pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
                    continue
                default:
                    guard create else { return nil }
                }
            } else if !create {
                return nil
            }
            let made = newNode(FileTree.Node(kind: .directory, size: 0))
            children[current][part] = made
            stack.append(made)
        }
        return stack[stack.count - 1]
    }

    /// The node a hard link names: an archive path, taken literally in its last component.
    private mutating func existing(_ parts: [String]) -> Int? {
        guard let last = parts.last else { return FileTree.rootNode }
        guard let parent = directory(Array(parts.dropLast()), create: false) else { return nil }
        return children[parent][last]
    }

    /// One member whose data (if any) has been captured in `content`.
    enum Member {
        case directory
        case regular(FileTree.Content, size: Int64)
        case symlink(String)
        case hardLink(String)
        case special(String)
    }

    /// Applies one layer's members: first its whiteouts and opaque markers against the lower layers (OCI:
    /// they never hide the same layer's own entries), then its entries in archive order.
    mutating func apply(layer members: [(name: String, member: Member)], whiteouts: Bool) {
        var entries = members
        if whiteouts {
            entries = []
            for (name, member) in members {
                let parts = Self.components(name)
                guard let last = parts.last, last.hasPrefix(Self.whiteoutPrefix) else {
                    entries.append((name, member))
                    continue
                }
                let parentParts = Array(parts.dropLast())
                if last == Self.opaqueMarker {
                    if let directory = directory(parentParts, create: true) { children[directory] = [:] }
                } else if last.hasPrefix(Self.whiteoutPrefix + Self.whiteoutPrefix) {
                    // Other `.wh..wh.` names (aufs's `.wh..wh.plnk`) are bookkeeping of the tool, not files.
                    continue
                } else if let directory = directory(parentParts, create: false) {
                    children[directory][String(last.dropFirst(Self.whiteoutPrefix.count))] = nil
                }
            }
        }
        for (name, member) in entries { add(name, member) }
    }

    mutating func add(_ name: String, _ member: Member) {
        let parts = Self.components(name)
        guard let last = parts.last else {
            return  // `./` itself: the root exists already.
        }
        guard let parent = directory(Array(parts.dropLast()), create: true) else {
            skipped.append("\(name): a parent directory is a symlink loop")
            return
        }
        let node: Int
        switch member {
        case .directory:
            if let present = children[parent][last], nodes[present].kind == .directory { return }
            node = newNode(FileTree.Node(kind: .directory, size: 0))
        case .regular(let content, let size):
            node = newNode(FileTree.Node(kind: .regular, size: size, content: content))
        case .symlink(let target):
            node = newNode(FileTree.Node(kind: .symlink, size: Int64(target.utf8.count), target: target))
        case .special(let what):
            node = newNode(FileTree.Node(kind: .special(what), size: 0))
        case .hardLink(let target):
            guard let linked = existing(Self.components(target)), nodes[linked].kind != .directory else {
                skipped.append("\(name): hard link to \(target), which is not in the image")
                return
            }
            node = linked
        }
        children[parent][last] = node
    }
}
