// Where System V x86_64 passes arguments: the first six integer-class values in rdi, rsi, rdx, rcx, r8, r9,
// the first eight floating ones in xmm0-7, and every further one, of either class, in the next 8-byte stack
// slot above the return address (rsp + 8 at the entry stop). long double is always on the stack, 16-aligned.

/// Hands out argument words in call order.
struct ArgumentLocations<Memory: MemoryReader> {
    let registers: RegisterFile
    let memory: Memory
    private var nextInteger = 0
    private var nextVector = 0
    private var stackOffset: UInt64 = 8

    init(registers: RegisterFile, memory: Memory) {
        self.registers = registers
        self.memory = memory
    }

    mutating func integer() -> UInt64 {
        if nextInteger < RegisterFile.integerCount {
            defer { nextInteger += 1 }
            return registers.integerArgument(nextInteger)
        }
        return stackWord()
    }

    mutating func vector() -> UInt64 {
        if nextVector < RegisterFile.vectorCount {
            defer { nextVector += 1 }
            return registers.vector(nextVector)
        }
        return stackWord()
    }

    /// An x87 long double (`%Lf`): 16 bytes on the stack, 16-byte aligned.
    mutating func longDouble() -> Double? {
        // The argument area starts at rsp + 8, which the ABI keeps 16-aligned at the call.
        stackOffset = 8 + (stackOffset - 8 + 15) / 16 * 16
        let (address, overflow) = registers.stackPointer.addingReportingOverflow(stackOffset)
        stackOffset += 16
        guard !overflow else { return nil }
        let bytes = memory.readBytes(at: address, count: 10)
        guard bytes.count == 10 else { return nil }
        var mantissa: UInt64 = 0
        for i in 0..<8 { mantissa |= UInt64(bytes[i]) << (8 * i) }
        let exponentAndSign = UInt16(bytes[8]) | UInt16(bytes[9]) << 8
        let negative = exponentAndSign & 0x8000 != 0
        let exponent = Int(exponentAndSign & 0x7FFF)
        if exponent == 0 && mantissa == 0 { return negative ? -0.0 : 0.0 }
        if exponent == 0x7FFF { return mantissa << 1 == 0 ? (negative ? -.infinity : .infinity) : .nan }
        let value = Double(sign: negative ? .minus : .plus, exponent: exponent - 16383 - 63, significand: Double(mantissa))
        return value
    }

    private mutating func stackWord() -> UInt64 {
        let (address, overflow) = registers.stackPointer.addingReportingOverflow(stackOffset)
        stackOffset += 8
        guard !overflow else { return 0 }
        return memory.readInteger(at: address, as: UInt64.self) ?? 0
    }
}

/// Decodes a prototype's parameters, in order, from their locations.
struct ArgumentDecoding<Memory: MemoryReader> {
    let limits: ValueLimits
    let parameters: [Parameter]
    var locations: ArgumentLocations<Memory>
    let memory: Memory

    init(decoder: CallDecoder, prototype: Prototype, registers: RegisterFile, memory: Memory) {
        self.limits = ValueLimits(decoder)
        self.parameters = prototype.parameters
        self.locations = ArgumentLocations(registers: registers, memory: memory)
        self.memory = memory
    }

    /// Decodes parameters `0..<count` (and, when a `format` is among them, the variadic arguments it implies).
    /// `returnValue` is known at the return stop only (for `string[retval]`).
    mutating func decode(through count: Int, returnValue: UInt64?) -> [Value] {
        // Every fixed parameter's word first, so lengths like `string[arg3]` can refer forward.
        var words = ArgumentWords()
        for parameter in parameters {
            words.append(parameter.type.isFloatingPoint ? locations.vector() : locations.integer())
        }
        var reading = ValueReading(limits: limits, memory: memory, integerArguments: words, returnValue: returnValue)
        var values: [Value] = []
        values.reserveCapacity(count)
        for (index, parameter) in parameters.enumerated() {
            if index >= count { break }
            let word = words[index]
            switch parameter.type {
            case .float: values.append(.floating(Double(Float(bitPattern: UInt32(truncatingIfNeeded: word)))))
            case .double: values.append(.floating(Double(bitPattern: word)))
            case .format:
                values.append(reading.fromWord(word, as: .string(nil)))
                if let format = memory.readCString(at: word, limit: 4096), !format.truncated {
                    values += variadicArguments(PrintfFormat.conversions(in: format.bytes), reading: &reading)
                }
            default: values.append(reading.fromWord(word, as: parameter.type))
            }
        }
        return values
    }

    private mutating func variadicArguments(_ conversions: [PrintfFormat.Conversion], reading: inout ValueReading<Memory>) -> [Value] {
        var values: [Value] = []
        for conversion in conversions.prefix(CallDecoder.maximumVariadicArguments) {
            switch conversion {
            case .int(let bytes, let signed):
                let word = locations.integer()
                if signed {
                    let shift = UInt64(64 - bytes * 8)
                    values.append(.signed(Int64(bitPattern: word << shift) >> Int64(shift)))
                } else {
                    values.append(.unsigned(bytes == 8 ? word : word & ((1 << UInt64(bytes * 8)) - 1)))
                }
            case .hex(let bytes):
                let word = locations.integer()
                values.append(.hex(bytes == 8 ? word : word & ((1 << UInt64(bytes * 8)) - 1)))
            case .octal(let bytes):
                let word = locations.integer()
                values.append(.octal(bytes == 8 ? word : word & ((1 << UInt64(bytes * 8)) - 1)))
            case .character: values.append(.character(UInt8(truncatingIfNeeded: locations.integer())))
            case .string: values.append(reading.fromWord(locations.integer(), as: .string(nil)))
            case .pointer: values.append(reading.fromWord(locations.integer(), as: .address))
            case .double: values.append(.floating(Double(bitPattern: locations.vector())))
            case .longDouble:
                if let value = locations.longDouble() { values.append(.floating(value)) } else { values.append(.unreadable(address: 0)) }
            }
        }
        return values
    }
}
