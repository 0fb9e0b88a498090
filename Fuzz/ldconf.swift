// libFuzzer entry for the ld.so.conf reader: the input is a root's etc/ld.so.conf, read through the
// public LoaderEnvironment.root, so include globs (any pattern: brackets, escapes, `..`, deep `*/*`)
// are matched inside a small fixed root with links to `/`, to `..` and in a loop. Any text must give a
// directory list, never crash, hang or read outside the root. Built and run by scripts/fuzz.
import Foundation
import Linker

/// The root, made once per process under /dev/shm (tmpfs: each input is one small write).
let fuzzRoot: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let root = base + "/linkscope-fuzz-ldconf-\(getpid())"
    let fm = FileManager.default
    try? fm.createDirectory(atPath: root + "/etc/ld.so.conf.d", withIntermediateDirectories: true)
    try? fm.createDirectory(atPath: root + "/lib/x86_64-linux-gnu", withIntermediateDirectories: true)
    try? "/opt/a\ninclude /etc/ld.so.conf\n".write(toFile: root + "/etc/ld.so.conf.d/a.conf", atomically: false, encoding: .utf8)
    try? "/opt/b:/opt/c,/opt/d\thwcap 1 x\n".write(toFile: root + "/etc/ld.so.conf.d/b.conf", atomically: false, encoding: .utf8)
    try? fm.createSymbolicLink(atPath: root + "/slash", withDestinationPath: "/")
    try? fm.createSymbolicLink(atPath: root + "/up", withDestinationPath: "../../..")
    try? fm.createSymbolicLink(atPath: root + "/loop", withDestinationPath: ".")
    try? fm.createSymbolicLink(atPath: root + "/etc/self", withDestinationPath: "/etc/self")
    atexit { try? FileManager.default.removeItem(atPath: fuzzRoot) }
    return root
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLDConf(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard FileManager.default.createFile(atPath: fuzzRoot + "/etc/ld.so.conf", contents: Data(bytes)) else { return 0 }
    guard let environment = try? LoaderEnvironment.root(fuzzRoot) else { return 0 }
    _ = environment.configuredDirectories
    return 0
}
