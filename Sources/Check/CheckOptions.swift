import Foundation

/// What to check and how, as the command line says it.
public struct CheckOptions: Sendable {
    /// A directory, a tar archive of one, or nil for the running system.
    public var root: String?
    /// Paths inside the root; empty means all of it.
    public var paths: [String]
    /// Look for undefined symbols too (`--symbols`).
    public var symbols = false
    public var crossesMounts = false
    /// Worker threads.
    public var jobs = 1

    public init(root: String?, paths: [String]) {
        self.root = root
        self.paths = paths
    }
}

/// Why the check itself could not run (exit status 2). A problem found in the root is a result, not one
/// of these.
public enum CheckError: Error, Sendable, CustomStringConvertible {
    case rootMissing(path: String, reason: String)
    case rootNotUsable(path: String, reason: String)
    case pathMissing(path: String, reason: String)
    case archive(path: String, reason: String)

    public var description: String {
        switch self {
        case .rootMissing(let path, let reason): return "root \(path): \(reason)"
        case .rootNotUsable(let path, let reason): return "root \(path): \(reason)"
        case .pathMissing(let path, let reason): return "\(path): \(reason)"
        case .archive(let path, let reason): return "archive \(path): \(reason)"
        }
    }
}
