import CPtrace
import Glibc
import TraceModel

/// Starting a `LaunchCommand`, for both engines: one fork-to-exec path (CPtrace's `cptrace_spawn`) that gives
/// the program its argv and environment bytes, the signal state linkscope was started with, and nothing of
/// linkscope's own but the descriptors asked for.
public enum Spawn {
    /// Starts `command` and returns its pid once it has exec'd. `seize`: PTRACE_SEIZE it with these options
    /// before exec (it then stops at PTRACE_EVENT_EXEC, for the caller to wait for). `credentials`: the ids
    /// it runs as (`-u USER`). `inheriting`: descriptors of linkscope's the program keeps (close-on-exec
    /// cleared in the child only). `appending`: environment entries added after the command's own.
    /// Throws `.cannotExecute` when exec failed (its errno: ENOENT is a shell's 127, others 126) and
    /// `.cannotTrace` when fork or PTRACE_SEIZE did.
    public static func start(_ command: LaunchCommand, seize options: UInt? = nil, credentials: Credentials? = nil,
                             inheriting descriptors: [Int32] = [], appending extra: [[UInt8]] = []) throws(TraceError) -> pid_t {
        var stage: Int32 = 0, childErrno: Int32 = 0
        let child: pid_t = withCStringArray([command.executable] + command.arguments) { argv in
            withCStringArray(command.environment + extra) { envp in
                descriptors.withUnsafeBufferPointer { inherited in
                    let groups = credentials?.groups ?? []
                    return groups.withUnsafeBufferPointer { groupList in
                        var ids = credentials.map {
                            cptrace_credentials(uid: $0.uid, gid: $0.gid, groups: groupList.baseAddress, group_count: groupList.count)
                        }
                        // argv's first pointer is the path execve is given; the program's argv follows it.
                        var launch = cptrace_launch(
                            path: UnsafePointer(argv[0]), argv: argv + 1, envp: envp, blocked: UInt(command.signals.blocked.bits),
                            ignored: UInt(command.signals.ignored.bits), inherited: inherited.baseAddress,
                            inherited_count: inherited.count, credentials: nil, seize: options == nil ? 0 : 1,
                            seize_options: options ?? 0)
                        if ids != nil {
                            return withUnsafePointer(to: &ids!) { pointer in
                                launch.credentials = pointer
                                return cptrace_spawn(&launch, &stage, &childErrno)
                            }
                        }
                        return cptrace_spawn(&launch, &stage, &childErrno)
                    }
                }
            }
        }
        guard child < 0 else { return child }
        switch Int(stage) {
        case Int(CPTRACE_SPAWN_EXEC): throw .cannotExecute(path: command.displayPath, errno: Errno(rawValue: childErrno))
        case Int(CPTRACE_SPAWN_SEIZE): throw .cannotTrace(path: command.displayPath, errno: Errno(rawValue: childErrno))
        default: throw .cannotTrace(path: command.displayPath, errno: .current)
        }
    }
}

extension InheritedSignals {
    /// The main thread's mask and the process's ignored signals now, as the kernel has them (/proc's SigBlk
    /// and SigIgn: glibc's calls hide its internal signals 32 and 33, which a program inherits too). Nothing
    /// blocked or ignored when /proc cannot be read.
    public static func ofMainThread() -> InheritedSignals {
        let status = (try? ProcFS.readWholeFile("/proc/\(getpid())/status")) ?? []
        func set(_ field: String) -> SignalSet {
            SignalSet(bits: ProcStatus.field(field, in: status).flatMap { UInt64($0, radix: 16) } ?? 0)
        }
        return InheritedSignals(blocked: set("SigBlk"), ignored: set("SigIgn"))
    }

    /// The state linkscope was started with, taken the first time this is read: `main` reads it before
    /// anything changes a mask or a disposition (linkscope ignores SIGINT and SIGQUIT while it traces,
    /// catches SIGTERM, SIGHUP and SIGPIPE, and blocks signals in its helper threads).
    public static let atStartup = InheritedSignals.ofMainThread()
}
