/// An `Encodable` value as the untyped tree `JSON.text` writes: what Foundation's JSONEncoder does, for the
/// reports linkscope writes from `Codable` types (check's JSON), without Foundation. Optionals left nil
/// (`encodeIfPresent`) are omitted, as JSONEncoder omits them.
public struct JSONTreeEncoder {
    public init() {}

    public func encode(_ value: some Encodable) throws -> Any {
        let slot = Slot()
        try value.encode(to: TreeEncoder(slot: slot, codingPath: []))
        return slot.resolved
    }

    /// `value` as pretty JSON text (see `JSON.text`).
    public func text(_ value: some Encodable) throws -> String {
        JSON.text(try encode(value), pretty: true)
    }
}

/// One value being built: a scalar, an object or an array whose members are slots themselves (so nested
/// containers can be filled after they are handed out, as the Encoder protocol does).
private final class Slot {
    var scalar: Any?
    var object: [String: Slot]?
    var array: [Slot]?

    var resolved: Any {
        if let object { return object.mapValues(\.resolved) }
        if let array { return array.map(\.resolved) }
        return scalar ?? [String: Any]()
    }

    func member(_ key: String) -> Slot {
        if object == nil { object = [:] }
        if let existing = object![key] { return existing }
        let slot = Slot()
        object![key] = slot
        return slot
    }

    func appended() -> Slot {
        if array == nil { array = [] }
        let slot = Slot()
        array!.append(slot)
        return slot
    }
}

private struct TreeEncoder: Encoder {
    let slot: Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if slot.object == nil { slot.object = [:] }
        return KeyedEncodingContainer(KeyedContainer<Key>(slot: slot, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if slot.array == nil { slot.array = [] }
        return UnkeyedContainer(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(slot: slot, codingPath: codingPath)
    }
}

/// Scalars are stored as themselves; anything else encodes itself into the slot.
private func store(_ value: some Encodable, in slot: Slot, codingPath: [any CodingKey]) throws {
    switch value {
    case let string as String: slot.scalar = string
    case let bool as Bool: slot.scalar = bool
    case let int as any BinaryInteger: slot.scalar = Int(exactly: int) ?? UInt64(exactly: int) as Any
    case let float as Float: try store(Double(float), in: slot, codingPath: codingPath)
    case let double as Double:
        guard double.isFinite else {
            throw EncodingError.invalidValue(double, .init(codingPath: codingPath, debugDescription: "JSON has no \(double)"))
        }
        slot.scalar = double
    default: try value.encode(to: TreeEncoder(slot: slot, codingPath: codingPath))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { slot.member(key.stringValue).scalar = JSON.null }
    mutating func encode(_ value: Bool, forKey key: Key) throws { slot.member(key.stringValue).scalar = value }
    mutating func encode(_ value: String, forKey key: Key) throws { slot.member(key.stringValue).scalar = value }
    mutating func encode(_ value: Double, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try put(Double(value), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: some Encodable, forKey key: Key) throws { try put(value, key) }

    private func put(_ value: some Encodable, _ key: Key) throws {
        try store(value, in: slot.member(key.stringValue), codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        TreeEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(slot: slot.member("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]
    var count: Int { slot.array?.count ?? 0 }

    private struct Index: CodingKey {
        var intValue: Int?
        var stringValue: String { String(intValue ?? 0) }
        init(_ index: Int) { intValue = index }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    mutating func encodeNil() throws { slot.appended().scalar = JSON.null }
    mutating func encode(_ value: some Encodable) throws {
        let index = count
        try store(value, in: slot.appended(), codingPath: codingPath + [Index(index)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(slot: slot.appended(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        TreeEncoder(slot: slot.appended(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(slot: slot.appended(), codingPath: codingPath) }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.scalar = JSON.null }
    mutating func encode(_ value: Bool) throws { slot.scalar = value }
    mutating func encode(_ value: String) throws { slot.scalar = value }
    mutating func encode(_ value: Double) throws { try store(value, in: slot, codingPath: codingPath) }
    mutating func encode(_ value: Float) throws { try store(value, in: slot, codingPath: codingPath) }
    mutating func encode(_ value: Int) throws { slot.scalar = value }
    mutating func encode(_ value: Int8) throws { slot.scalar = Int(value) }
    mutating func encode(_ value: Int16) throws { slot.scalar = Int(value) }
    mutating func encode(_ value: Int32) throws { slot.scalar = Int(value) }
    mutating func encode(_ value: Int64) throws { slot.scalar = Int(value) }
    mutating func encode(_ value: UInt) throws { try store(value, in: slot, codingPath: codingPath) }
    mutating func encode(_ value: UInt8) throws { slot.scalar = Int(value) }
    mutating func encode(_ value: UInt16) throws { slot.scalar = Int(value) }
    mutating func encode(_ value: UInt32) throws { slot.scalar = Int(value) }
    mutating func encode(_ value: UInt64) throws { try store(value, in: slot, codingPath: codingPath) }
    mutating func encode(_ value: some Encodable) throws { try store(value, in: slot, codingPath: codingPath) }
}
