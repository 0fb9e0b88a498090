import Foundation
import Testing
@testable import Prototypes

/// Value text, against what ltrace 0.7.3 printed on this machine for the same data.
@Suite struct ValueTextTests {
    @Test func escapesLikeLtrace() {
        // ltrace -e puts ./b $'hi\n\t"\\\001\177\200\377x\a\b\f\r\v\0331' printed
        //   puts("hi\n\t"\\\001\177\200\377x\a\b\f\r\v\0331")
        // We escape the inner quote too (documented), so the line parses back.
        let raw = Array("hi\n\t\"\\".utf8) + [1, 0x7F, 0x80, 0xFF] + Array("x".utf8) + [7, 8, 12, 13, 11, 0x1B] + Array("1".utf8)
        #expect(Value.string(bytes: raw, truncated: false).ltraceText == #""hi\n\t\"\\\001\177\200\377x\a\b\f\r\v\0331""#)
    }

    @Test(arguments: [
        (Value.string(bytes: Array("a very long string that exceeds ".utf8), truncated: true), #""a very long string that exceeds "..."#),
        (.string(bytes: [], truncated: true), #"""..."#),
        (.null, "nil"),
        (.pointer(0x557b777c62a0), "0x557b777c62a0"),
        (.void, "<void>"),
        (.character(UInt8(ascii: "z")), "'z'"),
        (.character(10), #"'\n'"#),
        (.character(UInt8(ascii: "'")), #"'\''"#),
        (.octal(0o644), "0644"),
        (.octal(0), "0"),
        (.hex(0xff), "0xff"),
        (.signed(-2), "-2"),
        (.floating(1.5), "1.500000"),
        (.enumeration(name: "SEEK_CUR", raw: 1), "SEEK_CUR"),
        (.enumeration(name: nil, raw: 99), "99"),
        (.bitmask(names: ["O_WRONLY", "O_CREAT"], remainder: 0x8000), "O_WRONLY|O_CREAT|0x8000"),
        (.bitmask(names: [], remainder: 0), "0"),
        (.structure([.hex(0x4030201)]), "{ 0x4030201 }"),
        (.array([.signed(3), .signed(4)], truncated: false), "[ 3, 4 ]"),
        (.array([.signed(3)], truncated: true), "[ 3, ... ]"),
    ])
    func rendersLikeLtrace(value: Value, expected: String) {
        #expect(value.ltraceText == expected)
    }

    @Test func guessedIntegersFollowLtraceThreshold() {
        // ltrace: unk(4097, 8191, 8192, 10000) and unk(0x2711, ...), unk(-100, -1000, 0xffffffffffff8000, ...)
        #expect(Value.guessed(10000).ltraceText == "10000")
        #expect(Value.guessed(10001).ltraceText == "0x2711")
        #expect(Value.guessed(UInt64(bitPattern: -10000)).ltraceText == "-10000")
        #expect(Value.guessed(UInt64(bitPattern: -10001)).ltraceText == "0xffffffffffffd8ef")
        #expect(Value.guessed(0).ltraceText == "0")
    }

    @Test func jsonCarriesKindAndValue() {
        #expect(Value.string(bytes: Array("a\"b\n".utf8), truncated: true).jsonText
                == #"{"kind":"string","value":"a\"b\n","truncated":true}"#)
        #expect(Value.null.jsonText == #"{"kind":"null"}"#)
        #expect(Value.bitmask(names: ["O_CREAT"], remainder: 1).jsonText == #"{"kind":"flags","names":["O_CREAT"],"remainder":1}"#)
    }

    /// The package's one JSON escaper (`deps --json`, `trace --json`), pinned character by character: quote
    /// and backslash escaped, \n \r \t by name, every other C0 control as a lower-case \u00xx (\b and \f too),
    /// DEL and all non-ASCII left as UTF-8, invalid UTF-8 as U+FFFD.
    @Test func jsonStringEscapesExactly() {
        let text = "q\"b\\s\u{0}\u{1}\u{8}\u{c}\u{1b}\u{1f}\n\r\t \u{7f}é😀\u{2028}/"
        let expected = #""q\"b\\s\u0000\u0001\u0008\u000c\u001b\u001f\n\r\t "# + "\u{7f}é😀\u{2028}/\""
        #expect(Value.jsonString(text) == expected)
        // Byte for byte: String's == would let a normalised é pass.
        #expect(Array(Value.jsonString(Array(text.utf8)).utf8) == Array(expected.utf8))
        #expect(Value.jsonString(Array("a".utf8) + [0xff, 0xc3] + Array("b".utf8)) == "\"a\u{fffd}\u{fffd}b\"")
        #expect(Value.jsonString("") == #""""#)
        // What it writes reads back as the same text.
        let decoded = try? JSONSerialization.jsonObject(with: Data(("[" + expected + "]").utf8)) as? [String]
        #expect(decoded == [text])
    }
}

@Suite struct DemanglerTests {
    @Test func demanglesItaniumNamesAndLeavesOthers() {
        // c++filt prints the same for these names.
        #expect(Demangler.demangle("_ZdlPv") == "operator delete(void*)")
        #expect(Demangler.demangle("_Znwm") == "operator new(unsigned long)")
        #expect(Demangler.demangle("__cxa_throw") == "__cxa_throw")
        #expect(Demangler.demangle("_Zjunk!") == "_Zjunk!")
        #expect(Demangler.demangle("malloc") == "malloc")
    }
}
