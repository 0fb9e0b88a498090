import Glibc

/// The prototypes a trace decodes calls with: the built-in set, plus any `-F FILE` (later files override
/// earlier ones and the built-ins). linkscope does not read /etc/ltrace.conf by default: its prototypes are
/// older and coarser than the built-ins (memcpy's source as a string, open's flags as a plain int); pass
/// `-F /etc/ltrace.conf` to use it.
public struct PrototypeLibrary: Sendable {
    public private(set) var prototypes: [String: Prototype] = [:]
    public private(set) var typedefs: [String: ValueType]

    /// The built-in set alone.
    public static let builtin: PrototypeLibrary = {
        var library = PrototypeLibrary(typedefs: BuiltinTypes.typedefs)
        let diagnostics = library.load(BuiltinTypes.text, file: "<built-in>")
        precondition(diagnostics.isEmpty, "built-in prototypes must parse: \(diagnostics)")
        return library
    }()

    /// An empty library (no prototypes: every call prints as ltrace prints unknown functions).
    public init(typedefs: [String: ValueType] = [:]) {
        self.typedefs = typedefs
    }

    public func prototype(named name: String) -> Prototype? {
        if let found = prototypes[name] { return found }
        // `malloc@GLIBC_2.2.5` and `malloc@@...`: the version does not change the signature.
        if let at = name.firstIndex(of: "@") { return prototypes[String(name[..<at])] }
        return nil
    }

    /// Adds the prototypes and typedefs of an ltrace.conf text; returns what it could not parse.
    @discardableResult
    public mutating func load(_ text: String, file: String) -> [ConfDiagnostic] {
        let result = LtraceConfParser.parse(text, file: file, typedefs: typedefs)
        typedefs = result.typedefs
        for prototype in result.prototypes { prototypes[prototype.name] = prototype }
        return result.diagnostics
    }

    /// Debian's /etc/ltrace.conf is 20 KB; a bigger file (or `-F /dev/zero`) is refused, not read on.
    public static let maximumFileSize = 16 << 20

    /// Loads a config file from disk. A file that cannot be read, or is larger than `maximumFileSize`, is
    /// one diagnostic (line 0).
    @discardableResult
    public mutating func load(contentsOf path: String) -> [ConfDiagnostic] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [ConfDiagnostic(file: path, line: 0, message: "cannot read the file")] }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while data.count <= Self.maximumFileSize {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return [ConfDiagnostic(file: path, line: 0, message: "cannot read the file")] }
            if n == 0 { break }
            data += chunk[0..<n]
        }
        guard data.count <= Self.maximumFileSize else {
            return [ConfDiagnostic(file: path, line: 0, message: "larger than \(Self.maximumFileSize >> 20) MiB: not a prototype file")]
        }
        return load(String(decoding: data, as: UTF8.self), file: path)
    }
}
