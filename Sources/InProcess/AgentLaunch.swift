import CAgent
import Glibc
import TraceModel

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

    /// Starts the program with the agent, with an empty signal mask as the ptrace engine's spawn gives it, and
    /// linkscope's ignored signals except SIGINT and SIGQUIT, which linkscope ignores only for itself. (Issue
    /// 10 asks both engines to pass the mask on as a shell does: one change for both.)
    func spawn(executable: String, arguments: [String], environment: [String], restoreInterrupt: Bool,
               restoreQuit: Bool) throws(TraceError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 onto itself clears close-on-exec in the child only.
        posix_spawn_file_actions_adddup2(&actions, agentDescriptor, agentDescriptor)
        posix_spawn_file_actions_adddup2(&actions, sharedDescriptor, sharedDescriptor)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        if restoreInterrupt { sigaddset(&defaults, SIGINT) }
        if restoreQuit { sigaddset(&defaults, SIGQUIT) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let environment = environment + ["LD_AUDIT=/proc/self/fd/\(agentDescriptor)"]
        return try Self.withCStrings(arguments) { argv throws(TraceError) in
            try Self.withCStrings(environment) { envp throws(TraceError) in
                var pid: pid_t = 0
                let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
                guard result == 0 else { throw .cannotExecute(path: executable, errno: Errno(rawValue: result)) }
                return pid
            }
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) throws(TraceError) -> R) throws(TraceError) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return try body(pointers)
    }
}
