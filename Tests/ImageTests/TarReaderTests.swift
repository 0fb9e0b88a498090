import Foundation
@testable import Image
import Testing
import TestSupport

/// The tar reader against archives written by GNU tar itself (ustar, GNU, pax, sparse) and by TarWriter.
@Suite struct TarReaderTests {
    /// A directory with a 150-character path and a symlink whose target is 150 characters: beyond ustar's
    /// 100-byte name and link fields, so GNU tar writes `L`/`K` members and pax writes `path`/`linkpath`.
    func makeTree() throws -> (URL, String, String) {
        let dir = try TestSupport.temporaryDirectory("tar-reader")
        let deep = "d" + String(repeating: "e", count: 60) + "/" + String(repeating: "f", count: 60) + "/lib"
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("root/" + deep), withIntermediateDirectories: true)
        let longName = deep + "/libwith-a-long-name-" + String(repeating: "x", count: 20) + ".so.1"
        try Data("\u{7f}ELF-not-really".utf8).write(to: dir.appendingPathComponent("root/" + longName))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("root/link").path, withDestinationPath: "/" + longName)
        return (dir, "/" + longName, "/" + longName)
    }

    func tree(_ path: String) throws -> FileTree { try ImageReader.open(path).tree }

    @Test(arguments: ["gnu", "pax", "ustar"])
    func longNamesAndLinksInEveryFormat(format: String) throws {
        let (dir, longName, target) = try makeTree()
        defer { try? FileManager.default.removeItem(at: dir) }
        let archive = dir.appendingPathComponent("root.tar").path
        // ustar has no long links: it gets the file alone, its name split into the prefix and name fields.
        let members = format == "ustar" ? [String(longName.dropFirst())] : ["."]
        let made = TestSupport.run(["/usr/bin/tar", "--format=\(format)", "-cf", archive, "-C", dir.appendingPathComponent("root").path] + members)
        #expect(made.status == 0, "\(made.stderr)")
        let tree = try tree(archive)
        guard case .node(let file) = tree.lookup(longName) else {
            Issue.record("\(longName) missing from the \(format) archive")
            return
        }
        #expect(tree.kind(file) == .regular)
        #expect(try tree.contents(file, path: longName) == Array("\u{7f}ELF-not-really".utf8))
        if format != "ustar", case .node(let link) = tree.lookup("/link") {
            #expect(tree.kind(link) == .symlink)
            #expect(tree.linkTarget(link) == target)
        }
    }

    @Test func aPaxGlobalHeaderIsReadAndSkipped() throws {
        let (dir, longName, _) = try makeTree()
        defer { try? FileManager.default.removeItem(at: dir) }
        let archive = dir.appendingPathComponent("root.tar").path
        // keyword=value (no colon) goes into a global `g` header.
        let made = TestSupport.run(["/usr/bin/tar", "--format=pax", "--pax-option=comment=made-by-a-test", "-cf", archive,
                                    "-C", dir.appendingPathComponent("root").path, "."])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(TestSupport.run(["/usr/bin/grep", "-c", "made-by-a-test", archive]).stdout.hasPrefix("1"))
        guard case .node = try tree(archive).lookup(longName) else { Issue.record("missing after a g header"); return }
    }

    @Test(arguments: ["gnu", "pax"])
    func sparseMembersAreRefusedWithAMessage(format: String) throws {
        let dir = try TestSupport.temporaryDirectory("tar-sparse")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let sparse = root.appendingPathComponent("holes.so")
        #expect(TestSupport.run(["/usr/bin/truncate", "-s", "8M", sparse.path]).status == 0)
        let handle = try FileHandle(forWritingTo: sparse)
        try handle.seek(toOffset: 4 << 20)
        handle.write(Data("data in the middle".utf8))
        try handle.close()
        let archive = dir.appendingPathComponent("sparse.tar").path
        let made = TestSupport.run(["/usr/bin/tar", "--format=\(format)", "-S", "-cf", archive, "-C", root.path, "holes.so"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(throws: ImageError.self) { try ImageReader.open(archive) }
        do { _ = try ImageReader.open(archive) } catch {
            #expect(error.reason.hasPrefix("sparse member "), "\(error)")
            #expect(error.reason.contains("holes.so"), "\(error)")
        }
    }

    @Test func compressionIsToldByMagicBytes() throws {
        var writer = TarWriter()
        writer.add("usr/", .directory)
        writer.add("usr/lib/libx.so.1", .file(Array("\u{7f}ELF and more".utf8)))
        let dir = try TestSupport.temporaryDirectory("tar-compress")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Names that lie: the gzip one is called .zst and the other way round.
        let plain = dir.appendingPathComponent("root.bin")
        try writer.write(to: plain)
        #expect(TestSupport.run(["/bin/sh", "-c", "gzip -c \"$0\" > \"$1\"", plain.path, dir.appendingPathComponent("a.zst").path]).status == 0)
        #expect(TestSupport.run(["/bin/sh", "-c", "zstd -q -c \"$0\" > \"$1\"", plain.path, dir.appendingPathComponent("b.gz").path]).status == 0)
        for name in ["root.bin", "a.zst", "b.gz"] {
            let tree = try tree(dir.appendingPathComponent(name).path)
            guard case .node(let node) = tree.lookup("/usr/lib/libx.so.1") else { Issue.record("\(name): missing"); continue }
            #expect(try tree.contents(node, path: "") == Array("\u{7f}ELF and more".utf8), "\(name)")
        }
        #expect(TestSupport.run(["/bin/sh", "-c", "xz -c \"$0\" > \"$1\" 2>/dev/null || printf '\\375\\067\\172\\130\\132\\000junk' > \"$1\"",
                                 plain.path, dir.appendingPathComponent("c.tar").path]).status == 0)
        do {
            _ = try ImageReader.open(dir.appendingPathComponent("c.tar").path)
            Issue.record("xz accepted")
        } catch {
            #expect(error.reason == "xz-compressed data is not supported (gzip, zstd or uncompressed tar)")
        }
    }

    @Test func truncatedAndCorruptArchivesSayWhereTheyBreak() throws {
        var writer = TarWriter()
        writer.add("usr/lib/libx.so.1", .file([UInt8](repeating: 0x7f, count: 5000)))
        let dir = try TestSupport.temporaryDirectory("tar-truncated")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cut = dir.appendingPathComponent("cut.tar")
        try Data(writer.finished().prefix(2048)).write(to: cut)
        do { _ = try ImageReader.open(cut.path); Issue.record("truncated accepted") } catch {
            #expect(error.reason == "truncated tar archive: member data ends at offset 2048, 3464 bytes early")
        }
        // A size field claiming far more than the archive holds is a truncation, never an allocation.
        var huge = writer.finished()
        let claim = Array("77777777777".utf8)
        for (index, byte) in claim.enumerated() { huge[124 + index] = byte }
        var sum = 0
        for index in 0..<512 { sum += (148..<156).contains(index) ? 32 : Int(huge[index]) }
        let digits = Array((String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8)).utf8)
        for (index, byte) in digits.enumerated() { huge[148 + index] = byte }
        huge[154] = 0
        let bomb = dir.appendingPathComponent("bomb.tar")
        try Data(huge).write(to: bomb)
        do { _ = try ImageReader.open(bomb.path); Issue.record("bomb accepted") } catch {
            #expect(error.reason.hasPrefix("truncated tar archive"), "\(error)")
        }
    }
}
