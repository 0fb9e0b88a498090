import Foundation

/// The smallest ELF64 x86-64 shared object the loader model reads: one PT_LOAD, a PT_DYNAMIC with the
/// given DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH and DT_FLAGS_1, and its string table. No code, no
/// symbols: enough for the resolver and `check`, built in microseconds, so a test can make a chain of
/// 20,000 libraries (the system C compiler takes about 20 ms per library).
public enum TinyELF {
    /// DF_1_NODEFLIB: the needer's search skips ld.so.cache and the default directories.
    public static let noDefaultLibraries: UInt64 = 0x800

    public static func sharedObject(needed: [String] = [], soname: String? = nil, rpath: String? = nil,
                                    runpath: String? = nil, flags1: UInt64 = 0) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var strings: [UInt8] = [0]
        var dynamic: [(UInt64, UInt64)] = []
        func string(_ tag: UInt64, _ text: String) {
            dynamic.append((tag, UInt64(strings.count)))
            strings += Array(text.utf8) + [0]
        }
        for name in needed { string(1, name) }        // DT_NEEDED
        if let soname { string(14, soname) }          // DT_SONAME
        if let rpath { string(15, rpath) }            // DT_RPATH
        if let runpath { string(29, runpath) }        // DT_RUNPATH
        if flags1 != 0 { dynamic.append((0x6fff_fffb, flags1)) }  // DT_FLAGS_1
        let dynamicAt: UInt64 = 64 + 2 * 56
        let dynamicSize = UInt64(dynamic.count + 3) * 16
        let stringsAt = dynamicAt + dynamicSize
        dynamic += [(5, stringsAt), (10, UInt64(strings.count)), (0, 0)]  // DT_STRTAB, DT_STRSZ, DT_NULL
        let total = stringsAt + UInt64(strings.count)
        var bytes: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        bytes += u16(3) + u16(62) + u32(1) + u64(0) + u64(64) + u64(0) + u32(0) + u16(64) + u16(56) + u16(2) + u16(64) + u16(0) + u16(0)
        bytes += u32(1) + u32(4) + u64(0) + u64(0) + u64(0) + u64(total) + u64(total) + u64(0x1000)  // PT_LOAD
        bytes += u32(2) + u32(6) + u64(dynamicAt) + u64(dynamicAt) + u64(dynamicAt) + u64(dynamicSize) + u64(dynamicSize) + u64(8)
        for (tag, value) in dynamic { bytes += u64(tag) + u64(value) }
        return bytes + strings
    }

    /// A chain in `directory`: `libchain-0.so` needs `libchain-1.so`, … up to `libchain-(length-1).so`,
    /// each with RUNPATH `$ORIGIN`. Returns the path of `libchain-0.so`.
    @discardableResult
    public static func writeChain(_ length: Int, in directory: String) throws -> String {
        for index in 0..<length {
            let needed = index + 1 < length ? ["libchain-\(index + 1).so"] : []
            let bytes = sharedObject(needed: needed, soname: "libchain-\(index).so", runpath: "$ORIGIN")
            let path = directory + "/libchain-\(index).so"
            guard let file = fopen(path, "wb") else { throw TestSupportError("cannot write \(path)") }
            defer { fclose(file) }
            guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw TestSupportError("cannot write \(path)") }
        }
        return directory + "/libchain-0.so"
    }
}
