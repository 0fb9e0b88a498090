// libFuzzer entry for the image reader: the input is an archive as `check --root` and `deps --root` are
// given one (a root tar, a `docker save` archive, gzip- or zstd-compressed), opened through the public
// ImageReader.open and then read as a root: every node listed, links read, small files' contents and
// prefixes taken. Any bytes must open or throw ImageError, never crash, hang, or allocate by a size the
// archive merely claims. Built and run by scripts/fuzz (README "Fuzzing").
import Foundation
import Image

/// One file per process under /dev/shm (tmpfs), rewritten for each input.
let fuzzArchive: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = base + "/linkscope-fuzz-tar-\(getpid()).tar"
    atexit { try? FileManager.default.removeItem(atPath: fuzzArchive) }
    return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTar(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: fuzzArchive, contents: Data(bytes: data, count: size)) else { return 0 }
    guard let image = try? ImageReader.open(fuzzArchive) else { return 0 }
    let tree = image.tree
    _ = image.config?.value(of: "PATH")
    // Breadth-first over the whole tree (the node count bounds it: a tree has no cycles of directories).
    var queue: [(path: String, node: Int)] = []
    if case .node(let root) = tree.lookup("/") { queue.append(("/", root)) }
    var cursor = 0
    while cursor < queue.count, cursor <= tree.nodeCount {
        let (path, node) = queue[cursor]
        cursor += 1
        switch tree.kind(node) {
        case .directory:
            for entry in tree.entries(node) { queue.append((path == "/" ? "/" + entry.name : path + "/" + entry.name, entry.node)) }
        case .symlink:
            _ = tree.lookup(tree.linkTarget(node))
        case .regular:
            _ = try? tree.readPrefix(node, count: 64, path: path)
            if tree.size(node) <= 1 << 16 { _ = try? tree.contents(node, path: path) }
        default:
            break
        }
        _ = tree.lookup(path + "/../" + path)
    }
    return 0
}
