import Foundation

/// A directory treated as `/`, the way `chroot` would (`deps --root`, `check --root`): absolute symlink
/// targets are read inside it and `..` stops at its top, so a container image is resolved against its own
/// files, never the build machine's. Paths inside the root ("in-root paths") start with `/`; host paths are
/// what the kernel opens. The running system is the root with `hostRoot == ""`.
///
/// Merged-/usr images are full of absolute links (`/lib64/ld-linux-x86-64.so.2 ->
/// /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`); following them on the host would check the build machine
/// instead of the image, so every symlink inside the root goes through `realPath(_:)`.
public struct LoaderRoot: Hashable, Sendable {
    /// The host path of the root, without a trailing slash; "" for the running system.
    public let hostRoot: String

    /// Linux's MAXSYMLINKS: more links followed in one lookup is a loop (ELOOP).
    static let maximumSymlinks = 40

    public init(hostRoot: String) {
        var root = hostRoot
        while root.hasSuffix("/") { root.removeLast() }
        self.hostRoot = root
    }

    /// The running system.
    public static let host = LoaderRoot(hostRoot: "")
    public var isHost: Bool { hostRoot.isEmpty }

    /// The host path of an absolute in-root path, nothing followed. Inside a root `..` is clamped lexically
    /// at its top, so the host path never leaves the root; on the running system the path is the kernel's
    /// to read as given.
    public func hostPath(_ inRootPath: String) -> String {
        if isHost { return inRootPath }
        let normal = Self.normalized(inRootPath)
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
            let cwd = FileManager.default.currentDirectoryPath
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
            let info: Glibc.stat
            do {
                info = try SystemCalls.linkStatus(hostRoot + candidate)
            } catch {
                switch error.errno {
                case ENOENT: throw .missing(at: candidate)
                case ENOTDIR: throw .notADirectory(at: resolved.isEmpty ? "/" : resolved)
                default: throw .system(error)
                }
            }
            switch FileType(mode: info.st_mode) {
            case .symlink:
                followed += 1
                if followed > Self.maximumSymlinks { throw .loop }
                let target: String
                do { target = try SystemCalls.readlink(hostRoot + candidate) } catch { throw .system(error) }
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
    func contents(of inRootPath: String) -> [UInt8]? {
        guard let real = try? realPath(inRootPath),
              let data = FileManager.default.contents(atPath: hostPath(real)) else { return nil }
        return [UInt8](data)
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
