import Foundation
import Testing
import TestSupport

/// The harness itself: a hung child must end as a failure the test sees, not as a stalled CI run.
@Suite struct TestSupportTests {
    @Test func hungChildIsKilledAtTheTimeout() {
        let start = Date()
        let result = TestSupport.run(["/bin/sleep", "60"], timeout: 1)
        #expect(result.killedBySignal)
        #expect(result.status == SIGKILL)
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test func quickChildIsNotTouched() {
        let result = TestSupport.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], timeout: 60)
        #expect(!result.killedBySignal)
        #expect(result.status == 3)
        #expect(result.stdout == "out\n")
        #expect(result.stderr == "err\n")
    }
}
