import Glibc
import Testing
import Tracer

/// Which signals linkscope passes on to the program it launched (issue 14): the ones the program did not get
/// itself, `window` late; a group signal both got is never sent twice.
@Suite struct SignalRelayTests {
    let window = SignalRelay.window

    @Test func aSignalOnlyLinkscopeGotIsPassedOnAWindowLate() {
        var relay = SignalRelay()
        relay.linkscopeReceived(SIGTERM, at: 1_000)
        #expect(relay.nextDeadline == 1_000 + window)
        #expect(relay.due(at: 1_000 + window - 1).isEmpty)
        #expect(relay.due(at: 1_000 + window) == [SIGTERM])
        #expect(relay.due(at: 1_000 + 2 * window).isEmpty, "passed on once")
        #expect(relay.nextDeadline == nil)
    }

    @Test func aGroupSignalIsNotSentTwiceInEitherOrder() {
        var first = SignalRelay()
        first.linkscopeReceived(SIGHUP, at: 5_000)
        first.programReceived(SIGHUP, at: 5_000 + window / 2)
        #expect(first.due(at: 5_000 + window).isEmpty)
        var second = SignalRelay()
        second.programReceived(SIGTERM, at: 5_000)
        second.linkscopeReceived(SIGTERM, at: 5_000 + window)
        #expect(second.nextDeadline == nil)
    }

    @Test func otherSignalsAndOldCopiesDoNotCount() {
        var relay = SignalRelay()
        relay.programReceived(SIGINT, at: 0)
        relay.linkscopeReceived(SIGTERM, at: 10)
        relay.linkscopeReceived(SIGINT, at: window + 1)  // the program's SIGINT was long before
        relay.linkscopeReceived(SIGTERM, at: 20)  // merged with the one pending, as the kernel merges them
        #expect(relay.due(at: 10 + window) == [SIGTERM])
        #expect(relay.due(at: 2 * window + 1) == [SIGINT])
    }
}
