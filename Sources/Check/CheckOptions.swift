import Glibc
import Linker

/// What to check and how, as the command line says it.
public struct CheckOptions: Sendable {
    /// A directory, an image (root tar, docker save archive, OCI layout or archive), or nil for the
    /// running system.
    public var root: String?
    /// Paths inside the root; empty means all of it (or, with `additions`, the added files).
    public var paths: [String]
    /// Look for undefined symbols too (`--symbols`).
    public var symbols = false
    public var crossesMounts = false
    /// Worker threads.
    public var jobs = 1
    /// `--image NAME:TAG`: which image of an archive or layout holding several.
    public var image: String?
    /// `--platform OS/ARCH[/VARIANT]` of a multi-platform index (default linux/amd64).
    public var platform: String?
    /// `--add HOST[:PATH]`: host files checked as if copied into the image.
    public var additions: [Addition] = []
    /// `--provided NAME`: libraries the runtime supplies at start; a need of one is not a problem.
    public var provided: [String] = []
    /// `--runtime NAME`: built-in lists of what a container runtime injects (`nvidia`).
    public var runtimes: [RuntimeProfile] = []

    public init(root: String?, paths: [String]) {
        self.root = root
        self.paths = paths
    }
}

/// One `--add HOST[:PATH]`: a host file and where it lands in the image (default /usr/local/bin/NAME,
/// where a Dockerfile's `COPY app /usr/local/bin/` would put it).
public struct Addition: Hashable, Sendable {
    public var hostPath: String
    public var inRootPath: String

    public static let defaultDirectory = "/usr/local/bin"

    public init(hostPath: String, inRootPath: String) {
        self.hostPath = hostPath
        self.inRootPath = inRootPath
    }

    /// `HOST[:PATH]`; the last colon followed by `/` separates them, so a host name with colons still works.
    public init(argument: String) {
        let bytes = Array(argument.utf8)
        if let colon = bytes.indices.dropLast().last(where: { bytes[$0] == UInt8(ascii: ":") && bytes[$0 + 1] == UInt8(ascii: "/") }) {
            hostPath = String(decoding: bytes[..<colon], as: UTF8.self)
            inRootPath = LoaderRoot.normalized(String(decoding: bytes[(colon + 1)...], as: UTF8.self))
        } else {
            hostPath = argument
            let name = argument.split(separator: "/").last.map(String.init) ?? argument
            inRootPath = Self.defaultDirectory + "/" + name
        }
    }
}

/// Why the check itself could not run (exit status 2). A problem found in the root is a result, not one
/// of these.
public enum CheckError: Error, Sendable, CustomStringConvertible {
    case rootMissing(path: String, reason: String)
    case rootNotUsable(path: String, reason: String)
    case pathMissing(path: String, reason: String)
    case archive(path: String, reason: String)
    case usage(String)

    public var description: String {
        switch self {
        case .rootMissing(let path, let reason): return "root \(path): \(reason)"
        case .rootNotUsable(let path, let reason): return "root \(path): \(reason)"
        case .pathMissing(let path, let reason): return "\(path): \(reason)"
        case .archive(let path, let reason): return "image \(path): \(reason)"
        case .usage(let message): return message
        }
    }
}
