import Foundation

/// The few syscalls the resolver makes itself, with EINTR retried.
enum SystemCalls {
    /// Up to `count` bytes from the start of `path`, or the errno of open/read.
    static func readPrefix(_ path: String, count: Int) -> Result<[UInt8], SystemError> {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { return .failure(SystemError(code: errno)) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = buffer.withUnsafeMutableBytes { raw in
                read(fd, raw.baseAddress! + filled, count - filled)
            }
            if got < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError(code: errno))
            }
            if got == 0 { break }
            filled += got
        }
        return .success(Array(buffer[0..<filled]))
    }
}

struct SystemError: Error, Hashable, Sendable { var code: Int32 }
