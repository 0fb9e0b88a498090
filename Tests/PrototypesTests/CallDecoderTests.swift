import Testing
@testable import Prototypes

/// Decoding from a fake register file and memory; expected texts are ltrace's for the same calls
/// (captured on this machine), except where linkscope decodes more (noted).
@Suite struct CallDecoderTests {
    let decoder = CallDecoder()

    func line(_ name: String, _ regs: RegisterFile, _ memory: FakeMemory, returning ret: RegisterFile? = nil,
              decoder: CallDecoder = CallDecoder()) -> String {
        let entry = decoder.decodeEntry(function: name, registers: regs, memory: memory)
        var text = name + "(" + entry.arguments.text
        if let ret {
            let result = decoder.decodeReturn(entry, registers: ret, memory: memory)
            if entry.defersArguments { text += entry.arguments.isEmpty ? "" : ", " }
            text += result.outArguments.text + ") = " + result.value.ltraceText
        } else {
            text += ")"
        }
        return text
    }

    @Test func printfDecodesItsVariadicArguments() {
        let memory = FakeMemory()
        memory.map(0x1000, string: "%d %s %f %c\n")
        memory.map(0x2000, string: "str")
        let regs = RegisterFile.call([0x1000, 42, 0x2000, UInt64(UInt8(ascii: "z"))], vectors: [1.5])
        // ltrace: printf("%d %s %f %c\n", 42, "str", 1.500000, 'z') = 18
        #expect(line("printf", regs, memory, returning: .call([], rax: 18))
                == #"printf("%d %s %f %c\n", 42, "str", 1.500000, 'z') = 18"#)
    }

    @Test func printfArgumentsBeyondRegistersComeFromTheStack() {
        let memory = FakeMemory()
        memory.map(0x1000, string: "%d %d %d %d %d %d %d %ld %x %o %5.2f")
        let stack: UInt64 = 0x7000
        // Return address, then stack slots 6, 7, 8 (after rdi=format and rsi..r9 = 1...5).
        memory.map(stack, bytes(of: [0xdead, 6, 7, UInt64(bitPattern: -8), 0xff, 0o17]))
        let regs = RegisterFile.call([0x1000, 1, 2, 3, 4, UInt64(UInt32(bitPattern: -5))], vectors: [2.5], stack: stack)
        let entry = decoder.decodeEntry(function: "printf", registers: regs, memory: memory)
        #expect(entry.arguments.dropFirst().map(\.ltraceText) == ["1", "2", "3", "4", "-5", "6", "7", "-8", "0xff", "017", "2.500000"])
    }

    @Test func longDoubleComesFromTheAlignedStackSlot() {
        let memory = FakeMemory()
        memory.map(0x1000, string: "%d %Lf")
        let stack: UInt64 = 0x7008  // rsp at entry: 8 mod 16, so the argument area (rsp+8) is 16-aligned
        // Return address, then the long double 1.25 (x87: mantissa 0xA000000000000000, exponent 16383).
        memory.map(stack, bytes(of: [0xdead, 0xA000_0000_0000_0000, 0x3FFF]))
        let entry = decoder.decodeEntry(function: "printf", registers: .call([0x1000, 7], stack: stack), memory: memory)
        #expect(entry.arguments.text == #""%d %Lf", 7, 1.250000"#)
    }

    @Test func percentStarAndLengthModifiers() {
        #expect(PrintfFormat.conversions(in: Array("%*d %.*s %lu %llx %hhd %Lf %% %m %p".utf8)) == [
            .int(bytes: 4, signed: true), .int(bytes: 4, signed: true), .int(bytes: 4, signed: true), .string,
            .int(bytes: 8, signed: false), .hex(bytes: 8), .int(bytes: 1, signed: true), .longDouble, .pointer,
        ])
        #expect(PrintfFormat.conversions(in: Array("%1$d %2$d".utf8)).isEmpty, "positional formats are not guessed")
    }

    @Test func openFlagsAndModeUseRealLinuxValues() {
        let memory = FakeMemory()
        memory.map(0x1000, string: "/tmp/pl/x")
        // ltrace: open("/tmp/pl/x", 32833, 0644) = 3; linkscope names the flags (0x8000 is the kernel's
        // O_LARGEFILE, which glibc defines as 0 on x86_64, so it stays a number).
        let regs = RegisterFile.call([0x1000, UInt64(0o1 | 0o100 | 0x8000), 0o644])
        #expect(line("open", regs, memory, returning: .call([], rax: 3)) == #"open("/tmp/pl/x", O_WRONLY|O_CREAT|0x8000, 0644) = 3"#)
        let rdonly = RegisterFile.call([0x1000, UInt64(0o2000000), 0])
        #expect(line("open", rdonly, memory) == #"open("/tmp/pl/x", O_RDONLY|O_CLOEXEC, 0)"#)
    }

    @Test func enumsAndNullReturns() {
        let memory = FakeMemory()
        memory.map(0x1000, string: "")
        memory.map(0x3000, string: "C.UTF-8")
        memory.map(0x4000, string: "NOPE_X")
        // ltrace: setlocale(LC_ALL, "") = "C.UTF-8"; lseek(0, 0, 1) = 0 (we name SEEK_CUR); getenv("NOPE_X") = nil
        #expect(line("setlocale", .call([6, 0x1000]), memory, returning: .call([], rax: 0x3000)) == #"setlocale(LC_ALL, "") = "C.UTF-8""#)
        #expect(line("lseek", .call([0, 0, 1]), memory, returning: .call([], rax: 0)) == "lseek(0, 0, SEEK_CUR) = 0")
        #expect(line("getenv", .call([0x4000]), memory, returning: .call([], rax: 0)) == #"getenv("NOPE_X") = nil"#)
        #expect(line("signal", .call([10, 1]), memory, returning: .call([], rax: 0)) == "signal(SIGUSR1, 0x1) = 0", "ltrace prints a NULL addr as 0")
        #expect(line("dlsym", .call([UInt64(bitPattern: -1), 0x4000]), memory) == #"dlsym(RTLD_NEXT, "NOPE_X")"#)
        #expect(line("dlopen", .call([0x4000, 0x102]), memory) == #"dlopen("NOPE_X", RTLD_NOW|RTLD_GLOBAL)"#)
        #expect(line("free", .call([0]), memory, returning: .call([])) == "free(0) = <void>")  // ltrace: free(0)
    }

    @Test func doubleReturnComesFromXmm0() {
        let memory = FakeMemory()
        memory.map(0x1000, string: "3.25")
        var ret = RegisterFile.call([])
        ret.vectorLow[0] = (3.25).bitPattern
        // ltrace prints atof(...) = 0; the real value is in xmm0.
        #expect(line("atof", .call([0x1000]), memory, returning: ret) == #"atof("3.25") = 3.250000"#)
    }

    @Test func outputParametersAreDeferredToTheReturn() {
        let memory = FakeMemory()
        memory.map(0x1000, string: "123abc")
        memory.map(0x5000, bytes(of: [0]))  // strtol's endptr slot, written by the call
        let regs = RegisterFile.call([0x1000, 0x5000, 10])
        let entry = decoder.decodeEntry(function: "strtol", registers: regs, memory: memory)
        #expect(entry.defersArguments)
        #expect(entry.arguments.text == #""123abc""#)
        memory.write(0x5000, bytes(of: [0x1003]))
        let result = decoder.decodeReturn(entry, registers: .call([], rax: 123), memory: memory)
        #expect(result.outArguments.text == #""abc", 10"#)
        #expect(result.value.ltraceText == "123")
    }

    @Test func readShowsTheBytesTheCallReturned() {
        let memory = FakeMemory()
        memory.map(0x6000, Array("ab\nXXXXX".utf8))
        // ltrace: read(3, "ab\n", 8) = 3
        #expect(line("read", .call([3, 0x6000, 8]), memory, returning: .call([], rax: 3)) == #"read(3, "ab\n", 8) = 3"#)
        // write's buffer is cut by its length, not by a NUL.
        #expect(line("write", .call([4, 0x6000, 3]), memory, returning: .call([], rax: 3)) == #"write(4, "ab\n", 3) = 3"#)
    }

    @Test func pipeAndClockGettimeShowWhatTheyWrote() {
        let memory = FakeMemory()
        memory.map(0x7000, [3, 0, 0, 0, 4, 0, 0, 0])
        #expect(line("pipe", .call([0x7000]), memory, returning: .call([], rax: 0)) == "pipe([ 3, 4 ]) = 0")
        memory.map(0x8000, bytes(of: [12, 345]))
        #expect(line("clock_gettime", .call([1, 0x8000]), memory, returning: .call([], rax: 0))
                == "clock_gettime(CLOCK_MONOTONIC, { 12, 345 }) = 0")
    }

    @Test func stringLimitCutsWithDots() {
        let memory = FakeMemory()
        memory.map(0x1000, string: "a very long string that exceeds thirty two characters for sure")
        // ltrace: puts("a very long string that exceeds "...) = 63
        #expect(line("puts", .call([0x1000]), memory, returning: .call([], rax: 63)) == #"puts("a very long string that exceeds "...) = 63"#)
        #expect(line("puts", .call([0x1000]), memory, decoder: CallDecoder(stringLimit: 4)) == #"puts("a ve"...)"#)
        #expect(line("puts", .call([0x1000]), memory, decoder: CallDecoder(stringLimit: 0)) == #"puts(""...)"#)
        memory.map(0x2000, string: "abcd")
        #expect(line("puts", .call([0x2000]), memory, decoder: CallDecoder(stringLimit: 4)) == #"puts("abcd")"#, "exactly the limit is not cut")
    }

    @Test func unknownFunctionsPrintAsLtraceDoes() {
        // ltrace: unk(0xffff, 0x10000, 0x1869f, 0x186a0) = 0xffff ; libfn(0x56305784900b, 1, 1, 4096 ...
        let memory = FakeMemory()
        #expect(line("unk", .call([0xffff, 0x10000, 99999, 100000, 1_000_000, 5]), memory, returning: .call([], rax: 0xffff))
                == "unk(0xffff, 0x10000, 0x1869f, 0x186a0) = 0xffff")
        #expect(line("libfn", .call([0x56305784900b, 1, 1, 4096]), memory, returning: .call([], rax: 3))
                == "libfn(0x56305784900b, 1, 1, 4096) = 3")
    }

    @Test func unreadablePointersAreShownNotTrusted() {
        let memory = FakeMemory()
        #expect(line("puts", .call([0xdead0000]), memory) == "puts(0xdead0000)")
        #expect(line("clock_gettime", .call([0, 0xdead0000]), memory, returning: .call([], rax: 0))
                == "clock_gettime(CLOCK_REALTIME, 0xdead0000) = 0")
    }

    @Test func stringsAreReadInBulkAndAcrossShortReads() {
        let memory = FakeMemory()
        // A string ending exactly at the end of a mapping, next to unmapped memory, with a reader that fails
        // any read crossing the end: the page-bounded retry still gets it.
        let text = String(repeating: "x", count: 20)
        memory.map(0x10000 - 21, string: text)
        memory.refuseCrossing = true
        #expect(line("puts", .call([0x10000 - 21]), memory) == "puts(\"\(text)\")")
        #expect(memory.reads < 10, "bulk reads, not per byte or word: \(memory.reads)")
        // No NUL before unmapped memory: what is there, marked cut.
        let unterminated = FakeMemory()
        unterminated.map(0x20000 - 3, Array("abc".utf8))
        #expect(line("puts", .call([0x20000 - 3]), unterminated) == #"puts("abc"...)"#)
    }

    @Test func hostileTraceeValuesAreCapped() {
        let memory = FakeMemory()
        // A format implying thousands of arguments: at most maximumVariadicArguments are read.
        memory.map(0x1000, string: String(repeating: "%s", count: 5000))
        let entry = decoder.decodeEntry(function: "printf", registers: .call([0x1000, 1, 2, 3, 4, 5], stack: 0x9000), memory: memory)
        #expect(entry.arguments.count == 1, "an over-long format is not decoded at all")
        memory.map(0x3000, string: String(repeating: "%s", count: 100))
        let many = decoder.decodeEntry(function: "printf", registers: .call([0x3000, 1, 2, 3, 4, 5], stack: 0x9000), memory: memory)
        #expect(many.arguments.count == 1 + CallDecoder.maximumVariadicArguments)
        #expect(many.arguments[1].ltraceText == "0x1", "an unreadable %s shows its address")
        // A length argument that is negative or huge is capped by the string limit.
        memory.map(0x20000, string: "abc")
        #expect(line("write", .call([1, 0x20000, UInt64.max]), memory) == #"write(1, "abc", 18446744073709551615)"#)
        #expect(line("strnlen", .call([0x20000, 1]), memory) == #"strnlen("a", 1)"#)
        // read() = -1: nothing was written, nothing is shown.
        memory.map(0x30000, Array("stale".utf8))
        #expect(line("read", .call([3, 0x30000, 5]), memory, returning: .call([], rax: UInt64(bitPattern: -1))) == #"read(3, "", 5) = -1"#)
        // Stack pointer at the top of the address space: no overflow, no crash.
        let top = decoder.decodeEntry(function: "printf", registers: .call([0x3000, 1, 2, 3, 4, 5], stack: UInt64.max - 4), memory: memory)
        #expect(top.arguments.count == 1 + CallDecoder.maximumVariadicArguments)
    }
}
