import Glibc

/// Turns one tar stream (a flat root or a layer) into tree members, deciding for each regular file what
/// to keep: a file read in place from an uncompressed archive costs nothing to keep (its offset); from a
/// compressed stream only what a check reads is held — ELF files, the loader's configuration and `#!`
/// scripts (for an entry point's interpreter) — and of everything else the first bytes, which say it is
/// not ELF.
enum LayerReader {
    /// Bytes read from every member to tell ELF from the rest (the ELF header the resolver verifies).
    static let prefixSize = 64
    /// The ELF magic.
    static let elfMagic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]
    /// Configuration under /etc is held whole up to this size (ld.so.conf and its includes, ld.so.cache).
    static let maximumConfigurationSize: Int64 = 16 << 20
    static let shebang: [UInt8] = Array("#!".utf8)
    static let maximumScriptSize: Int64 = 1 << 20

    static func members(of blob: Blob, name: String) throws(ImageError) -> [(name: String, member: FileTreeBuilder.Member)] {
        let reader = TarReader(try blob.stream(name: name))
        let inPlaceFile: OpenFile?
        if case .file(let file, _, _) = blob, reader.source is FileRangeSource { inPlaceFile = file } else { inPlaceFile = nil }
        var result: [(name: String, member: FileTreeBuilder.Member)] = []
        while let entry = try reader.next() {
            let member: FileTreeBuilder.Member
            switch entry.kind {
            case .directory: member = .directory
            case .symlink(let target): member = .symlink(target)
            case .hardLink(let target): member = .hardLink(target)
            case .special(let what): member = .special(what.rawValue)
            case .regular:
                if let inPlaceFile, let offset = reader.bodyFileOffset {
                    // The member's bytes stay where they are; the reader seeks past them.
                    member = .regular(.inFile(inPlaceFile, offset: offset, size: entry.size), size: entry.size)
                } else {
                    let head = try reader.readBody(limit: Int64(prefixSize))
                    if keepsWhole(entry, head: head) {
                        member = .regular(.bytes(head + (try reader.readBody())), size: entry.size)
                    } else {
                        member = .regular(.prefix(head), size: entry.size)
                    }
                }
            }
            result.append((entry.path, member))
        }
        return result
    }

    static func keepsWhole(_ entry: TarEntry, head: [UInt8]) -> Bool {
        if Int64(head.count) == entry.size { return true }
        if head.starts(with: elfMagic) { return true }
        // A script's `#!` line names the ELF file that really starts (an entry point often is one).
        if head.starts(with: shebang) { return entry.size <= maximumScriptSize }
        let parts = FileTreeBuilder.components(entry.path)
        if parts.last?.hasPrefix("ld.so") == true { return true }
        return parts.first == "etc" && entry.size <= maximumConfigurationSize
    }
}
