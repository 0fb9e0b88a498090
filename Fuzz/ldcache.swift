// libFuzzer entry for the ld.so.cache parser: any byte string must parse or throw, never crash, hang or
// read out of bounds; a parsed cache must answer lookups. Built and run by scripts/fuzz (README "Fuzzing").
import Linker

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLDCache(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let cache = try? LDSoCache(bytes: bytes) else { return 0 }
    _ = cache.hwcapsSubdirectories
    for index in 0..<min(cache.entryCount, 8) {
        let name = cache.entry(at: index).name
        _ = cache.lookup(name, supportedHWCaps: ["x86-64-v3", "x86-64-v2"], isaLevelMask: 0x7)
        _ = cache.lookup(name, supportedHWCaps: cache.hwcapsSubdirectories, isaLevelMask: 0xf)
        _ = cache.entries(named: name)
    }
    _ = cache.lookup("libc.so.6", supportedHWCaps: [], isaLevelMask: 1)
    return 0
}
