import Foundation
import TestSupport
import Testing

/// `-F` files are input like any other: a hostile prototype is traced with or refused, never a crash.
@Suite struct HostilePrototypeTests {
    /// `int f(hex(array(int, 9223372036854775807)));` killed linkscope with SIGILL (exit 132) while
    /// parsing -F; the trace now runs and ends with the program's own status.
    @Test func hugeArrayPrototypeDoesNotTrap() throws {
        let dir = try TestSupport.temporaryDirectory("hostile-proto")
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("huge.conf").path
        try "int f(hex(array(int, 9223372036854775807)));\nint puts(array(array(char, 9223372036854775807), 9223372036854775807)*);\n"
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let run = TestSupport.linkscope(["trace", "-F", conf, "--", "/bin/true"])
        #expect(!run.killedBySignal, "\(run.stderr)")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("+++ exited (status 0) +++"))
    }
}
