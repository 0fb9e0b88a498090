import Glibc

/// Why a file could not be read as an ELF object. Every case names the file, so the message alone tells a
/// user what to look at.
public enum ELFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// open(2) or fstat(2) failed; `errno` is the system's reason.
    case cannotOpen(path: String, errno: Int32)
    case isDirectory(path: String)
    /// Shorter than an ELF header.
    case tooShort(path: String, size: Int)
    /// No `\x7fELF` magic.
    case notELF(path: String)
    /// The file says it is ELF but a structure in it is inconsistent: offsets outside the file,
    /// counts that overflow, strings without terminators.
    case malformed(path: String, reason: String)
    /// The file came back shorter than its size at open: it was truncated or replaced while we read it.
    case changedWhileReading(path: String)
    /// read(2) failed on an open file (EIO).
    case cannotRead(path: String, errno: Int32)

    public var path: String {
        switch self {
        case .cannotOpen(let path, _), .isDirectory(let path), .tooShort(let path, _),
             .notELF(let path), .malformed(let path, _), .changedWhileReading(let path), .cannotRead(let path, _):
            return path
        }
    }

    public var description: String {
        switch self {
        case .cannotOpen(let path, let code):
            return "\(path): cannot open: \(String(cString: strerror(code)))"
        case .isDirectory(let path):
            return "\(path): is a directory"
        case .tooShort(let path, let size):
            return "\(path): file too short to be ELF (\(size) bytes)"
        case .notELF(let path):
            return "\(path): not an ELF file"
        case .malformed(let path, let reason):
            return "\(path): malformed ELF: \(reason)"
        case .changedWhileReading(let path):
            return "\(path): file changed while reading"
        case .cannotRead(let path, let code):
            return "\(path): cannot read: \(String(cString: strerror(code)))"
        }
    }
}
