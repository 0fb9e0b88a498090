// The contract between the trace engine (Tracer) and argument decoding (Prototypes). The engine owns the
// tracee; at each stop it hands Prototypes the registers and a memory reader, and gets typed values back.

/// Reads a tracee's (or any) memory. One primitive; typed reads, C strings and arrays are extensions.
public protocol MemoryReader {
    /// Copies up to `buffer.count` bytes from `address` and returns how many were copied. A short count
    /// means the range ran into unmapped memory; an unreadable first byte returns 0 or throws.
    func read(from address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// The registers a System V x86_64 call passes values in, captured at a call's entry or return stop. Held
/// inline (no arrays): the in-process engine builds two of these per traced call.
public struct RegisterFile: Hashable, Sendable {
    /// rdi, rsi, rdx, rcx, r8, r9.
    public typealias IntegerWords = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    /// The low 64 bits of xmm0 … xmm7.
    public typealias VectorWords = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    /// rdi, rsi, rdx, rcx, r8, r9 (at entry).
    public var integerWords: IntegerWords
    /// The low 64 bits of xmm0 … xmm7 (at entry: float/double arguments; at return: xmm0 is the result).
    public var vectorWords: VectorWords
    /// rsp. At entry it points at the return address; stack arguments start at rsp + 8.
    public var stackPointer: UInt64
    /// rax (at return: the integer result; at entry of a variadic call: the count of vector registers used).
    public var rax: UInt64
    /// rdx at return: the high half of a 128-bit or two-word struct result.
    public var rdx: UInt64

    public static let integerCount = 6
    public static let vectorCount = 8

    public init(integerWords: IntegerWords, vectorWords: VectorWords = (0, 0, 0, 0, 0, 0, 0, 0),
                stackPointer: UInt64 = 0, rax: UInt64 = 0, rdx: UInt64 = 0) {
        self.integerWords = integerWords
        self.vectorWords = vectorWords
        self.stackPointer = stackPointer
        self.rax = rax
        self.rdx = rdx
    }

    public init(integerArguments: [UInt64] = Array(repeating: 0, count: 6),
                vectorLow: [UInt64] = Array(repeating: 0, count: 8),
                stackPointer: UInt64 = 0, rax: UInt64 = 0, rdx: UInt64 = 0) {
        precondition(integerArguments.count == 6 && vectorLow.count == 8, "x86_64 passes 6 integer and 8 vector arguments")
        self.init(integerWords: (0, 0, 0, 0, 0, 0), stackPointer: stackPointer, rax: rax, rdx: rdx)
        self.integerArguments = integerArguments
        self.vectorLow = vectorLow
    }

    /// Integer argument register `index` (0: rdi).
    public func integerArgument(_ index: Int) -> UInt64 {
        precondition(index >= 0 && index < Self.integerCount)
        return withUnsafeBytes(of: integerWords) { $0.load(fromByteOffset: index * 8, as: UInt64.self) }
    }

    /// The low 64 bits of xmm`index`.
    public func vector(_ index: Int) -> UInt64 {
        precondition(index >= 0 && index < Self.vectorCount)
        return withUnsafeBytes(of: vectorWords) { $0.load(fromByteOffset: index * 8, as: UInt64.self) }
    }

    /// rdi, rsi, rdx, rcx, r8, r9 (at entry), as an array.
    public var integerArguments: [UInt64] {
        get { Self.array(of: integerWords) }
        set { Self.store(newValue, into: &integerWords, what: "6 integer arguments") }
    }

    /// The low 64 bits of xmm0 … xmm7, as an array.
    public var vectorLow: [UInt64] {
        get { Self.array(of: vectorWords) }
        set { Self.store(newValue, into: &vectorWords, what: "8 vector arguments") }
    }

    /// The words of a tuple of UInt64s.
    private static func array<Words>(of words: Words) -> [UInt64] {
        withUnsafeBytes(of: words) { Array($0.bindMemory(to: UInt64.self)) }
    }

    private static func store<Words>(_ array: [UInt64], into words: inout Words, what: String) {
        precondition(array.count * 8 == MemoryLayout<Words>.size, "x86_64 passes \(what) in registers")
        withUnsafeMutableBytes(of: &words) { raw in
            for (i, word) in array.enumerated() { raw.storeBytes(of: word, toByteOffset: i * 8, as: UInt64.self) }
        }
    }

    public static func == (a: RegisterFile, b: RegisterFile) -> Bool {
        a.stackPointer == b.stackPointer && a.rax == b.rax && a.rdx == b.rdx
            && withUnsafeBytes(of: a.integerWords) { x in withUnsafeBytes(of: b.integerWords) { y in x.elementsEqual(y) } }
            && withUnsafeBytes(of: a.vectorWords) { x in withUnsafeBytes(of: b.vectorWords) { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(stackPointer)
        hasher.combine(rax)
        hasher.combine(rdx)
        withUnsafeBytes(of: integerWords) { hasher.combine(bytes: $0) }
        withUnsafeBytes(of: vectorWords) { hasher.combine(bytes: $0) }
    }
}

/// A decoded argument or return value: where it came from is gone, how it prints is the renderer's choice.
public indirect enum Value: Hashable, Sendable {
    case signed(Int64)
    case unsigned(UInt64)
    /// An integer best shown in hex (sizes of unknown meaning, flags without names).
    case hex(UInt64)
    /// An integer shown in octal with a leading 0 (modes: `0644`), as ltrace's `octal` type.
    case octal(UInt64)
    case character(UInt8)
    case boolean(Bool)
    /// An address shown as such; 0 prints as `0`, as ltrace prints a NULL `addr`.
    case pointer(UInt64)
    /// A NULL string (ltrace's `nil`).
    case null
    /// Bytes of a C string up to its NUL or the string limit; `truncated` when the limit cut it.
    case string(bytes: [UInt8], truncated: Bool)
    case floating(Double)
    /// A named constant (`SEEK_SET`), or the raw value when no name matches.
    case enumeration(name: String?, raw: Int64)
    /// Flag names joined with `|` plus whatever bits no name covers (`O_WRONLY|O_CREAT`).
    case bitmask(names: [String], remainder: UInt64)
    case array([Value], truncated: Bool)
    case structure([Value])
    /// A `void` return.
    case void
    /// A pointer whose target could not be read.
    case unreadable(address: UInt64)
}

/// What the entry stop yields; kept by the engine and handed back at the return stop, because out-parameters
/// (`strtol`'s endptr, `pipe`'s fds) can only be read once the call has written them.
public struct DecodedEntry: Hashable, Sendable {
    public var function: String
    public var arguments: [Value]
    /// The entry registers, for decoding the deferred arguments at the return: kept only when
    /// `defersArguments` (nil otherwise), and boxed, so an entry is small to copy — an event carries it, and the
    /// in-process engine makes millions a second.
    public var deferredRegisters: RegisterFile? { savedRegisters?.registers }
    private var savedRegisters: RegisterBox?
    /// True when a prototype (built-in or from a config file) described the call; false for ltrace's default.
    public var hasPrototype: Bool
    /// True when the call has output parameters: `arguments` then stops before the first of them, and the
    /// rest are decoded at the return stop into `DecodedReturn.outArguments` (ltrace shows `read(3, ` at
    /// entry and `"ab\n", 8) = 3` at return).
    public var defersArguments: Bool

    public init(function: String, arguments: [Value], registers: RegisterFile, hasPrototype: Bool,
                defersArguments: Bool = false) {
        self.function = function
        self.arguments = arguments
        self.savedRegisters = defersArguments ? RegisterBox(registers) : nil
        self.hasPrototype = hasPrototype
        self.defersArguments = defersArguments
    }
}

/// A `RegisterFile` by reference: compared and hashed by value.
final class RegisterBox: Hashable, Sendable {
    let registers: RegisterFile
    init(_ registers: RegisterFile) { self.registers = registers }
    static func == (a: RegisterBox, b: RegisterBox) -> Bool { a.registers == b.registers }
    func hash(into hasher: inout Hasher) { hasher.combine(registers) }
}

public struct DecodedReturn: Hashable, Sendable {
    public var value: Value
    /// The arguments from the first output parameter on, read after the call (see
    /// `DecodedEntry.defersArguments`); they complete the argument list.
    public var outArguments: [Value]

    public init(value: Value, outArguments: [Value] = []) {
        self.value = value
        self.outArguments = outArguments
    }
}
