import Foundation
import Linker

/// A regular file the walk found. Whether it is ELF is the checker's first question, asked on all cores:
/// reading the first bytes of every file is most of the cost of a walk.
public struct FoundFile: Hashable, Sendable {
    /// Canonical path inside the root (symlinks resolved), so each real file appears once.
    public var path: String
    public var hostPath: String
    /// Named on the command line: checked (and reported) even when it is not ELF.
    public var isExplicit = false

    /// The ELF magic, `\x7fELF`.
    static let magic = ELFIdentity.magic
}

/// What a walk of a root found: regular files (each once) and the problems met on the way.
public struct WalkResult: Sendable {
    public var files: [FoundFile] = []
    public var problems: [Problem] = []
    /// Regular files looked at (ELF or not).
    public var regularFiles = 0
    /// Directories not entered because they are pseudo file systems or other mounts.
    public var skippedDirectories: [String] = []
}

/// Walks a root file system for ELF files, the way an image would be laid out at run time:
/// each real file once (hard links and symlinks deduplicated by inode), symlinks followed inside the root,
/// `/proc`, `/sys`, `/dev` and other mounts left alone. It reads directories only: the ELF magic of each
/// file is read by the checker's workers, on all cores.
public struct RootWalker: Sendable {
    public var root: LoaderRoot
    /// Descend into directories on another device than the one each start path lives on.
    public var crossesMounts = false
    /// In-root directories never entered: kernel pseudo file systems, whose files are not part of an image.
    /// `/usr/lib/debug` holds separate debug files: ELF headers over sections the loader never sees.
    public var excludedDirectories: Set<String> = ["/proc", "/sys", "/dev", "/usr/lib/debug"]

    public init(root: LoaderRoot) { self.root = root }

    private struct FileID: Hashable { var device: UInt64; var inode: UInt64 }

    private struct State {
        var result = WalkResult()
        var seen: Set<FileID> = []
        var seenDirectories: Set<FileID> = []
        /// Symlinks to non-directories, resolved after the walk so a file's real path wins over its links.
        var links: [String] = []
    }

    /// Walks `paths` (in-root; default `/`). A start path that does not exist is an error of the
    /// check itself (the user named it), reported by throwing.
    public func walk(_ paths: [String] = ["/"]) throws(SystemCallError) -> WalkResult {
        var state = State()
        for path in paths.isEmpty ? ["/"] : paths {
            let inRoot = LoaderRoot.normalized(path)
            let canonical: String
            do {
                canonical = try root.realPath(inRoot)
            } catch {
                switch error {
                case .system(let failure): throw failure
                case .loop: throw SystemCallError("cannot resolve", path: inRoot, errno: ELOOP)
                case .missing, .notADirectory:
                    throw SystemCallError("cannot find", path: inRoot + (root.isHost ? "" : " in \(root.hostRoot)"), errno: ENOENT)
                }
            }
            let info = try root.linkStatus(canonical)
            switch info.type {
            case .directory:
                walkDirectory(canonical, device: info.device, state: &state)
            case .regular:
                // An explicitly named file is checked even if it is not ELF, so a typo is visible.
                visitRegular(canonical, id: FileID(device: info.device, inode: info.inode), explicit: true, state: &state)
            default:
                break
            }
        }
        for link in state.links { visitLink(link, state: &state) }
        return state.result
    }

    private func walkDirectory(_ start: String, device: UInt64, state: inout State) {
        var stack = [start]
        while let directory = stack.popLast() {
            let entries: [DirectoryEntry]
            let directoryDevice: UInt64
            do {
                let info = try root.linkStatus(directory)
                let id = FileID(device: info.device, inode: info.inode)
                guard state.seenDirectories.insert(id).inserted else { continue }
                if id.device != device, !crossesMounts, directory != start {
                    state.result.skippedDirectories.append(directory)
                    continue
                }
                directoryDevice = id.device
                entries = try root.directoryEntries(directory)
            } catch {
                state.result.problems.append(Problem(
                    kind: .unreadable, file: directory, neededBy: nil, subject: directory,
                    detail: "\(directory): cannot read directory: \(error.reason)"))
                continue
            }
            var subdirectories: [String] = []
            for entry in entries.sorted(by: { $0.name < $1.name }) {
                let path = directory == "/" ? "/" + entry.name : directory + "/" + entry.name
                var type = entry.type
                // A regular file lives on its directory's device; d_type is not guaranteed, so lstat
                // only when the file system did not say.
                var entryDevice = directoryDevice
                if type == .unknown, let info = try? root.linkStatus(path) {
                    type = info.type
                    entryDevice = info.device
                }
                switch type {
                case .directory:
                    if excludedDirectories.contains(path) {
                        state.result.skippedDirectories.append(path)
                    } else {
                        subdirectories.append(path)
                    }
                case .regular:
                    visitRegular(path, id: FileID(device: entryDevice, inode: entry.inode), explicit: false,
                                 state: &state)
                case .symlink:
                    state.links.append(path)
                default:
                    break
                }
            }
            // Depth-first in name order, so reports come out in a stable order.
            stack.append(contentsOf: subdirectories.reversed())
        }
    }

    private func visitRegular(_ path: String, id: FileID, explicit: Bool, state: inout State) {
        guard state.seen.insert(id).inserted else { return }
        state.result.regularFiles += 1
        if !explicit, Self.isNeverLoadable(path) { return }
        state.result.files.append(FoundFile(path: path, hostPath: root.hostPath(path), isExplicit: explicit))
    }

    /// A symlink found in the walk: its target is checked if the walk did not reach it by its real path
    /// (a link out of the walked paths), and a dangling link that looks like a program or library is a
    /// problem, because something will try to load or run it.
    private func visitLink(_ path: String, state: inout State) {
        let target: String
        do {
            target = try root.realPath(path)
        } catch {
            guard Self.matters(path) else { return }
            let written = (try? root.readlink(path)) ?? "?"
            let detail: String
            switch error {
            case .loop: detail = "symlink loop (\(path) -> \(written))"
            case .missing(let at): detail = "\(path) -> \(written): \(at) does not exist"
            case .notADirectory(let at): detail = "\(path) -> \(written): \(at) is not a directory"
            case .system(let failure): detail = "\(path) -> \(written): \(failure)"
            }
            state.result.problems.append(Problem(
                kind: .brokenSymlink, file: path, neededBy: nil, subject: written, detail: detail))
            return
        }
        guard let info = try? root.linkStatus(target), info.type == .regular else { return }
        visitRegular(target, id: FileID(device: info.device, inode: info.inode), explicit: false, state: &state)
    }

    /// File-name endings of data that is never an ELF program or library: sources, documentation,
    /// bytecode, archives, images. Opening a file costs three system calls; on a Debian root most files
    /// are of these kinds, so skipping them by name is most of the speed of a walk. (Relocatable `.o`
    /// and `ar` archives are ELF or hold ELF, but the loader never maps them.)
    static let neverLoadableExtensions: Set<String> = [
        "html", "htm", "pyc", "pyo", "py", "pyi", "gz", "xz", "bz2", "zst", "lz4", "zip", "jar", "whl",
        "h", "hh", "hpp", "c", "cc", "cpp", "cxx", "swift", "swiftdoc", "swiftinterface", "swiftsourceinfo",
        "swiftdeps", "rs", "go", "java", "js", "ts", "css", "json", "yaml", "yml", "toml", "xml", "svg",
        "png", "jpg", "jpeg", "gif", "ico", "woff", "woff2", "ttf", "otf", "pfb", "rst", "md", "txt", "tex",
        "mo", "po", "pl", "pm", "rb", "el", "elc", "vim", "sh", "bash", "csv", "pem", "crt", "der",
        "md5sums", "list", "conffiles", "triggers", "shlibs", "symbols", "patch", "diff", "o", "a", "la",
        "decTest", "bc", "dia", "pom", "desktop", "service", "conf",
    ]

    static func isNeverLoadable(_ path: String) -> Bool {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return false }
        return neverLoadableExtensions.contains(String(path[path.index(after: dot)...]))
    }

    /// A symlink whose name says it is a shared object, or that sits in a directory of programs.
    static func matters(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".so") || name.contains(".so.") { return true }
        let directory = path.split(separator: "/").dropLast().last.map(String.init) ?? ""
        return directory == "bin" || directory == "sbin"
    }
}
