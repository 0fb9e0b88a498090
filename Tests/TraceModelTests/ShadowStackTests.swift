import Prototypes
import Testing
@testable import TraceModel

/// The shadow stack's rules for frames the program unwound past (longjmp, exceptions): found by the stack
/// pointer, never by trusting that every call returns.
@Suite struct ShadowStackTests {
    private func frame(_ slot: UInt64, _ id: UInt64) -> ShadowFrame {
        ShadowFrame(stackSlot: slot, realReturn: 0x1000 + id, callID: id, function: "f\(id)", caller: nil,
                    entry: DecodedEntry(function: "f\(id)", arguments: [], registers: RegisterFile(), hasPrototype: false),
                    entryTime: Timestamp(wallSeconds: 0, wallNanoseconds: 0, monotonicNanoseconds: 0), reported: true)
    }

    @Test func returnPopsTheMatchingFrame() {
        var stack = ShadowStack()
        stack.push(frame(0x7000, 1))
        stack.push(frame(0x6f00, 2))
        let popped = stack.popReturning(through: 0x6f00)
        #expect(popped?.frame.callID == 2)
        #expect(popped?.unwound.isEmpty == true)
        #expect(stack.depth == 1)
    }

    @Test func returnThroughAnOuterFrameDropsTheInnerOnes() {
        var stack = ShadowStack()
        stack.push(frame(0x7000, 1))
        stack.push(frame(0x6f00, 2))
        stack.push(frame(0x6e00, 3))
        let popped = stack.popReturning(through: 0x7000)
        #expect(popped?.frame.callID == 1)
        #expect(popped?.unwound.map(\.callID) == [3, 2])
        #expect(stack.isEmpty)
    }

    @Test func unknownSlotIsNotOurs() {
        var stack = ShadowStack()
        stack.push(frame(0x7000, 1))
        #expect(stack.popReturning(through: 0x6000) == nil)
        #expect(stack.depth == 1)
    }

    @Test func framesAtOrBelowTheStackPointerAreDead() {
        var stack = ShadowStack()
        stack.push(frame(0x7000, 1))
        stack.push(frame(0x6f00, 2))
        stack.push(frame(0x6e00, 3))
        // A new call whose slot is at 0x6f00 means frames 2 and 3 are gone (longjmp'd past).
        #expect(stack.dropFrames(atOrBelow: 0x6f00).map(\.callID) == [3, 2])
        #expect(stack.depth == 1)
        #expect(stack.dropFrames(atOrBelow: 0x6000).isEmpty)
    }

    @Test func noFixedDepthLimit() {
        var stack = ShadowStack()
        for i in 0..<100_000 { stack.push(frame(0x7fff_0000 - UInt64(i) * 16, UInt64(i))) }
        #expect(stack.depth == 100_000)
        #expect(stack.removeAll().count == 100_000)
    }
}
