import Glibc
import Synchronization

/// Which names the directories of a search hold, each directory listed once per resolver.
///
/// A failed search tries every directory of RPATH, LD_LIBRARY_PATH, RUNPATH and the defaults under
/// every glibc-hwcaps and legacy subdirectory: 1,000 missing NEEDED against a 1,000-element RPATH are
/// 11 million candidate paths, each an lstat walk and a cache entry. With the listing, a candidate whose
/// directory does not exist, or does not hold its name, is a dictionary lookup: no system call, and
/// nothing stored per candidate. Directories are looked up inside the root (`LoaderRoot.realPath`), as
/// every other path is.
///
/// Only a sure "missing" is answered here. A directory that cannot be listed (EACCES without read
/// permission, a symlink loop, ENAMETOOLONG) answers nothing, and the caller probes the path itself, so
/// the verdicts are exactly those of a probe (which still says why a file that exists was rejected).
final class DirectoryListings: Sendable {
    private enum Listing: Sendable {
        /// The directory does not exist (or a component of it is not a directory).
        case absent
        case names(Set<String>)
        /// Cannot be listed: no answer.
        case unlistable
    }

    private let root: LoaderRoot
    private let listings = Mutex<[String: Listing]>([:])

    init(root: LoaderRoot) { self.root = root }

    /// True when the in-root absolute `path` surely names nothing: its directory is absent, or was listed
    /// and holds no entry of that name.
    func certainlyMissing(_ path: String) -> Bool {
        guard let slash = path.lastIndex(of: "/") else { return false }
        let name = String(path[path.index(after: slash)...])
        // "", "." and ".." are no directory entries (readdir's are skipped), but they name something.
        guard !name.isEmpty, name != ".", name != ".." else { return false }
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        switch listing(of: directory) {
        case .absent: return true
        case .names(let names): return !names.contains(name)
        case .unlistable: return false
        }
    }

    private func listing(of directory: String) -> Listing {
        if let known = listings.withLock({ $0[directory] }) { return known }
        let listing = Self.list(directory, in: root)
        listings.withLock { $0[directory] = listing }
        return listing
    }

    private static func list(_ directory: String, in root: LoaderRoot) -> Listing {
        let real: String
        do { real = try root.realPath(directory) } catch {
            switch error {
            case .missing, .notADirectory: return .absent
            case .loop, .system: return .unlistable
            }
        }
        guard let entries = try? root.directoryEntries(real) else {
            // ENOTDIR: a file where the directory should be is as good as absent; anything else, no answer.
            if let info = try? root.linkStatus(real), info.type != .directory { return .absent }
            return .unlistable
        }
        return .names(Set(entries.map(\.name)))
    }
}
