import Foundation

/// A root given as a tar archive (`docker export` output): unpacked with the system's tar into a
/// temporary directory, checked there, and removed. tar reads the archive; nothing in it is executed.
/// Device nodes are not unpacked (they are never ELF and need privileges), nor is `/dev`, `/proc`, `/sys`.
struct RootArchive {
    let directory: URL

    static func looksLikeArchive(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return (info.st_mode & S_IFMT) == S_IFREG
    }

    static func unpack(_ archive: String) throws(CheckError) -> RootArchive {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("linkscope-root-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        } catch {
            throw .archive(path: archive, reason: "cannot create a temporary directory: \(error.localizedDescription)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // tar detects compression itself (-a is for creation); --no-same-owner keeps files readable to us.
        process.arguments = ["tar", "-x", "-f", archive, "-C", directory.path, "--no-same-owner",
                             "--no-same-permissions", "--delay-directory-restore",
                             "--exclude=./dev/*", "--exclude=dev/*", "--exclude=./proc/*", "--exclude=proc/*",
                             "--exclude=./sys/*", "--exclude=sys/*"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw .archive(path: archive, reason: "cannot run tar: \(error.localizedDescription)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            try? FileManager.default.removeItem(at: directory)
            let firstLine = message.split(separator: "\n").first.map(String.init) ?? "tar exited with status \(process.terminationStatus)"
            throw .archive(path: archive, reason: "not a readable tar archive (\(firstLine))")
        }
        return RootArchive(directory: directory)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
