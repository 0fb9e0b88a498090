import Prototypes
import Testing
import TraceModel
@testable import Tracer

/// The call engine's two stops on fake registers and memory: no process. A program at 0x401000 calls through
/// its PLT; its return site (the padding after its code) is 0x401ff0; the stack is near 0x7ffd0000.
@Suite struct CallEngineTests {
    let engine = CallEngine(decoder: CallDecoder())
    let thread = CallingThread(thread: ThreadID(rawValue: 101), process: ThreadID(rawValue: 100), isForeign: false,
                               programName: nil)
    let site: UInt64 = 0x401ff0
    let time = Timestamp(wallSeconds: 1, wallNanoseconds: 0, monotonicNanoseconds: 1)
    let stack: UInt64 = 0x7ffd_0000

    func slot(_ symbol: String, got: UInt64, reported: Bool = true, startsUnwind: Bool = false,
              noReturn: Bool = false, vectorsAtEntry: Bool = false) -> SlotBreakpoint {
        SlotBreakpoint(symbol: symbol, gotAddress: got, caller: nil, reported: reported, startsUnwind: startsUnwind,
                       noReturn: noReturn, returnSite: site, vectorsAtEntry: vectorsAtEntry, vectorsAtReturn: false)
    }

    func isSite(_ address: UInt64) -> Bool { address == site }

    /// A slot stop of `slot`, called from `returnAddress` with the stack pointer at `sp`; its GOT word holds
    /// `target`.
    func enter(_ slot: SlotBreakpoint, target: UInt64, sp: UInt64, returnAddress: UInt64, arguments: [UInt64] = [],
               memory: FakeTraceeMemory, shadow: inout ShadowStack, thread: CallingThread? = nil,
               nextCallID: inout UInt64) throws -> StopEffects {
        memory.map(slot.gotAddress, words: [target])
        memory.map(sp, words: [returnAddress])
        return try engine.slotStop(
            slot, registers: .stopped(pc: 0x401031, sp: sp, arguments: arguments), memory: memory, shadow: &shadow,
            thread: thread ?? self.thread, isReturnSite: isSite, vectors: { nil }, nextCallID: &nextCallID, time: time)
    }

    /// The return stop after `ret` popped the return site from `slot` (the thread stands just past its int3).
    func leave(slot: UInt64, rax: UInt64, memory: FakeTraceeMemory, shadow: inout ShadowStack) -> StopEffects? {
        engine.returnStop(registers: .stopped(pc: site + 1, sp: slot + 8, rax: rax), memory: memory, shadow: &shadow,
                          thread: thread, isReturnSite: isSite, vectors: { nil }, time: time)
    }

    @Test func aCallIsEmulatedJumpHijackedReturnAndAReturnStop() throws {
        let memory = FakeTraceeMemory()
        memory.map(0x50_0000, string: "hello")
        var shadow = ShadowStack(), nextCallID: UInt64 = 7
        let entry = try enter(slot("strlen", got: 0x404018), target: 0x7f00_0000_1000, sp: stack,
                              returnAddress: 0x401150, arguments: [0x50_0000], memory: memory, shadow: &shadow,
                              nextCallID: &nextCallID)
        #expect(entry.kind == .call)
        #expect(entry.registers.programCounter == 0x7f00_0000_1000)
        #expect(entry.registers.stackPointer == stack)
        #expect(entry.writes == [StackWrite(address: stack, value: site, purpose: .hijackReturnAddress)])
        guard case .call(let call)? = entry.events.first, entry.events.count == 1 else {
            Issue.record("one call event: \(entry.events)"); return
        }
        #expect(call.function == "strlen" && call.callID == 7 && call.callSite == 0x401150 && call.depth == 0)
        #expect(call.decoded.arguments.map(\.ltraceText) == ["\"hello\""])
        #expect(nextCallID == 8 && shadow.depth == 1)

        let exit = try #require(leave(slot: stack, rax: 5, memory: memory, shadow: &shadow))
        #expect(exit.kind == .callReturn)
        #expect(exit.registers.programCounter == 0x401150)
        #expect(exit.writes.isEmpty && shadow.isEmpty)
        guard case .callReturn(let result)? = exit.events.first, exit.events.count == 1 else {
            Issue.record("one return event: \(exit.events)"); return
        }
        #expect(result.callID == 7 && result.function == "strlen" && result.decoded?.value.ltraceText == "5")
    }

    @Test func aTailCallSharesTheSlotAndBothReturnAtOnce() throws {
        let memory = FakeTraceeMemory()
        var shadow = ShadowStack(), nextCallID: UInt64 = 1
        _ = try enter(slot("strcoll", got: 0x404020), target: 0x7f00_0000_2000, sp: stack, returnAddress: 0x401150,
                      memory: memory, shadow: &shadow, nextCallID: &nextCallID)
        // strcoll `jmp strcmp@plt`: same stack slot, which now holds our return site.
        let tail = try enter(slot("strcmp", got: 0x7f00_0040_0018), target: 0x7f00_0000_3000, sp: stack,
                             returnAddress: site, memory: memory, shadow: &shadow, nextCallID: &nextCallID)
        #expect(tail.kind == .call && tail.writes.isEmpty, "the slot keeps the outer caller's return site")
        guard case .call(let inner)? = tail.events.first else { Issue.record("\(tail.events)"); return }
        #expect(inner.depth == 1 && inner.callSite == site)
        #expect(shadow.frames.map(\.stackSlot) == [stack, stack])

        let exit = try #require(leave(slot: stack, rax: 0, memory: memory, shadow: &shadow))
        #expect(exit.registers.programCounter == 0x401150, "back to strcoll's real caller")
        #expect(exit.events.compactMap(Self.returned) == ["strcmp", "strcoll"])
        #expect(shadow.isEmpty)
    }

    @Test func framesLeftWithoutReturningAreReportedUnwound() throws {
        let memory = FakeTraceeMemory()
        var shadow = ShadowStack(), nextCallID: UInt64 = 1
        _ = try enter(slot("outer", got: 0x404028), target: 0x7f00_0000_4000, sp: stack, returnAddress: 0x401150,
                      memory: memory, shadow: &shadow, nextCallID: &nextCallID)
        _ = try enter(slot("inner", got: 0x404030), target: 0x7f00_0000_5000, sp: stack - 0x100,
                      returnAddress: 0x401160, memory: memory, shadow: &shadow, nextCallID: &nextCallID)
        // `outer` returns while `inner` is still open (inner longjmp'ed out): inner is unwound, outer returns.
        let exit = try #require(leave(slot: stack, rax: 1, memory: memory, shadow: &shadow))
        #expect(exit.events.compactMap(Self.unwoundName) == ["inner"])
        #expect(exit.events.compactMap(Self.returned) == ["outer"])
        #expect(shadow.isEmpty)

        // A frame whose slot the stack pointer has risen past (longjmp to main) is dropped at the next call.
        _ = try enter(slot("lost", got: 0x404038), target: 0x7f00_0000_6000, sp: stack - 0x200,
                      returnAddress: 0x401170, memory: memory, shadow: &shadow, nextCallID: &nextCallID)
        let next = try enter(slot("after", got: 0x404040), target: 0x7f00_0000_7000, sp: stack,
                             returnAddress: 0x401180, memory: memory, shadow: &shadow, nextCallID: &nextCallID)
        #expect(next.events.compactMap(Self.unwoundName) == ["lost"])
        guard case .call(let after)? = next.events.last else { Issue.record("\(next.events)"); return }
        #expect(after.function == "after" && after.depth == 0)
        #expect(shadow.frames.map(\.function) == ["after"])
    }

    @Test func aNoReturnFunctionIsReportedAtEntryOnly() throws {
        let memory = FakeTraceeMemory()
        var shadow = ShadowStack(), nextCallID: UInt64 = 1
        let exit = try enter(slot("exit", got: 0x404048, noReturn: true), target: 0x7f00_0000_8000, sp: stack,
                             returnAddress: 0x401190, arguments: [3], memory: memory, shadow: &shadow,
                             nextCallID: &nextCallID)
        #expect(exit.kind == .call && exit.events.count == 1)
        #expect(exit.writes.isEmpty, "a return address that is never used is never hijacked")
        #expect(shadow.isEmpty)
    }

    @Test func anUnwindStarterPutsEveryHijackedReturnAddressBack() throws {
        let memory = FakeTraceeMemory()
        var shadow = ShadowStack(), nextCallID: UInt64 = 1
        _ = try enter(slot("a", got: 0x404050), target: 0x7f00_0000_9000, sp: stack, returnAddress: 0x4011a0,
                      memory: memory, shadow: &shadow, nextCallID: &nextCallID)
        _ = try enter(slot("b", got: 0x404058), target: 0x7f00_0000_a000, sp: stack - 0x80, returnAddress: 0x4011b0,
                      memory: memory, shadow: &shadow, nextCallID: &nextCallID)
        let raise = try enter(slot("_Unwind_RaiseException", got: 0x7f00_0050_0000, reported: false, startsUnwind: true),
                              target: 0x7f00_0000_b000, sp: stack - 0x100, returnAddress: 0x7f00_0000_a100,
                              memory: memory, shadow: &shadow, nextCallID: &nextCallID)
        #expect(raise.kind == .passedThrough)
        #expect(raise.registers.programCounter == 0x7f00_0000_b000)
        #expect(raise.writes == [
            StackWrite(address: stack - 0x80, value: 0x4011b0, purpose: .restoreReturnAddress),
            StackWrite(address: stack, value: 0x4011a0, purpose: .restoreReturnAddress),
        ], "innermost first, so a slot shared by tail calls ends with the outermost (real) address")
        #expect(raise.events.compactMap(Self.unwoundName) == ["b", "a"])
        #expect(shadow.isEmpty)
    }

    @Test func aForeignThreadsCallsArePassedThrough() throws {
        let memory = FakeTraceeMemory()
        var shadow = ShadowStack(), nextCallID: UInt64 = 1
        var foreign = thread
        foreign.isForeign = true
        let stop = try enter(slot("strlen", got: 0x404018), target: 0x7f00_0000_1000, sp: stack,
                             returnAddress: 0x401150, memory: memory, shadow: &shadow, thread: foreign,
                             nextCallID: &nextCallID)
        #expect(stop.kind == .passedThrough && stop.events.isEmpty && stop.writes.isEmpty)
        #expect(stop.registers.programCounter == 0x7f00_0000_1000)
        #expect(shadow.isEmpty && nextCallID == 1)
    }

    @Test func aTrapAtAReturnSiteThatNoFrameOwnsIsNotOurs() {
        var shadow = ShadowStack()
        #expect(leave(slot: stack, rax: 0, memory: FakeTraceeMemory(), shadow: &shadow) == nil)
    }

    @Test func anUnreadableGOTWordIsAnError() {
        var shadow = ShadowStack(), nextCallID: UInt64 = 1
        #expect(throws: Errno.self) {
            try engine.slotStop(slot("strlen", got: 0x404018), registers: .stopped(pc: 0x401031, sp: stack),
                                memory: FakeTraceeMemory(), shadow: &shadow, thread: thread, isReturnSite: isSite,
                                vectors: { nil }, nextCallID: &nextCallID, time: time)
        }
        #expect(shadow.isEmpty && nextCallID == 1)
    }

    @Test func vectorRegistersAreReadOnlyWhenThePrototypeNeedsThem() throws {
        let memory = FakeTraceeMemory()
        memory.map(0x404018, words: [0x7f00_0000_1000])
        memory.map(stack, words: [0x401150])
        for wanted in [false, true] {
            var shadow = ShadowStack(), nextCallID: UInt64 = 1, reads = 0
            _ = try engine.slotStop(
                slot("sqrt", got: 0x404018, vectorsAtEntry: wanted), registers: .stopped(pc: 0x401031, sp: stack),
                memory: memory, shadow: &shadow, thread: thread, isReturnSite: isSite,
                vectors: { reads += 1; return Array(repeating: 0, count: 8) }, nextCallID: &nextCallID, time: time)
            #expect(reads == (wanted ? 1 : 0))
        }
    }

    static func returned(_ event: TraceEvent) -> String? {
        guard case .callReturn(let r) = event, !r.unwound else { return nil }
        return r.function
    }

    static func unwoundName(_ event: TraceEvent) -> String? {
        guard case .callReturn(let r) = event, r.unwound else { return nil }
        return r.function
    }
}
