/// Decodes calls from registers and memory using prototypes. The engine calls `decodeEntry` at a call's
/// entry stop and `decodeReturn` at its return stop, on the same thread, with that thread's registers.
///
/// A call with a prototype is decoded by it (output parameters are deferred to the return stop); a call
/// without one prints as ltrace prints it: four arguments, each in decimal when within ±10000 and in hex
/// otherwise, and the return value the same way.
public struct CallDecoder: Sendable {
    /// `-s N`: the longest string shown before it is cut with `...`.
    public var stringLimit: Int
    /// `-A N`: the most array elements shown.
    public var arrayLimit: Int
    public var library: PrototypeLibrary

    public init(stringLimit: Int = 32, arrayLimit: Int = 4, library: PrototypeLibrary = .builtin) {
        self.stringLimit = max(0, stringLimit)
        self.arrayLimit = max(0, arrayLimit)
        self.library = library
    }

    /// ltrace shows this many arguments of a function it has no prototype for.
    static let unknownArgumentCount = 4
    /// A format string implies at most this many arguments: a hostile format cannot make us read forever.
    static let maximumVariadicArguments = 64

    public func decodeEntry(function: String, registers: RegisterFile, memory: some MemoryReader) -> DecodedEntry {
        decodeEntry(function: function, prototype: library.prototype(named: function), registers: registers, memory: memory)
    }

    /// `decodeEntry` with the prototype already looked up (an engine keeps it per binding), over the bytes an
    /// agent copied: one specialised path, no protocol existential per read (the in-process engine's).
    public func decodeEntry(function: String, prototype: Prototype?, registers: RegisterFile,
                            captured: CapturedBytes) -> DecodedEntry {
        decodeEntry(function: function, prototype: prototype, registers: registers, memory: captured)
    }

    /// `decodeReturn` with the prototype already looked up, over the bytes an agent copied.
    public func decodeReturn(_ entry: DecodedEntry, prototype: Prototype?, registers: RegisterFile,
                             captured: CapturedBytes) -> DecodedReturn {
        decodeReturn(entry, prototype: prototype, registers: registers, memory: captured)
    }

    /// `prototype` is `library.prototype(named: function)`, looked up once by the caller.
    public func decodeEntry(function: String, prototype: Prototype?, registers: RegisterFile,
                            memory: some MemoryReader) -> DecodedEntry {
        guard let prototype else {
            var arguments: [Value] = []
            arguments.reserveCapacity(CallDecoder.unknownArgumentCount)
            for index in 0..<CallDecoder.unknownArgumentCount { arguments.append(.guessed(registers.integerArgument(index))) }
            return DecodedEntry(function: function, arguments: arguments, registers: registers, hasPrototype: false)
        }
        var decoding = ArgumentDecoding(decoder: self, prototype: prototype, registers: registers, memory: memory)
        let firstOutput = prototype.firstOutput
        let arguments = decoding.decode(through: firstOutput ?? prototype.parameters.count, returnValue: nil)
        return DecodedEntry(function: function, arguments: arguments, registers: registers, hasPrototype: true,
                            defersArguments: firstOutput != nil)
    }

    public func decodeReturn(_ entry: DecodedEntry, registers: RegisterFile, memory: some MemoryReader) -> DecodedReturn {
        decodeReturn(entry, prototype: entry.hasPrototype ? library.prototype(named: entry.function) : nil,
                     registers: registers, memory: memory)
    }

    /// `prototype` is the one the entry was decoded with.
    public func decodeReturn(_ entry: DecodedEntry, prototype: Prototype?, registers: RegisterFile,
                             memory: some MemoryReader) -> DecodedReturn {
        guard entry.hasPrototype, let prototype else {
            return DecodedReturn(value: .guessed(registers.rax))
        }
        var out: [Value] = []
        if entry.defersArguments, let entryRegisters = entry.deferredRegisters {
            // Re-walk the argument locations from the entry registers; decode only the deferred tail.
            var decoding = ArgumentDecoding(decoder: self, prototype: prototype, registers: entryRegisters, memory: memory)
            let all = decoding.decode(through: prototype.parameters.count, returnValue: registers.rax)
            let firstOutput = prototype.firstOutput ?? prototype.parameters.count
            out = Array(all.dropFirst(firstOutput))
        }
        let value: Value
        switch prototype.returnType {
        case .void: value = .void
        case .float: value = .floating(Double(Float(bitPattern: UInt32(truncatingIfNeeded: registers.vector(0)))))
        case .double: value = .floating(Double(bitPattern: registers.vector(0)))
        case let type:
            var reading = ValueReading(limits: ValueLimits(self), memory: memory, integerArguments: ArgumentWords(), returnValue: registers.rax)
            value = reading.fromWord(registers.rax, as: type)
        }
        return DecodedReturn(value: value, outArguments: out)
    }
}

extension Value {
    /// ltrace's rendering of an argument it knows nothing about.
    static func guessed(_ raw: UInt64) -> Value {
        let signed = Int64(bitPattern: raw)
        return (-10000...10000).contains(signed) ? .signed(signed) : .hex(raw)
    }
}
