import Foundation

/// Writes tar archives member by member for tests: ustar headers with any type flag, so hostile archives
/// (device nodes named like libraries, `..` names, whiteouts, links out of the root) are made at test time
/// without creating any of those things on disk.
struct TarWriter {
    private(set) var bytes: [UInt8] = []

    enum Kind {
        case file([UInt8])
        case directory
        case symlink(String)
        case hardLink(String)
        case characterDevice(major: Int, minor: Int)
        case blockDevice(major: Int, minor: Int)
        case fifo
        /// A raw type flag and data (pax headers, GNU long names, sparse markers).
        case raw(flag: UInt8, data: [UInt8])
    }

    mutating func add(_ name: String, _ kind: Kind, mode: Int = 0o755) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, length: Int) {
            put(String(repeating: "0", count: max(0, length - 1 - String(value, radix: 8).count)) + String(value, radix: 8), at: offset, length: length - 1)
        }
        var data: [UInt8] = []
        var flag = UInt8(ascii: "0")
        var link = ""
        switch kind {
        case .file(let content): data = content
        case .directory: flag = UInt8(ascii: "5")
        case .symlink(let target): flag = UInt8(ascii: "2"); link = target
        case .hardLink(let target): flag = UInt8(ascii: "1"); link = target
        case .characterDevice(let major, let minor):
            flag = UInt8(ascii: "3"); octal(major, at: 329, length: 8); octal(minor, at: 337, length: 8)
        case .blockDevice(let major, let minor):
            flag = UInt8(ascii: "4"); octal(major, at: 329, length: 8); octal(minor, at: 337, length: 8)
        case .fifo: flag = UInt8(ascii: "6")
        case .raw(let rawFlag, let rawData): flag = rawFlag; data = rawData
        }
        put(name, at: 0, length: 100)
        octal(mode, at: 100, length: 8)
        octal(0, at: 108, length: 8)
        octal(0, at: 116, length: 8)
        octal(data.count, at: 124, length: 12)
        octal(0, at: 136, length: 12)
        header[156] = flag
        put(link, at: 157, length: 100)
        put("ustar\u{0}00", at: 257, length: 8)
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        octal(sum, at: 148, length: 7)
        header[155] = UInt8(ascii: " ")
        bytes += header
        bytes += data
        bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// The end-of-archive blocks.
    func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    func write(to url: URL) throws { try Data(finished()).write(to: url) }
}
