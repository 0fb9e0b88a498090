// Function signatures in the shape of ltrace.conf(5): a type says how a value is read and how it prints;
// where the value lives (register, stack, xmm) is the decoder's business (CallDecoder+x86_64.swift).

/// How many elements or bytes a string or array has.
public enum LengthSpec: Hashable, Sendable {
    case constant(Int)
    /// The value of argument N (1-based), as ltrace's `arg3` / `string3`.
    case argument(Int)
    /// The call's return value (`string[retval]`, `string0`): only known at the return stop.
    case returnValue
}

/// Named values of an `enum(...)` or a flag set.
public struct NamedConstants: Hashable, Sendable {
    public var names: [(name: String, value: Int64)] { pairs.map { ($0.name, $0.value) } }
    let pairs: [Pair]
    struct Pair: Hashable, Sendable { var name: String; var value: Int64 }
    public init(_ pairs: [(String, Int64)]) { self.pairs = pairs.map { Pair(name: $0.0, value: $0.1) } }
    func name(of value: Int64) -> String? { pairs.first { $0.value == value }?.name }
}

/// A flag word: `accessMode` names the values of the low bits under `accessMask` (O_RDONLY/O_WRONLY/O_RDWR),
/// `flags` the single bits.
public struct FlagSet: Hashable, Sendable {
    public var accessMask: UInt64
    public var accessModes: NamedConstants
    public var flags: NamedConstants
    public init(accessMask: UInt64 = 0, accessModes: NamedConstants = NamedConstants([]), flags: NamedConstants) {
        self.accessMask = accessMask
        self.accessModes = accessModes
        self.flags = flags
    }
}

public indirect enum ValueType: Hashable, Sendable {
    case void
    case int, uint, long, ulong, short, ushort, char, bool
    /// An integer printed in octal (`0644`), of the given width in bytes.
    case octal(bytes: Int)
    /// An integer printed in hex, ltrace's `hex(T)`.
    case hex(bytes: Int)
    case float, double
    /// A pointer printed as an address (`addr`), `nil` when NULL.
    case address
    /// A `FILE *` (printed as an address).
    case file
    /// A printf format string: the call's remaining arguments are decoded from it.
    case format
    /// A pointer to a NUL-terminated string, with an optional length that caps it.
    case string(LengthSpec?)
    case enumeration(NamedConstants, bytes: Int)
    case flags(FlagSet, bytes: Int)
    /// A pointer to one T, shown as T (`int*`, `in_addr*`).
    case pointer(ValueType)
    /// A pointer to `length` consecutive Ts (`array(int, 2)*`), or when in a struct, the elements themselves.
    case array(ValueType, LengthSpec)
    case structure([ValueType])
    /// ltrace's `bitvec(T)`: a bit set, printed as `<1,3-5>`.
    case bitvector(bytes: Int)
    /// The integer as ltrace prints arguments of functions it has no prototype for: decimal within ±10000,
    /// else hex.
    case guess

    /// Sizes saturate here. A prototype may claim any length (`array(int, 9223372036854775807)` is
    /// valid ltrace.conf, and `hex(T)` takes T's size), but no value is read past a few KiB and none of
    /// ours is bigger than 4 GiB, so every size below is computed in arithmetic that cannot overflow
    /// (operands at most this, times at most 8 or plus at most this) and clamped to it.
    public static let maximumSize = 1 << 32

    /// The size of a value of this type in memory (in a struct or behind a pointer), at most `maximumSize`.
    public var size: Int { layout.size }

    var alignment: Int { layout.alignment }

    /// Size and alignment in one walk of the type (a struct needs both of every field; asking for them
    /// separately re-walked each nested struct once per level above it).
    private var layout: (size: Int, alignment: Int) {
        switch self {
        case .array(let element, .constant(let count)):
            let inner = element.layout
            guard inner.size > 0, count > 0 else { return (0, inner.alignment) }
            // count > maximumSize / size is the overflow test without the multiplication.
            let size = count > Self.maximumSize / inner.size ? Self.maximumSize : inner.size * count
            return (size, inner.alignment)
        case .structure(let fields):
            var offset = 0
            var alignment = 1
            for field in fields {
                let inner = field.layout
                alignment = max(alignment, inner.alignment)
                offset = min(Self.maximumSize, Self.aligned(offset, inner.alignment) + inner.size)
            }
            return (min(Self.maximumSize, Self.aligned(offset, alignment)), alignment)
        default:
            let size = scalarSize
            return (size, max(1, min(size, 8)))
        }
    }

    /// Types whose size does not depend on other types, clamped to `0...maximumSize` (a width given
    /// to `.hex(bytes:)` by code may be anything).
    private var scalarSize: Int {
        switch self {
        case .void: return 0
        case .char, .bool: return 1
        case .short, .ushort: return 2
        case .int, .uint, .float: return 4
        case .octal(let b), .hex(let b), .enumeration(_, let b), .flags(_, let b), .bitvector(let b):
            return max(0, min(b, Self.maximumSize))
        case .long, .ulong, .double, .address, .file, .format, .string, .pointer, .guess, .array: return 8
        case .structure: preconditionFailure("a structure's size is its layout")
        }
    }

    /// `offset` rounded up to `alignment`; both at most `maximumSize`, so the sum cannot overflow.
    private static func aligned(_ offset: Int, _ alignment: Int) -> Int {
        (offset + alignment - 1) / alignment * alignment
    }

    /// The types this one is made of, itself included, counted up to `limit + 1` at most: the walk stops
    /// there, so a tree built by sharing (typedefs of typedefs) costs `limit`, not its full size.
    func nodeCount(upTo limit: Int) -> Int {
        var count = 0
        var pending = [self]
        while let type = pending.popLast() {
            count += 1
            if count > limit { return count }
            switch type {
            case .pointer(let inner), .array(let inner, _): pending.append(inner)
            case .structure(let fields): pending.append(contentsOf: fields)
            default: break
            }
        }
        return count
    }

    /// Passed in a vector register (xmm) rather than an integer register.
    public var isFloatingPoint: Bool {
        switch self {
        case .float, .double: return true
        default: return false
        }
    }
}

public struct Parameter: Hashable, Sendable {
    public var type: ValueType
    /// `+T` in ltrace.conf: written by the call, so shown after the return.
    public var isOutput: Bool
    public init(_ type: ValueType, isOutput: Bool = false) {
        self.type = type
        self.isOutput = isOutput
    }
}

public struct Prototype: Hashable, Sendable {
    public var name: String
    public var returnType: ValueType
    public var parameters: [Parameter]
    public init(name: String, returnType: ValueType, parameters: [Parameter]) {
        self.name = name
        self.returnType = returnType
        self.parameters = parameters
    }

    /// The first output parameter (`+T`): the entry shows the arguments before it, the return the rest.
    public var firstOutput: Int? { parameters.firstIndex { $0.isOutput } }
}
