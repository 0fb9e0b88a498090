import Glibc
import Linker
import TraceModel
import Tracer

/// SIGTERM and SIGHUP to `linkscope trace` while it runs a program it launched must not lose the trace
/// (issue 14): linkscope does not die of them; the program gets the signal, and the trace ends as the
/// program does. The ptrace engine relays them itself (Tracer's SignalRelay: it sees the program's signals, so
/// a group signal is never sent twice) and blocks them once its program runs. This is the net under every
/// engine that does not, and under any engine before it does: the signals are *caught* (a caught signal is
/// reset by exec, so the program starts with its default; the mask is not touched, so the program inherits
/// it), and a thread of their own passes each on to linkscope's children still running `SignalRelay.window`
/// later. An engine that cannot see the program's signals (the in-process one) so cannot tell a group signal
/// the program already took: a program that handles it and is still running after the window gets it twice.
enum TraceSignalNet {
    /// The signals caught: those a terminal's hangup, `timeout`, `kill` and supervisors send to end a program.
    /// SIGINT and SIGQUIT are each engine's own (^C reaches the program through the terminal).
    static let caught: [Int32] = [SIGTERM, SIGHUP]

    /// Where the handler writes the signal numbers; read by the relay thread. A global, set before any
    /// handler is installed, because a handler cannot capture.
    nonisolated(unsafe) static var pipeWrite: Int32 = -1

    /// Installs the handlers and starts the relay thread. Signals linkscope was started ignoring (nohup) stay
    /// ignored: they are not its to pass on.
    static func install() {
        let signals = caught.filter { !SignalRelay.isIgnored($0) }
        guard !signals.isEmpty else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        // Not the program's: closed at exec (pipe2 with O_CLOEXEC needs _GNU_SOURCE, which Glibc lacks).
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        pipeWrite = fds[1]
        // Started with every signal blocked: the handlers must run on the engine's thread, never here.
        var all = sigset_t(), previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        let reader = fds[0]
        startThread {
            relay(from: reader)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = Glibc.write(TraceSignalNet.pipeWrite, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }

    /// Reads signal numbers; `SignalRelay.window` after each, sends it to linkscope's children still running.
    private static func relay(from reader: Int32) {
        var relay = SignalRelay()
        while true {
            let now = Timestamp.now().monotonicNanoseconds
            for signal in relay.due(at: now) {
                for child in runningChildren() { kill(child, signal) }
            }
            let wait = relay.nextDeadline.map { $0 > now ? $0 - now : 0 }
            var descriptor = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, wait.map { Int32(min($0 / 1_000_000 + 1, 1000)) } ?? -1)
            guard ready > 0 else { continue }
            var byte: UInt8 = 0
            let n = read(reader, &byte, 1)
            if n == 1 { relay.linkscopeReceived(Int32(byte), at: Timestamp.now().monotonicNanoseconds) }
            else if n == 0 { return }
        }
    }

    /// linkscope's children that have not ended (a zombie has, and is its engine's to reap), from
    /// /proc/self/task/*/children.
    static func runningChildren() -> [pid_t] {
        guard let tasks = (try? SystemCalls.directoryEntries("/proc/self/task"))?.map(\.name) else { return [] }
        var children: [pid_t] = []
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/self/task/\(task)/children", encoding: .utf8) else { continue }
            children += text.split(separator: " ").compactMap { pid_t($0.filter { !$0.isWhitespace }) }
        }
        return children.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let state = stat[stat.index(after: close)...].split(separator: " ").first
            return state != "Z" && state != "X"
        }
    }
}
