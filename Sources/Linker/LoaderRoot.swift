import ELF
import Glibc
import Image

/// A directory treated as `/`, the way `chroot` would (`deps --root`, `check --root`), or a container image
/// read in place (its layers flattened into a `FileTree` in memory): absolute symlink targets are read
/// inside it and `..` stops at its top, so a container image is resolved against its own files, never the
/// build machine's. Paths inside the root ("in-root paths") start with `/`; host paths are what the kernel
/// opens. The running system is the root with `hostRoot == ""`.
///
/// Merged-/usr images are full of absolute links (`/lib64/ld-linux-x86-64.so.2 ->
/// /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`); following them on the host would check the build machine
/// instead of the image, so every symlink inside the root goes through `realPath(_:)`. Both kinds of root
/// answer the same few primitives (`linkStatus`, `readlink`, `directoryEntries`, `readPrefix`,
/// `contents`, `openELF`), and every rule about paths is written once, above them.
public struct LoaderRoot: Hashable, Sendable {
    /// The host path of the root, without a trailing slash; "" for the running system. For an image, the
    /// archive or layout it was read from (a name for messages: nothing is read under it).
    public let hostRoot: String
    /// The image's files, when the root is an image.
    public let image: FileTree?

    /// Linux's MAXSYMLINKS: more links followed in one lookup is a loop (ELOOP).
    static let maximumSymlinks = 40
    /// A configuration file (ld.so.conf, ld.so.cache, ld.so.preload) bigger than this is not one: read no
    /// further (Debian's cache is about 100 KB).
    static let maximumConfigurationSize = 64 << 20

    public init(hostRoot: String) {
        var root = hostRoot
        while root.hasSuffix("/") { root.removeLast() }
        self.hostRoot = root
        self.image = nil
    }

    /// An image's flattened layers as the root.
    public init(image: FileTree) {
        self.hostRoot = image.label
        self.image = image
    }

    public static func == (a: LoaderRoot, b: LoaderRoot) -> Bool {
        a.hostRoot == b.hostRoot && a.image.map(ObjectIdentifier.init) == b.image.map(ObjectIdentifier.init)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hostRoot)
        hasher.combine(image.map(ObjectIdentifier.init))
    }

    /// The running system.
    public static let host = LoaderRoot(hostRoot: "")
    public var isHost: Bool { image == nil && hostRoot.isEmpty }
    public var isImage: Bool { image != nil }

    /// The host path of an absolute in-root path, nothing followed. Inside a root `..` is clamped lexically
    /// at its top, so the host path never leaves the root; on the running system the path is the kernel's
    /// to read as given. For an image it is `ARCHIVE!/path`, a name for messages (as jar URLs write it)
    /// that names no host file: an image's files are read only through this type.
    public func hostPath(_ inRootPath: String) -> String {
        if isHost { return inRootPath }
        let normal = Self.normalized(inRootPath)
        if image != nil { return hostRoot + "!" + normal }
        return normal == "/" ? hostRoot : hostRoot + normal
    }

    /// Why an in-root path names nothing.
    public enum LookupError: Error, Hashable, Sendable {
        /// A component does not exist; `at` is the in-root path that was missing after following links.
        case missing(at: String)
        /// More than 40 symlinks were followed: a loop.
        case loop
        /// `at`, a component that is followed by more of the path (or a trailing `/`), is not a directory.
        case notADirectory(at: String)
        /// lstat/readlink failed for another reason (EACCES, ENAMETOOLONG, EIO).
        case system(SystemCallError)
    }

    /// The canonical in-root path of `inRootPath` (absolute; inside a root a relative path starts at its
    /// top), every symlink followed inside the root: realpath(3) as it would run under chroot, and on the
    /// running system realpath(3) itself, but saying where a lookup failed. The named file exists.
    public func realPath(_ inRootPath: String) throws(LookupError) -> String {
        if inRootPath.isEmpty { throw .missing(at: inRootPath) }
        // `resolved` is canonical and existing at every step ("" standing for "/"), so `..` only drops its
        // last component, as the kernel's `..` of a real directory would.
        var resolved = ""
        if isHost, !inRootPath.hasPrefix("/") {
            // A relative path on the running system starts where realpath(3) starts it (getcwd is canonical).
            let cwd = SystemCalls.currentDirectory()
            resolved = cwd == "/" ? "" : cwd
        }
        var pending = Self.steps(inRootPath)
        var followed = 0
        while let part = pending.popLast() {
            if part == "." { continue }
            if part == ".." {
                if let slash = resolved.lastIndex(of: "/") { resolved = String(resolved[..<slash]) }
                continue
            }
            let candidate = resolved + "/" + part
            let info: FileStatus
            do {
                info = try linkStatus(candidate)
            } catch {
                switch error.errno {
                case ENOENT: throw .missing(at: candidate)
                case ENOTDIR: throw .notADirectory(at: resolved.isEmpty ? "/" : resolved)
                default: throw .system(error)
                }
            }
            switch info.type {
            case .symlink:
                followed += 1
                if followed > Self.maximumSymlinks { throw .loop }
                let target: String
                do { target = try readlink(candidate) } catch { throw .system(error) }
                if target.hasPrefix("/") { resolved = "" }
                pending.append(contentsOf: Self.steps(target))
            case .directory:
                resolved = candidate
            default:
                // `file/name`, `file/.`, `file/..` and `file/` are ENOTDIR to the kernel.
                if !pending.isEmpty { throw .notADirectory(at: candidate) }
                resolved = candidate
            }
        }
        return resolved.isEmpty ? "/" : resolved
    }

    /// The in-root path of a host path under the root, or nil when it lies outside.
    public func inRootPath(ofHostPath host: String) -> String? {
        if isHost { return host }
        if image != nil {
            guard host.hasPrefix(hostRoot + "!/") else { return nil }
            return Self.normalized(String(host.dropFirst(hostRoot.count + 1)))
        }
        let normal = Self.normalized(host)
        if normal == hostRoot { return "/" }
        guard normal.hasPrefix(hostRoot + "/") else { return nil }
        return String(normal.dropFirst(hostRoot.count))
    }

    /// `path` made absolute and stripped of `.`, `..` (never above `/`) and repeated slashes, lexically: for
    /// paths a user typed and host paths that must stay in the root. (The loader never canonicalises its
    /// search paths.)
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The components of `path` in the order `realPath` pops them (last first). A trailing slash asks for a
    /// directory, so it becomes a final `.`.
    private static func steps(_ path: String) -> [Substring] {
        var parts = path.split(separator: "/")
        if path.hasSuffix("/"), !parts.isEmpty { parts.append(".") }
        return parts.reversed()
    }

    /// Whole file contents inside the root (configuration files), or nil when it cannot be read.
    public func contents(of inRootPath: String) -> [UInt8]? {
        guard let real = try? realPath(inRootPath) else { return nil }
        if let image {
            guard case .node(let node) = image.lookup(real), image.kind(node) == .regular else { return nil }
            return try? image.contents(node, path: real)
        }
        return try? SystemCalls.readWholeFile(hostPath(real), limit: Self.maximumConfigurationSize)
    }
}

// MARK: The primitives both kinds of root answer

/// What lstat(2) says about a name, as far as the loader and `check` care.
package struct FileStatus: Hashable, Sendable {
    package var type: FileType
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
}

extension LoaderRoot {
    /// The node of a name in an image whose parent is canonical (as `realPath` walks), with lstat's errors.
    private func imageNode(_ image: FileTree, _ inRootPath: String, operation: String) throws(SystemCallError) -> Int {
        switch image.lookup(inRootPath) {
        case .node(let node): return node
        case .missing: throw SystemCallError(operation, path: hostPath(inRootPath), errno: ENOENT)
        case .notADirectory: throw SystemCallError(operation, path: hostPath(inRootPath), errno: ENOTDIR)
        }
    }

    private static func fileType(_ kind: FileTree.Kind) -> FileType {
        switch kind {
        case .directory: return .directory
        case .regular: return .regular
        case .symlink: return .symlink
        case .special: return .other
        }
    }

    /// lstat of an in-root name, its parent taken as canonical (nothing but the kernel follows links in
    /// a directory root's parents; an image has no kernel, so callers pass canonical parents).
    package func linkStatus(_ inRootPath: String) throws(SystemCallError) -> FileStatus {
        if let image {
            let node = try imageNode(image, inRootPath, operation: "cannot stat")
            return FileStatus(type: Self.fileType(image.kind(node)), device: 0, inode: UInt64(node), size: image.size(node))
        }
        let info = try SystemCalls.linkStatus(hostPath(inRootPath))
        return FileStatus(type: FileType(mode: info.st_mode), device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
                          size: Int64(info.st_size))
    }

    /// stat: the name's symlinks followed inside the root.
    package func status(_ inRootPath: String) throws(SystemCallError) -> FileStatus {
        let real: String
        do { real = try realPath(inRootPath) } catch {
            switch error {
            case .missing: throw SystemCallError("cannot stat", path: hostPath(inRootPath), errno: ENOENT)
            case .notADirectory: throw SystemCallError("cannot stat", path: hostPath(inRootPath), errno: ENOTDIR)
            case .loop: throw SystemCallError("cannot stat", path: hostPath(inRootPath), errno: ELOOP)
            case .system(let failure): throw failure
            }
        }
        return try linkStatus(real)
    }

    /// A symlink's target as written.
    package func readlink(_ inRootPath: String) throws(SystemCallError) -> String {
        if let image {
            let node = try imageNode(image, inRootPath, operation: "cannot read symlink")
            guard image.kind(node) == .symlink else {
                throw SystemCallError("cannot read symlink", path: hostPath(inRootPath), errno: EINVAL)
            }
            return image.linkTarget(node)
        }
        return try SystemCalls.readlink(hostPath(inRootPath))
    }

    /// The names in a canonical in-root directory, with their types and inodes.
    package func directoryEntries(_ inRootPath: String) throws(SystemCallError) -> [DirectoryEntry] {
        if let image {
            let node = try imageNode(image, inRootPath, operation: "cannot read directory")
            guard image.kind(node) == .directory else {
                throw SystemCallError("cannot read directory", path: hostPath(inRootPath), errno: ENOTDIR)
            }
            return image.entries(node).map {
                DirectoryEntry(name: $0.name, type: Self.fileType(image.kind($0.node)), inode: UInt64($0.node))
            }
        }
        return try SystemCalls.directoryEntries(hostPath(inRootPath))
    }

    /// Up to `count` bytes from the start of the file at an in-root path, symlinks followed inside the root.
    /// A FIFO reads as empty (never blocks); in an image a device node or FIFO is an entry, never opened,
    /// and reads as empty too.
    public func readPrefix(_ inRootPath: String, count: Int) throws(SystemCallError) -> [UInt8] {
        try readPrefix(realPath: try canonical(inRootPath, operation: "cannot open"), count: count)
    }

    /// `readPrefix` of a path already canonical (from `realPath` or a walk), without resolving it again.
    package func readPrefix(realPath real: String, count: Int) throws(SystemCallError) -> [UInt8] {
        guard let image else { return try SystemCalls.readPrefix(hostPath(real), count: count) }
        let node = try imageNode(image, real, operation: "cannot open")
        switch image.kind(node) {
        case .directory: throw SystemCallError("cannot read", path: hostPath(real), errno: EISDIR)
        case .special, .symlink: return []
        case .regular:
            do { return try image.readPrefix(node, count: count, path: real) } catch {
                throw SystemCallError("cannot read (\(error.reason))", path: hostPath(real), errno: EIO)
            }
        }
    }

    /// The ELF file at an in-root path, symlinks followed inside the root: opened from the host for a
    /// directory root, parsed from the image's bytes for an image.
    public func openELF(_ inRootPath: String) throws(ELFError) -> ELFFile {
        let real: String
        do { real = try canonical(inRootPath, operation: "cannot open") } catch {
            throw .cannotOpen(path: hostPath(inRootPath), errno: error.errno)
        }
        return try openELF(realPath: real)
    }

    /// `openELF` of a path already canonical.
    package func openELF(realPath real: String) throws(ELFError) -> ELFFile {
        guard let image else { return try ELFFile(path: hostPath(real)) }
        guard case .node(let node) = image.lookup(real) else { throw .cannotOpen(path: hostPath(real), errno: ENOENT) }
        switch image.kind(node) {
        case .directory: throw .isDirectory(path: hostPath(real))
        case .regular: break
        default: throw .tooShort(path: hostPath(real), size: 0)
        }
        let bytes: [UInt8]
        do { bytes = try image.contents(node, path: real) } catch {
            throw .malformed(path: hostPath(real), reason: error.reason)
        }
        return try ELFFile(bytes: bytes, name: hostPath(real))
    }

    /// glob(3) of an absolute in-root pattern (`*`, `?`, `[…]` in any component, fnmatch rules, a leading
    /// dot matched only explicitly), inside the root for both kinds of root: each directory is listed
    /// through `directoryEntries` after `realPath`, so a symlink in a pattern's directory is followed
    /// inside the root, never on the host. Matches are in-root paths as the pattern spells them, sorted.
    /// (`LDSoConf`'s `include` lines are what this is for.)
    public func glob(_ pattern: String) -> [String] {
        var matches = [""]
        for part in pattern.split(separator: "/").map(String.init) {
            let isPattern = part.contains { "*?[".contains($0) }
            var next: [String] = []
            for prefix in matches {
                if !isPattern {
                    next.append(prefix + "/" + part)
                    continue
                }
                guard let directory = try? realPath(prefix.isEmpty ? "/" : prefix),
                      let entries = try? directoryEntries(directory) else { continue }
                for entry in entries where fnmatch(part, entry.name, FNM_PERIOD) == 0 {
                    next.append(prefix + "/" + entry.name)
                }
            }
            matches = next
        }
        // Literal components were not looked at: only names that exist are matches, as glob(3) returns.
        return matches.filter { (try? realPath($0.isEmpty ? "/" : $0)) != nil }.map { $0.isEmpty ? "/" : $0 }.sorted()
    }

    /// `realPath` with its failure as the errno the kernel would give.
    private func canonical(_ inRootPath: String, operation: String) throws(SystemCallError) -> String {
        do { return try realPath(inRootPath) } catch {
            switch error {
            case .missing: throw SystemCallError(operation, path: hostPath(inRootPath), errno: ENOENT)
            case .notADirectory: throw SystemCallError(operation, path: hostPath(inRootPath), errno: ENOTDIR)
            case .loop: throw SystemCallError(operation, path: hostPath(inRootPath), errno: ELOOP)
            case .system(let failure): throw failure
            }
        }
    }
}

/// Lexical path helpers the loader itself uses (it never canonicalises search paths).
enum LoaderPath {
    /// `path` made absolute against `directory` when it is relative, otherwise unchanged.
    static func absolute(_ path: String, in directory: String) -> String {
        if path.hasPrefix("/") { return path }
        return (directory.hasSuffix("/") ? directory : directory + "/") + path
    }

    /// The directory part as `_dl_new_object` computes `l_origin`: everything before the last slash
    /// ("/" for a file at the top), without resolving anything.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let head = path[..<slash]
        return head.isEmpty ? "/" : String(head)
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
