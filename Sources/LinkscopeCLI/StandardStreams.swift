import CCompat
import Glibc

/// Text to standard output or standard error with write(2), retried on EINTR and short writes. Not
/// FileHandle, which traps when a write fails (stderr may be the closed pipe whose failure is reported),
/// and which lives in the full Foundation.
enum StandardStreams {
    /// Writes `text` to `fd`; false when the descriptor refused it (the caller decides whether that matters).
    @discardableResult
    static func write(_ text: String, to fd: Int32) -> Bool {
        var text = text
        return text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: fd) } == nil
    }

    /// Writes all of `bytes` to `fd`, retrying on EINTR and short writes: nil when done, else the errno
    /// (EIO for a write that took nothing without an error, as some /proc files do).
    static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            return n < 0 ? errno : EIO
        }
        return nil
    }

    @discardableResult
    static func output(_ text: String) -> Bool { write(text, to: 1) }

    @discardableResult
    static func error(_ text: String) -> Bool { write(text, to: 2) }
}

/// The process's argv as bytes, as glibc gave it. Not `CommandLine`: in a binary linked with the static
/// Swift standard library it is read from /proc/self/cmdline, and a chroot without /proc would leave it
/// empty (Sources/CCompat).
enum ProcessArguments {
    static var bytes: [[UInt8]] {
        func words(_ count: Int32, _ argv: (Int) -> UnsafePointer<CChar>?) -> [[UInt8]] {
            (0..<Int(count)).map { index in
                argv(index).map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) } ?? []
            }
        }
        if linkscope_argc() > 0, let argv = linkscope_argv() {
            return words(linkscope_argc()) { argv[$0].map { UnsafePointer($0) } }
        }
        return words(CommandLine.argc) { CommandLine.unsafeArgv[$0].map { UnsafePointer($0) } }
    }
}
