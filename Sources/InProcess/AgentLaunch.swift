import CAgent
import Glibc
import TraceModel
import Tracer

/// Everything the traced program needs to load the agent: the agent's bytes in one memfd, the shared control
/// block and rings in another (at the descriptor right after it: the agent finds it there), and the spawn
/// that hands both to the program through `LD_AUDIT=/proc/self/fd/N`, appended last to its environment. The
/// agent closes both descriptors and removes that entry before the program's own code runs.
struct AgentLaunch {
    let agentDescriptor: Int32
    let sharedDescriptor: Int32
    let control: UnsafeMutablePointer<ls_control>
    let mappedBytes: Int

    init(executable: String) throws(TraceError) {
        func failure(_ what: String) -> TraceError { .cannotTrace(path: executable, errno: Errno.current) }
        guard let image = EmbeddedAgent.bytes else { throw .cannotTrace(path: executable, errno: Errno(rawValue: ENOEXEC)) }
        let agent = ls_memfd("linkscope-agent")
        guard agent >= 0 else { throw failure("memfd_create") }
        var written = 0
        while written < image.count {
            let n = image.withUnsafeBytes { write(agent, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { close(agent); throw failure("write") }
            written += n
        }
        let shared = ls_memfd("linkscope-trace")
        guard shared >= 0 else { close(agent); throw failure("memfd_create") }
        mappedBytes = Int(LS_CONTROL_BYTES) + Int(LS_MAX_RINGS) * Int(LS_RING_BYTES)
        guard ftruncate(shared, off_t(mappedBytes)) == 0 else { close(agent); close(shared); throw failure("ftruncate") }
        // The agent finds the shared memory at its own descriptor + 1.
        (agentDescriptor, sharedDescriptor) = Self.adjacent(agent, shared)
        guard let map = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_SHARED, sharedDescriptor, 0),
              map != MAP_FAILED else {
            close(agentDescriptor); close(sharedDescriptor)
            throw failure("mmap")
        }
        control = map.assumingMemoryBound(to: ls_control.self)
        control.pointee.magic = LS_MAGIC
        control.pointee.version = LS_VERSION
        control.pointee.ring_count = LS_MAX_RINGS
        control.pointee.tracer_pid = getpid()
        control.pointee.follow_forks = 0
    }

    /// Two descriptors N and N+1 for the two memfds (close-on-exec here; the spawn clears it in the child).
    private static func adjacent(_ first: Int32, _ second: Int32) -> (Int32, Int32) {
        if second == first + 1 { return (first, second) }
        var base: Int32 = 10
        while true {
            let a = fcntl(first, F_DUPFD_CLOEXEC, base)
            let b = fcntl(second, F_DUPFD_CLOEXEC, a + 1)
            if b == a + 1 {
                close(first)
                close(second)
                return (a, b)
            }
            close(a)
            close(b)
            base = b + 1
        }
    }

    /// What gives an exec'd image the agent again (InitialStack): the same two memfds, reached through
    /// linkscope's own descriptors (the program's were closed by the agent), the shared one at N + 1.
    var environmentEntryForExec: [UInt8] { Array("LD_AUDIT=/proc/\(getpid())/fd/\(agentDescriptor)".utf8) }

    func unmap() {
        munmap(control, mappedBytes)
        close(agentDescriptor)
        close(sharedDescriptor)
    }

    /// Starts the program with the agent: the command as given (Spawn: its bytes, the signal state linkscope
    /// was started with), the two descriptors kept open, and `LD_AUDIT=/proc/self/fd/N` appended last to its
    /// environment.
    func spawn(_ command: LaunchCommand) throws(TraceError) -> pid_t {
        try Spawn.start(command, inheriting: [agentDescriptor, sharedDescriptor],
                        appending: [Array("LD_AUDIT=/proc/self/fd/\(agentDescriptor)".utf8)])
    }
}
