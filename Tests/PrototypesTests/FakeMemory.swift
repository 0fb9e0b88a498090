import Prototypes

/// A tracee's memory made of mapped regions. Like process_vm_readv, a read that runs off a region's end
/// returns the bytes up to it, and a read that STARTS outside every region fails. `refuseCrossing` makes any
/// read that crosses a region's end fail as a whole, as a kernel may when the rest of an iovec is unmapped.
final class FakeMemory: MemoryReader {
    struct Unmapped: Error {}
    private(set) var regions: [(base: UInt64, bytes: [UInt8])] = []
    var refuseCrossing = false
    private(set) var reads = 0

    func map(_ base: UInt64, _ bytes: [UInt8]) { regions.append((base, bytes)) }
    func map(_ base: UInt64, string: String) { map(base, Array(string.utf8) + [0]) }

    func write(_ base: UInt64, _ bytes: [UInt8]) {
        for index in regions.indices {
            let r = regions[index]
            if base >= r.base && base + UInt64(bytes.count) <= r.base + UInt64(r.bytes.count) {
                let offset = Int(base - r.base)
                regions[index].bytes.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
                return
            }
        }
        map(base, bytes)
    }

    func read(from address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        reads += 1
        for r in regions where address >= r.base && address < r.base + UInt64(r.bytes.count) {
            let offset = Int(address - r.base)
            let available = r.bytes.count - offset
            if refuseCrossing && buffer.count > available { throw Unmapped() }
            let n = min(available, buffer.count)
            for i in 0..<n { buffer[i] = r.bytes[offset + i] }
            return n
        }
        throw Unmapped()
    }
}

extension RegisterFile {
    static func call(_ integers: [UInt64], vectors: [Double] = [], stack: UInt64 = 0x7ff0_0000, rax: UInt64 = 0) -> RegisterFile {
        var ints = integers + Array(repeating: 0, count: max(0, 6 - integers.count))
        ints = Array(ints.prefix(6))
        var vecs = vectors.map(\.bitPattern) + Array(repeating: 0, count: max(0, 8 - vectors.count))
        vecs = Array(vecs.prefix(8))
        return RegisterFile(integerArguments: ints, vectorLow: vecs, stackPointer: stack, rax: rax)
    }
}

extension Array where Element == Value {
    var text: String { map(\.ltraceText).joined(separator: ", ") }
}

func bytes(of words: [UInt64]) -> [UInt8] {
    words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * UInt64($0))) } }
}
