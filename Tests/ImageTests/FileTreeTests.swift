import Foundation
import TestSupport
@testable import Image
import Testing

/// Layers applied as a container runtime applies them (OCI image-spec layer.md).
@Suite struct FileTreeTests {
    typealias Member = FileTreeBuilder.Member
    func file(_ text: String) -> Member { .regular(.bytes(Array(text.utf8)), size: Int64(text.utf8.count)) }

    func names(_ tree: FileTree, _ path: String) -> [String] {
        guard case .node(let node) = tree.lookup(path) else { return [] }
        return tree.entries(node).map(\.name).sorted()
    }

    @Test func whiteoutsHideLowerLayersOnly() throws {
        var builder = FileTreeBuilder()
        builder.apply(layer: [("lib/", .directory), ("lib/libz.so.1", file("z")), ("lib/libm.so.6", file("m")),
                              ("etc/keep", file("k"))], whiteouts: true)
        // The whiteout hides the lower libz; the same layer's own libm stays even though a whiteout names it
        // too, because whiteouts apply to lower layers before the layer's entries.
        builder.apply(layer: [("lib/.wh.libz.so.1", file("")), ("lib/libm.so.6", file("m2")), ("lib/.wh.libm.so.6", file(""))],
                      whiteouts: true)
        let tree = builder.build(label: "t")
        #expect(names(tree, "/lib") == ["libm.so.6"])
        guard case .node(let m) = tree.lookup("/lib/libm.so.6") else { Issue.record("libm gone"); return }
        #expect(try tree.contents(m, path: "") == Array("m2".utf8))
        #expect(names(tree, "/etc") == ["keep"])
    }

    @Test func anOpaqueDirectoryKeepsOnlyItsOwnLayer() {
        var builder = FileTreeBuilder()
        builder.apply(layer: [("opt/keep/lib/libkeep.so.1", file("k")), ("opt/keep/bin/keeper", file("p"))], whiteouts: true)
        builder.apply(layer: [("opt/keep/lib/README", file("r")), ("opt/keep/lib/.wh..wh..opq", file(""))], whiteouts: true)
        let tree = builder.build(label: "t")
        #expect(names(tree, "/opt/keep/lib") == ["README"])
        #expect(names(tree, "/opt/keep/bin") == ["keeper"])
    }

    @Test func aFlatRootKeepsWhiteoutNamesAsFiles() {
        var builder = FileTreeBuilder()
        builder.apply(layer: [("x/.wh.y", file("")), ("x/y", file("y"))], whiteouts: false)
        #expect(names(builder.build(label: "t"), "/x") == [".wh.y", "y"])
    }

    @Test func hardLinksAcrossLayersShareTheNode() {
        var builder = FileTreeBuilder()
        builder.apply(layer: [("usr/lib/libreal.so.1.2", file("elf"))], whiteouts: true)
        builder.apply(layer: [("usr/lib/libreal.so.1", .hardLink("usr/lib/libreal.so.1.2")),
                              ("usr/lib/dangling", .hardLink("usr/lib/nothing"))], whiteouts: true)
        let tree = builder.build(label: "t")
        #expect(tree.lookup("/usr/lib/libreal.so.1") == tree.lookup("/usr/lib/libreal.so.1.2"))
        #expect(tree.lookup("/usr/lib/dangling") == .missing)
        #expect(builder.skipped == ["usr/lib/dangling: hard link to usr/lib/nothing, which is not in the image"])
    }

    @Test func namesStayInsideTheRoot() {
        var builder = FileTreeBuilder()
        builder.apply(layer: [
            ("../../etc/passwd", file("inside")),
            ("/abs/file", file("a")),
            ("./usr/../usr/./lib/x", file("x")),
            // A member through a symlink that points "out" lands inside: `/` is the image's top.
            ("escape", .symlink("../../../../etc")),
            ("escape/shadow", file("s")),
            ("loop", .symlink("loop")),
            ("loop/file", file("never")),
        ], whiteouts: true)
        let tree = builder.build(label: "t")
        #expect(names(tree, "/etc") == ["passwd", "shadow"])
        #expect(names(tree, "/abs") == ["file"])
        #expect(names(tree, "/usr/lib") == ["x"])
        #expect(builder.skipped == ["loop/file: a parent directory is a symlink loop"])
    }

    @Test func devicesAndFIFOsAreEntriesThatReadAsNothing() throws {
        var builder = FileTreeBuilder()
        builder.apply(layer: [("usr/lib/libz.so.1", .special("character device")), ("usr/lib/fifo", .special("FIFO"))], whiteouts: true)
        let tree = builder.build(label: "t")
        guard case .node(let node) = tree.lookup("/usr/lib/libz.so.1") else { Issue.record("device missing"); return }
        #expect(tree.kind(node) == .special("character device"))
        #expect(try tree.readPrefix(node, count: 64, path: "") == [])
    }
}

/// An OCI layout directory whose blob is a symlink out of it: the blob is missing, the host file unread.
@Suite struct LayoutDirectoryTests {
    @Test func aBlobLinkingOutOfTheLayoutIsNotThere() throws {
        let dir = try TestSupport.temporaryDirectory("layout-escape")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("blobs/sha256"), withIntermediateDirectories: true)
        try Data("{\"imageLayoutVersion\":\"1.0.0\"}".utf8).write(to: dir.appendingPathComponent("oci-layout"))
        let digest = String(repeating: "a", count: 64)
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("blobs/sha256/" + digest).path, withDestinationPath: "/etc/passwd")
        try Data("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:\(digest)\"}]}".utf8)
            .write(to: dir.appendingPathComponent("index.json"))
        do {
            _ = try ImageReader.open(dir.path)
            Issue.record("a manifest read through a symlink to /etc/passwd")
        } catch {
            #expect(error.reason == "blobs/sha256/\(digest) is missing", "\(error)")
        }
    }
}
