/// Decodes calls from registers and memory using prototypes. The engine calls `decodeEntry` at a call's
/// entry stop and `decodeReturn` at its return stop, on the same thread, with that thread's registers.
///
/// PROVISIONAL: until the prototype library lands this decodes every call the way ltrace does for a
/// function it has no prototype for. The signatures are the contract; the Prototypes work fills them.
public struct CallDecoder: Sendable {
    /// `-s N`: the longest string shown before it is cut with `...`.
    public var stringLimit: Int

    public init(stringLimit: Int = 32) {
        self.stringLimit = stringLimit
    }

    public func decodeEntry(function: String, registers: RegisterFile, memory: some MemoryReader) -> DecodedEntry {
        let arguments = registers.integerArguments.prefix(5).map { Value.hex($0) }
        return DecodedEntry(function: function, arguments: Array(arguments), registers: registers, hasPrototype: false)
    }

    public func decodeReturn(_ entry: DecodedEntry, registers: RegisterFile, memory: some MemoryReader) -> DecodedReturn {
        DecodedReturn(value: .hex(registers.rax))
    }
}
