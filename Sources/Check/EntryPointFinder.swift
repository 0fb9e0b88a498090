import Image
import Linker

/// Finds the program an image starts, as a runtime does: Entrypoint then Cmd, the first word looked up
/// through the image config's PATH (runc's default when the config sets none) unless it has a slash, and
/// a script's `#!` interpreter, which is the ELF file the kernel really starts.
struct EntryPointFinder {
    let root: LoaderRoot
    let config: ImageConfig

    /// What runc and Docker use when the image sets no PATH.
    static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    /// `#!` lines longer than the kernel's BINPRM_BUF_SIZE are cut there.
    static let shebangLimit = 256

    static func searchPath(_ config: ImageConfig) -> String { config.value(of: "PATH") ?? defaultSearchPath }

    func find() -> CheckReport.EntryPoint? {
        let command = config.entrypoint + config.command
        guard let program = command.first, !program.isEmpty else { return nil }
        var entry = CheckReport.EntryPoint(command: command, path: nil, interpreter: nil)
        let candidates: [String]
        if program.contains("/") {
            let directory = config.workingDirectory.isEmpty ? "/" : config.workingDirectory
            candidates = [program.hasPrefix("/") ? program : directory + "/" + program]
        } else {
            candidates = Self.searchPath(config).split(separator: ":", omittingEmptySubsequences: false).map { directory in
                (directory.isEmpty ? "." : String(directory)) + "/" + program
            }.map { $0.hasPrefix("/") ? $0 : "/" + $0 }
        }
        for candidate in candidates {
            guard let real = try? root.realPath(candidate), let info = try? root.linkStatus(real), info.type == .regular else { continue }
            entry.path = real
            break
        }
        if let path = entry.path, let head = try? root.readPrefix(path, count: Self.shebangLimit),
           head.starts(with: Array("#!".utf8)) {
            let line = head.dropFirst(2).prefix { $0 != UInt8(ascii: "\n") }
            let words = String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" })
            if let interpreter = words.first {
                entry.interpreter = (try? root.realPath(String(interpreter))) ?? String(interpreter)
            }
        }
        return entry
    }
}
