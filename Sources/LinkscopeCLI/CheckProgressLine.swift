import Dispatch
import Glibc
import Synchronization

/// The one-line progress display `check` draws on a terminal's stderr, redrawn at most ten times a
/// second whichever worker thread reports.
final class CheckProgressLine: Sendable {
    private struct State {
        var lastDraw: UInt64 = 0
        var drawn = false
    }
    private let state = Mutex(State())

    func update(_ done: Int, _ total: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        let shouldDraw = state.withLock { state -> Bool in
            guard now &- state.lastDraw >= 100_000_000 || done == total else { return false }
            state.lastDraw = now
            state.drawn = true
            return true
        }
        guard shouldDraw else { return }
        let percent = total > 0 ? done * 100 / total : 100
        StandardStreams.error("\r\u{1b}[Kchecking \(done)/\(total) files (\(percent)%)")
    }

    func finish() {
        if state.withLock({ $0.drawn }) { StandardStreams.error("\r\u{1b}[K") }
    }
}
