// libFuzzer entry for the ELF reader: any byte string must parse or throw, never crash, hang or leak
// out of bounds. Built and run by scripts/fuzz (see the README's "Fuzzing").
import ELF

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzELF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let file = try? ELFFile(bytes: bytes, name: "fuzz") else { return 0 }
    _ = try? file.interpreter()
    _ = try? file.dynamicInfo()
    _ = try? file.sections()
    _ = try? file.dynamicSymbols()
    _ = try? file.versionNeeds()
    _ = try? file.versionDefinitions()
    _ = try? file.relocations()
    return 0
}
