// libFuzzer entry for the ltrace.conf parser (-F FILE): any text must parse into prototypes and
// FILE:LINE diagnostics, never crash or hang; every prototype it yields must decode a call (entry and
// return) against a tracee memory that answers every read, so sizes, nesting and arrays are walked too.
// Built and run by scripts/fuzz (README "Fuzzing").
import Prototypes

/// Every address holds the same bytes (a pattern with NULs now and then), as far as the reader asks.
struct PatternMemory: MemoryReader {
    func read(from address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        for index in buffer.indices { buffer[index] = UInt8(truncatingIfNeeded: (address &+ UInt64(index)) % 37 + 1) & 0x3f }
        return buffer.count
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLtraceConf(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var library = PrototypeLibrary()
    _ = library.load(text, file: "fuzz.conf")
    let decoder = CallDecoder(stringLimit: 16, arrayLimit: 8, library: library)
    let registers = RegisterFile(integerArguments: [0x1000, 3, 0x2000, 0, 7, 0x3000],
                                 vectorLow: Array(repeating: 0, count: 8), stackPointer: 0x7ff0_0000, rax: 5)
    for name in library.prototypes.keys.sorted().prefix(8) {
        let entry = decoder.decodeEntry(function: name, registers: registers, memory: PatternMemory())
        let result = decoder.decodeReturn(entry, registers: registers, memory: PatternMemory())
        _ = entry.arguments.map(\.ltraceText)
        _ = result.outArguments.map(\.ltraceText)
        _ = result.value.ltraceText
    }
    return 0
}
