import Glibc
import Prototypes
import Testing
@testable import Tracer

/// The x86-64 seam: what a trap, a call and a return look like in the registers.
@Suite struct RegistersTests {
    @Test func aTrapStopsPastItsInt3AndARetPopsOneWord() {
        var regs = Registers.stopped(pc: 0x401031, sp: 0x7ffd_0000)
        #expect(regs.trapAddress == 0x401030)
        #expect(regs.returnAddressSlot == 0x7ffd_0000)
        regs.rerunTrappedInstruction()
        #expect(regs.programCounter == 0x401030)
        regs.emulateReturn(to: 0x401150)
        #expect(regs.programCounter == 0x401150 && regs.stackPointer == 0x7ffd_0008)
        #expect(regs.poppedReturnSlot == 0x7ffd_0000, "after ret, the slot it popped is one word below")
    }

    @Test func argumentsAreTheSystemVRegistersInOrder() {
        var regs = Registers.stopped(pc: 0, sp: 0x7ffd_0000, arguments: [1, 2, 3, 4, 5, 6], rax: 42)
        regs.raw.rdx = 3
        let file = regs.registerFile(vectorLow: nil)
        #expect(file.integerArguments == [1, 2, 3, 4, 5, 6])
        #expect(file.rax == 42 && file.rdx == 3 && file.stackPointer == 0x7ffd_0000)
        #expect(file.vectorLow == Array(repeating: 0, count: 8), "not read: zeros, as ltrace shows unknown calls")
        #expect(regs.registerFile(vectorLow: Array(1...8)).vectorLow == Array(1...8))
    }

    @Test func vectorRegistersAreReadForFloatsAndFormatsOnly() {
        let library = PrototypeLibrary.builtin
        #expect(Registers.vectorUse(of: library.prototype(named: "strlen")) == (false, false))
        #expect(Registers.vectorUse(of: library.prototype(named: "atof")) == (false, true))
        #expect(Registers.vectorUse(of: library.prototype(named: "printf")) == (true, false))
        #expect(Registers.vectorUse(of: nil) == (false, false))
    }
}
