import Prototypes

/// One traced call whose return address the engine replaced.
public struct ShadowFrame: Sendable {
    /// Where the return address lives on the thread's stack (rsp at the slot stop).
    public var stackSlot: UInt64
    /// The return address the call really had; put back into rip at the return stop.
    public var realReturn: UInt64
    public var callID: UInt64
    public var function: String
    public var caller: String?
    public var entry: DecodedEntry
    public var entryTime: Timestamp
    /// False for frames of a thread whose calls are not reported (a vfork child sharing our stack).
    public var reported: Bool
    /// Whether the result is read from xmm0 (a float or double return).
    public var vectorsAtReturn = false

    public init(stackSlot: UInt64, realReturn: UInt64, callID: UInt64, function: String, caller: String?,
                entry: DecodedEntry, entryTime: Timestamp, reported: Bool, vectorsAtReturn: Bool = false) {
        self.stackSlot = stackSlot
        self.realReturn = realReturn
        self.callID = callID
        self.function = function
        self.caller = caller
        self.entry = entry
        self.entryTime = entryTime
        self.reported = reported
        self.vectorsAtReturn = vectorsAtReturn
    }
}

/// The per-thread stack of open traced calls. No fixed depth; frames are keyed by their stack slot, so a
/// frame the program unwound past (longjmp, an exception, a signal handler that never returned) is found by
/// the stack pointer and dropped rather than trusted (the way the kernel's uretprobes drop "chained" return
/// instances whose stack pointer is below the current one).
public struct ShadowStack: Sendable {
    public private(set) var frames: [ShadowFrame] = []

    public init() {}

    public var isEmpty: Bool { frames.isEmpty }
    public var depth: Int { frames.count }

    /// A frame may share its slot with the innermost open one: a traced function that tail-calls another
    /// traced function through a PLT (`jmp strlen@plt`) leaves its own return slot for the callee.
    public mutating func push(_ frame: ShadowFrame) {
        precondition(frames.last.map { $0.stackSlot >= frame.stackSlot } ?? true,
                     "a new call's return slot lies below every open one; dead frames are dropped first")
        frames.append(frame)
    }

    /// Frames whose return slot is strictly below `stackPointer` (a tail call keeps the frame at rsp alive).
    public mutating func dropFrames(below stackPointer: UInt64) -> [ShadowFrame] {
        var dropped: [ShadowFrame] = []
        while let last = frames.last, last.stackSlot < stackPointer {
            dropped.append(frames.removeLast())
        }
        return dropped
    }

    /// Frames whose return slot is at or below `stackPointer`: the stack grows down, so a live outer frame's
    /// slot is always above the current rsp. Removed and returned innermost first.
    public mutating func dropFrames(atOrBelow stackPointer: UInt64) -> [ShadowFrame] {
        var dropped: [ShadowFrame] = []
        while let last = frames.last, last.stackSlot <= stackPointer {
            dropped.append(frames.removeLast())
        }
        return dropped
    }

    /// The frame returning through `stackSlot` (rsp - 8 at a return stop) and every frame inside it that was
    /// unwound past without returning. Nil when no frame owns the slot.
    public mutating func popReturning(through stackSlot: UInt64) -> (frame: ShadowFrame, unwound: [ShadowFrame])? {
        guard let index = frames.lastIndex(where: { $0.stackSlot == stackSlot }) else { return nil }
        let unwound = Array(frames[(index + 1)...].reversed())
        let frame = frames[index]
        frames.removeSubrange(index...)
        return (frame, unwound)
    }

    /// Empties the stack (an exception is about to unwind, the thread exec'd or died), innermost first.
    public mutating func removeAll() -> [ShadowFrame] {
        defer { frames.removeAll() }
        return frames.reversed()
    }
}
