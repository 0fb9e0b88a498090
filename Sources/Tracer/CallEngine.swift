import TraceModel
import Prototypes

/// The thread a stop came from, as the call engine needs it.
struct CallingThread {
    var thread: ThreadID
    var process: ThreadID
    /// Its calls are passed through, not reported (a vfork child on its parent's stack, without -f).
    var isForeign: Bool
    /// What call events name the program (`AddressSpace.programName`).
    var programName: String?
}

/// A word the call engine wants written into the stopped thread's stack.
struct StackWrite: Equatable {
    enum Purpose: Equatable {
        /// The call's return address replaced by a return site of ours: the call is traced through it, so a
        /// failure ends the trace.
        case hijackReturnAddress
        /// A real return address put back before an unwinder walks the stack: best effort.
        case restoreReturnAddress
    }

    var address: UInt64
    var value: UInt64
    var purpose: Purpose
}

/// What a slot or return stop decided, for the session to apply: emit the events in order, write the words,
/// set the registers, resume the thread.
struct StopEffects {
    enum Kind: Equatable {
        /// The entry of a reported call.
        case call
        /// The return of a reported call.
        case callReturn
        /// A stop of the engine's own: an unselected (unwind-starter) slot, a foreign thread's call.
        case passedThrough
    }

    var kind: Kind
    var registers: Registers
    var events: [TraceEvent] = []
    var writes: [StackWrite] = []
}

/// The two stops of a traced call (shared/DESIGN.md decision 3) as functions over registers, memory and the
/// thread's shadow stack: no process, no ptrace. The session reads the registers, calls these, and applies
/// what they return.
struct CallEngine {
    var decoder: CallDecoder

    /// A stop on the first byte of a PLT slot: emulate the slot's jump through its GOT word, report the
    /// call, and hijack its return address unless the function never returns (or returns twice). Frames the
    /// thread left without returning (longjmp, a signal handler that never returned) are reported unwound;
    /// an unwind starter puts back every hijacked return address before the unwinder walks them.
    ///
    /// Throws when the GOT word or the return address cannot be read.
    ///
    /// `slotAt` names the slot breakpoints of the address space: a GOT word may hold another armed slot's
    /// address (a non-PIE program's PLT stub is the canonical address of a function it takes the address of,
    /// and a library's GLOB_DAT word for that function holds it, as python3.11's free), and the call would
    /// stop there again and show twice. The jump goes on through that slot's own GOT word instead.
    func slotStop(_ slot: SlotBreakpoint, registers: Registers, memory: some TraceeReader,
                  shadow: inout ShadowStack, thread: CallingThread, isReturnSite: (UInt64) -> Bool,
                  slotAt: (UInt64) -> SlotBreakpoint? = { _ in nil },
                  vectors: () -> [UInt64]?, nextCallID: inout UInt64, time: Timestamp) throws(Errno) -> StopEffects {
        let slotAddress = registers.returnAddressSlot
        var (target, returnAddress) = try memory.words(at: slot.gotAddress, slotAddress)
        if slot.reported && !thread.isForeign {
            // Bounded: a chain of stubs is one or two long; a loop would be the program's own.
            for _ in 0..<4 {
                guard let next = slotAt(target) else { break }
                target = try memory.word(at: next.gotAddress)
            }
        }
        var effects = StopEffects(kind: .passedThrough, registers: registers)
        // A tail call from inside a traced call (`jmp strlen@plt`; glibc's strcoll does it to strcmp): the
        // return address is already one of our return sites and the frame owning this slot is still open.
        // Both calls will return through it at once, so the new frame is stacked on the same slot.
        let isTailCall = isReturnSite(returnAddress)
        let dead = isTailCall ? shadow.dropFrames(below: slotAddress) : shadow.dropFrames(atOrBelow: slotAddress)
        for frame in dead { unwound(frame, thread: thread, time: time, into: &effects) }
        if slot.startsUnwind {
            for frame in shadow.removeAll() {
                effects.writes.append(StackWrite(address: frame.stackSlot, value: frame.realReturn,
                                                 purpose: .restoreReturnAddress))
                unwound(frame, thread: thread, time: time, into: &effects)
            }
        }
        effects.registers.jumpThroughSlot(to: target)
        guard slot.reported && !thread.isForeign else { return effects }
        effects.kind = .call
        let registerFile = registers.registerFile(vectorLow: slot.vectorsAtEntry ? vectors() : nil)
        let decoded = decoder.decodeEntry(function: slot.symbol, registers: registerFile, memory: memory)
        let callID = nextCallID
        nextCallID += 1
        effects.events.append(.call(CallEntryEvent(
            thread: thread.thread, process: thread.process, callID: callID, function: slot.symbol,
            caller: slot.caller, program: thread.programName, callSite: returnAddress, depth: shadow.depth,
            decoded: decoded, time: time)))
        if slot.noReturn || slot.startsUnwind { return effects }
        // On a tail call the slot keeps the outer caller's site: that is the caller the callee sees.
        if !isTailCall {
            effects.writes.append(StackWrite(address: slotAddress, value: slot.returnSite, purpose: .hijackReturnAddress))
        }
        shadow.push(ShadowFrame(
            stackSlot: slotAddress, realReturn: returnAddress, callID: callID, function: slot.symbol,
            caller: slot.caller, entry: decoded, entryTime: time, reported: true,
            vectorsAtReturn: slot.vectorsAtReturn))
        return effects
    }

    /// A stop on a return site of ours: continue at the real return address and report the result, also of
    /// the frames that tail-called this one (they return with it, with the same result registers). Nil when
    /// no open call returns through this stop: the trap is not ours, and the program gets the SIGTRAP.
    func returnStop(registers: Registers, memory: some TraceeReader, shadow: inout ShadowStack,
                    thread: CallingThread, isReturnSite: (UInt64) -> Bool, vectors: () -> [UInt64]?,
                    time: Timestamp) -> StopEffects? {
        guard let (frame, unwoundFrames) = shadow.popReturning(through: registers.poppedReturnSlot) else { return nil }
        var effects = StopEffects(kind: .passedThrough, registers: registers)
        for dead in unwoundFrames { unwound(dead, thread: thread, time: time, into: &effects) }
        effects.registers.programCounter = frame.realReturn
        guard frame.reported && !thread.isForeign else { return effects }
        effects.kind = .callReturn
        let registerFile = registers.registerFile(vectorLow: frame.vectorsAtReturn ? vectors() : nil)
        effects.events.append(returned(frame, registerFile: registerFile, memory: memory, depth: shadow.depth,
                                       thread: thread, time: time))
        while isReturnSite(effects.registers.programCounter),
              let (outer, _) = shadow.popReturning(through: registers.poppedReturnSlot) {
            effects.registers.programCounter = outer.realReturn
            guard outer.reported else { continue }
            effects.events.append(returned(outer, registerFile: registerFile, memory: memory, depth: shadow.depth,
                                           thread: thread, time: time))
        }
        return effects
    }

    private func returned(_ frame: ShadowFrame, registerFile: RegisterFile, memory: some TraceeReader, depth: Int,
                          thread: CallingThread, time: Timestamp) -> TraceEvent {
        let decoded = decoder.decodeReturn(frame.entry, registers: registerFile, memory: memory)
        return .callReturn(CallReturnEvent(
            thread: thread.thread, process: thread.process, callID: frame.callID, function: frame.function,
            caller: frame.caller, depth: depth, decoded: decoded, entryTime: frame.entryTime, time: time))
    }

    /// A frame left without returning: reported as unwound (no result) when it was reported at all.
    /// The calls still open on a thread whose process ended (or exec'd): each closed, innermost first.
    static func unfinished(_ shadow: inout ShadowStack, thread: ThreadID, process: ThreadID, time: Timestamp) -> [TraceEvent] {
        shadow.removeAll().filter(\.reported).map { frame in
            .callReturn(CallReturnEvent(thread: thread, process: process, callID: frame.callID, function: frame.function,
                                        caller: frame.caller, depth: 0, decoded: nil, entryTime: frame.entryTime,
                                        time: time, processEnded: true))
        }
    }

    private func unwound(_ frame: ShadowFrame, thread: CallingThread, time: Timestamp, into effects: inout StopEffects) {
        guard frame.reported else { return }
        effects.events.append(.callReturn(CallReturnEvent(
            thread: thread.thread, process: thread.process, callID: frame.callID, function: frame.function,
            caller: frame.caller, depth: 0, decoded: nil, entryTime: frame.entryTime, time: time)))
    }
}
