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
        return text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return false }
            }
            return true
        }
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
        let count = Int(linkscope_argc())
        guard count > 0, let argv = linkscope_argv() else {
            return (0..<Int(CommandLine.argc)).map { index in
                CommandLine.unsafeArgv[index].map { Array(UnsafeBufferPointer(start: $0, count: strlen($0))).map(UInt8.init(bitPattern:)) } ?? []
            }
        }
        return (0..<count).map { index in
            argv[index].map { Array(UnsafeBufferPointer(start: $0, count: strlen($0))).map(UInt8.init(bitPattern:)) } ?? []
        }
    }
}
