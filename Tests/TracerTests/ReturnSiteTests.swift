import ELF
import Testing
import TraceModel
@testable import Tracer

/// Where the ptrace engine puts an object's return breakpoint.
@Suite struct ReturnSiteTests {
    private func segment(_ flags: SegmentFlags, _ address: UInt64, _ size: UInt64) -> ImageFacts.LoadSegment {
        ImageFacts.LoadSegment(address: address, memorySize: size, fileSize: size, executable: flags.contains(.execute))
    }

    @Test func paddingAfterTheCodeIsTheReturnSite() {
        let segments = [segment(.read, 0, 0x600), segment([.read, .execute], 0x1000, 0x1a5), segment(.read, 0x2000, 0x100)]
        #expect(ImageFacts.padding(in: segments) == 0x11a5)
    }

    @Test func codeEndingOnAPageHasNoPadding() {
        let segments = [segment([.read, .execute], 0x1000, 0x1000)]
        #expect(ImageFacts.padding(in: segments) == nil)
    }

    @Test func paddingSharedWithAnotherSegmentIsRefused() {
        let segments = [segment([.read, .execute], 0x1000, 0x1a5), segment(.read, 0x1800, 0x100)]
        #expect(ImageFacts.padding(in: segments) == nil)
    }

    @Test func noReturnAndReturnsTwiceFunctionsAreNeverHijacked() {
        for name in ["exit", "_exit", "longjmp", "__longjmp_chk", "__cxa_throw", "_setjmp", "vfork", "_ZSt17__throw_bad_allocv"] {
            #expect(NoReturnFunctions.contains(name), "\(name)")
        }
        for name in ["malloc", "strlen", "qsort", "fork"] { #expect(!NoReturnFunctions.contains(name), "\(name)") }
    }
}
