/// The agent's shared object, embedded at build time by the AgentImage plugin (Agent/embed.sh).
enum EmbeddedAgent {
    /// The decoded bytes, nil if the embedded text is damaged (a build defect).
    static let bytes: [UInt8]? = decodeBase64(agentImageBase64)

    static func decodeBase64(_ text: String) -> [UInt8]? {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(index)
        }
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0, bits = 0
        for character in text.utf8 where character != UInt8(ascii: "=") {
            let value = table[Int(character)]
            guard value != 0xff else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}
