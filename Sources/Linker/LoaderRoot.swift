import Foundation

/// A directory the loader is modelled inside, as if it were `/` (`--root DIR`): absolute symlinks are read
/// inside it and `..` stops at its top, so a container image is resolved against its own files, never the
/// build machine's. The running system is the root with `hostRoot == ""`.
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

    public static let host = LoaderRoot(hostRoot: "")
    public var isHost: Bool { hostRoot.isEmpty }

    /// The host path of an absolute in-root path, nothing followed.
    public func hostPath(_ inRootPath: String) -> String {
        isHost ? inRootPath : hostRoot + (inRootPath.hasPrefix("/") ? inRootPath : "/" + inRootPath)
    }

    public enum LookupError: Error, Hashable, Sendable {
        case missing
        case loop
        case notADirectory
        case system(errno: Int32)
    }

    /// The canonical in-root path of `inRootPath` (absolute), every symlink followed inside the root:
    /// realpath(3) as it would run under chroot. The named file exists.
    public func realPath(_ inRootPath: String) throws(LookupError) -> String {
        if isHost {
            guard let resolved = realpath(inRootPath, nil) else {
                switch errno {
                case ENOENT: throw .missing
                case ELOOP: throw .loop
                case ENOTDIR: throw .notADirectory
                case let code: throw .system(errno: code)
                }
            }
            defer { free(resolved) }
            return String(cString: resolved)
        }
        var resolved: [Substring] = []
        var pending = Array(inRootPath.split(separator: "/").reversed())
        var followed = 0
        while let part = pending.popLast() {
            if part == "." { continue }
            if part == ".." { _ = resolved.popLast(); continue }
            let candidate = "/" + (resolved + [part]).joined(separator: "/")
            var info = stat()
            guard lstat(hostPath(candidate), &info) == 0 else {
                switch errno {
                case ENOENT: throw .missing
                case ENOTDIR: throw .notADirectory
                case let code: throw .system(errno: code)
                }
            }
            if (info.st_mode & S_IFMT) == S_IFLNK {
                followed += 1
                if followed > Self.maximumSymlinks { throw .loop }
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlink(hostPath(candidate), &buffer, Int(PATH_MAX))
                guard length >= 0 else { throw .system(errno: errno) }
                let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if target.hasPrefix("/") { resolved.removeAll() }
                pending.append(contentsOf: target.split(separator: "/").reversed())
                continue
            }
            if !pending.isEmpty, (info.st_mode & S_IFMT) != S_IFDIR { throw .notADirectory }
            resolved.append(part)
        }
        return "/" + resolved.joined(separator: "/")
    }

    /// The in-root path of a host path under the root, or nil when it lies outside.
    public func inRootPath(ofHostPath host: String) -> String? {
        if isHost { return host }
        let normal = LoaderPath.normalized(host)
        if normal == hostRoot { return "/" }
        guard normal.hasPrefix(hostRoot + "/") else { return nil }
        return String(normal.dropFirst(hostRoot.count))
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
    /// Absolute, without `.`/`..` components or repeated slashes.
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

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
