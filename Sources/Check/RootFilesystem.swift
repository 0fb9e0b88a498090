import Foundation
import Linker

/// A directory treated as `/`, the way `chroot` would: absolute symlink targets are read inside it and
/// `..` stops at its top. Paths inside the root ("in-root paths") always start with `/`; host paths are
/// what the kernel opens.
///
/// Merged-/usr images are full of absolute links (`/lib64/ld-linux-x86-64.so.2 ->
/// /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`); following them on the host would check the build
/// machine instead of the image, so every symlink inside the root goes through `resolve(_:)`.
public struct RootFilesystem: Hashable, Sendable {
    /// The host path of the root, without a trailing slash; "" for the running system's own `/`.
    public let hostRoot: String

    /// Linux's own limit on symlinks followed in one lookup (MAXSYMLINKS); more means a loop.
    static let maximumSymlinks = 40

    public init(hostRoot: String) {
        var root = hostRoot
        while root.hasSuffix("/") { root.removeLast() }
        self.hostRoot = root
    }

    /// The running system.
    public static let host = RootFilesystem(hostRoot: "")

    public var isHost: Bool { hostRoot.isEmpty }

    /// The host path of an in-root path, without following anything.
    public func hostPath(_ inRootPath: String) -> String {
        let normal = Self.normalized(inRootPath)
        return normal == "/" ? (hostRoot.isEmpty ? "/" : hostRoot) : hostRoot + normal
    }

    /// `path` made absolute and stripped of `.`, `..` (never above `/`) and repeated slashes, lexically.
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Why an in-root path cannot be resolved.
    public enum ResolveError: Error, Hashable, Sendable {
        /// A component does not exist; `at` is the in-root path that was missing after following links.
        case missing(at: String)
        /// More than 40 symlinks were followed: a loop.
        case loop
        /// A component other than the last is not a directory.
        case notADirectory(at: String)
        /// lstat/readlink failed for another reason (EACCES, EIO).
        case system(SystemCallError)
    }

    /// Follows every symlink in `inRootPath` inside the root and returns the canonical in-root path of
    /// what it names, which exists. Like realpath(3) run under chroot.
    public func resolve(_ inRootPath: String) throws(ResolveError) -> String {
        var resolved: [String] = []
        var pending = Array(Self.components(of: inRootPath).reversed())
        var followed = 0
        while let part = pending.popLast() {
            if part == "." { continue }
            if part == ".." { _ = resolved.popLast(); continue }
            let candidate = "/" + (resolved + [part]).joined(separator: "/")
            let info: Glibc.stat
            do {
                info = try SystemCalls.linkStatus(hostPath(candidate))
            } catch {
                switch error.errno {
                case ENOENT: throw .missing(at: candidate)
                case ENOTDIR: throw .notADirectory(at: "/" + resolved.joined(separator: "/"))
                default: throw .system(error)
                }
            }
            let type = FileType(mode: info.st_mode)
            if type == .symlink {
                followed += 1
                if followed > Self.maximumSymlinks { throw .loop }
                let target: String
                do { target = try SystemCalls.readlink(hostPath(candidate)) } catch { throw .system(error) }
                if target.hasPrefix("/") { resolved.removeAll() }
                pending.append(contentsOf: Self.components(of: target).reversed())
                continue
            }
            resolved.append(part)
        }
        return "/" + resolved.joined(separator: "/")
    }

    /// The in-root path of a host path that lies inside the root, or nil when it does not.
    public func inRootPath(ofHostPath host: String) -> String? {
        if hostRoot.isEmpty { return Self.normalized(host) }
        let normal = Self.normalized(host)
        if normal == hostRoot { return "/" }
        guard normal.hasPrefix(hostRoot + "/") else { return nil }
        return String(normal.dropFirst(hostRoot.count))
    }

    static func components(of path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
