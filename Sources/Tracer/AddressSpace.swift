import TraceModel

/// The memory one or more traced threads run in, and what the engine has put into it: breakpoints with the
/// bytes they replaced, the objects armed, where the loader's r_debug lives.
///
/// The threads of a process share one. A vfork child (or a `clone(CLONE_VM)` child that is not a thread) runs
/// in its parent's until it execs, so it shares the parent's. A fork child's memory is a copy of its parent's,
/// breakpoints and hijacked return addresses included, so it gets a `copy()`. An exec replaces it.
final class AddressSpace {
    enum Role {
        case slot(SlotBreakpoint)
        case returnSite
        case entryPoint
        case loaderHook
    }

    struct Breakpoint {
        var original: UInt8
        var role: Role
    }

    var breakpoints: [UInt64: Breakpoint] = [:]
    var images: [LoadedImage] = []
    /// The link map's objects in order, as of the last consistent state.
    var loadOrder: [TracedObject] = []
    /// AT_ENTRY of the program.
    var entryPoint: UInt64 = 0
    /// The program's file (its /proc/PID/exe).
    var mainPath: String
    /// The command as launched, when the trace started it (a symlink's own name, for filters).
    var launchPath: String?
    /// What call events name the program: nil for the command the trace launched (the renderer knows its
    /// name as typed), the file's base name after an exec or for an attached process.
    var programName: String?
    /// The loader's `struct r_debug`, 0 until found.
    var rDebug: UInt64 = 0
    /// Whether its objects have been armed (at the entry point, or at once for an attached process).
    var armed = false
    /// Between an exec and the loader's first consistent r_brk notification, when the objects are armed.
    var awaitingLoader = false

    init(mainPath: String, programName: String?) {
        self.mainPath = mainPath
        self.programName = programName
    }

    /// A fork child's view: the same breakpoints at the same addresses, in memory of its own.
    func copy() -> AddressSpace {
        let twin = AddressSpace(mainPath: mainPath, programName: programName)
        twin.breakpoints = breakpoints
        twin.images = images
        twin.loadOrder = loadOrder
        twin.entryPoint = entryPoint
        twin.rDebug = rDebug
        twin.armed = armed
        twin.launchPath = launchPath
        twin.awaitingLoader = awaitingLoader
        return twin
    }

    /// The slot breakpoint at `address`, if one is there.
    func slot(at address: UInt64) -> SlotBreakpoint? {
        guard let breakpoint = breakpoints[address], case .slot(let slot) = breakpoint.role else { return nil }
        return slot
    }

    func isReturnSite(_ address: UInt64) -> Bool {
        guard let breakpoint = breakpoints[address], case .returnSite = breakpoint.role else { return false }
        return true
    }

    /// Puts every replaced byte back (through any stopped thread of this space).
    func restoreBreakpoints(_ memory: TraceeMemory) {
        for (address, breakpoint) in breakpoints {
            _ = try? memory.replaceByte(at: address, with: breakpoint.original)
        }
    }
}

/// A breakpoint on the first byte of a PLT slot.
struct SlotBreakpoint {
    var symbol: String
    var gotAddress: UInt64
    var caller: String?
    var reported: Bool
    var startsUnwind: Bool
    var noReturn: Bool
    var returnSite: UInt64
    /// Whether decoding reads xmm registers at entry / at return: PTRACE_GETFPREGS is a system call per
    /// stop, taken only for prototypes with float arguments, format strings, or a float result.
    var vectorsAtEntry: Bool
    var vectorsAtReturn: Bool
}
