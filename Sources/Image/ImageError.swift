import Glibc

/// Why an image, an archive or one of its layers could not be read. Every case says which file (and,
/// inside an archive, which member or offset), so the one line `check` prints is enough to act on.
public struct ImageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The archive, layout directory or blob the failure is about, as the user named it.
    public var source: String
    /// What went wrong, in words: "truncated tar header at offset 1536", "no image matches --image x".
    public var reason: String

    public init(_ source: String, _ reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }

    static func system(_ source: String, _ operation: String, errno code: Int32) -> ImageError {
        ImageError(source, "\(operation): \(String(cString: strerror(code)))")
    }
}
