import Foundation
import Testing
@testable import Prototypes

@Suite struct LtraceConfTests {
    @Test func parsesTheSystemLtraceConfWithoutErrors() throws {
        let path = "/etc/ltrace.conf"
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("\(path) missing: install ltrace (scripts/install-deps)")
            return
        }
        var library = PrototypeLibrary()
        let diagnostics = library.load(contentsOf: path)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description).joined(separator: "\n"))")
        #expect(library.prototypes.count > 400, "only \(library.prototypes.count) prototypes")
        let read = try #require(library.prototype(named: "read"))
        #expect(read.parameters == [Parameter(.int), Parameter(.string(.returnValue), isOutput: true), Parameter(.ulong)])
        let write = try #require(library.prototype(named: "write"))
        #expect(write.parameters[1] == Parameter(.string(.argument(3))))
        let memcpy = try #require(library.prototype(named: "memcpy"))
        #expect(memcpy.parameters[1] == Parameter(.string(.argument(3))))
        let inetAton = try #require(library.prototype(named: "inet_aton"))
        #expect(inetAton.parameters[1] == Parameter(.pointer(.structure([.hex(bytes: 4)])), isOutput: true))
        #expect(library.prototype(named: "getmntent")?.returnType == .pointer(.structure([.string(nil), .string(nil), .string(nil), .string(nil), .int, .int])))
    }

    @Test func systemConfDecodesInetAtonAsLtraceDoes() throws {
        var library = PrototypeLibrary()
        library.load(contentsOf: "/etc/ltrace.conf")
        let decoder = CallDecoder(library: library)
        let memory = FakeMemory()
        memory.map(0x1000, string: "1.2.3.4")
        memory.map(0x2000, [1, 2, 3, 4])
        let entry = decoder.decodeEntry(function: "inet_aton", registers: .call([0x1000, 0x2000]), memory: memory)
        let result = decoder.decodeReturn(entry, registers: .call([], rax: 1), memory: memory)
        // ltrace: inet_aton("1.2.3.4", { 0x4030201 }) = 1
        #expect(entry.arguments.text + ", " + result.outArguments.text + " = " + result.value.ltraceText
                == #""1.2.3.4", { 0x4030201 } = 1"#)
    }

    @Test func badLinesAreReportedWithFileAndLineAndSkipped() {
        let text = """
        ; a comment
        int good(int);
        frob bad(int);
        int alsogood(string, +int*);   ; trailing comment
        int broken(int;
        typedef pair = struct(int, int);
        pair usepair(pair*);
        """
        let result = LtraceConfParser.parse(text, file: "my.conf")
        #expect(result.prototypes.map(\.name) == ["good", "alsogood", "usepair"])
        #expect(result.diagnostics.map(\.description) == [
            "my.conf:3: unknown type 'frob'",
            "my.conf:5: expected ')', found end of statement",
        ])
        #expect(result.prototypes[2].parameters == [Parameter(.pointer(.structure([.int, .int])))])
    }

    @Test func everyTruncationOfTheSystemConfIsReportedNotACrash() throws {
        guard let data = FileManager.default.contents(atPath: "/etc/ltrace.conf") else { return }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix(";") }
        var diagnostics = 0
        for line in lines.prefix(200) {
            for cut in stride(from: 1, to: line.count, by: 3) {
                let text = String(line.prefix(cut)) + "\n" + String(line.dropFirst(cut)) + ")(;\n"
                diagnostics += LtraceConfParser.parse(text, file: "cut.conf").diagnostics.count
            }
        }
        #expect(diagnostics > 0)
    }

    @Test func builtinSetCoversWhatPeopleTrace() {
        for name in ["malloc", "calloc", "realloc", "free", "aligned_alloc", "posix_memalign", "memalign", "strlen",
                     "strnlen", "strcmp", "strncmp", "strcasecmp", "strcpy", "strncpy", "strcat", "strchr", "strrchr",
                     "strstr", "strdup", "strndup", "strtok", "strtol", "strtoul", "strtod", "atoi", "atol", "atof",
                     "memcpy", "memmove", "memset", "memcmp", "memchr", "printf", "fprintf", "sprintf", "snprintf",
                     "puts", "fputs", "putchar", "fputc", "fopen", "fclose", "fread", "fwrite", "fgets", "fflush",
                     "fileno", "setvbuf", "open", "openat", "close", "read", "write", "lseek", "stat", "fstat", "access",
                     "unlink", "mkdir", "opendir", "readdir", "closedir", "getenv", "setenv", "unsetenv", "putenv",
                     "exit", "_exit", "abort", "atexit", "fork", "getpid", "system", "execve", "sleep", "usleep",
                     "time", "clock_gettime", "gettimeofday", "localtime", "strftime", "setlocale", "bindtextdomain",
                     "textdomain", "isatty", "signal", "sigaction", "raise", "kill", "dlopen", "dlsym", "dlclose",
                     "dlerror", "pthread_create", "pthread_join", "pthread_mutex_lock", "pthread_mutex_unlock"] {
            #expect(PrototypeLibrary.builtin.prototype(named: name) != nil, "no built-in prototype for \(name)")
        }
        #expect(PrototypeLibrary.builtin.prototype(named: "malloc@GLIBC_2.2.5") != nil)
    }

    /// `hex(array(int, 9223372036854775807))` trapped (SIGILL) multiplying 4 by the length; sizes now
    /// saturate at ValueType.maximumSize, and decoding a call with such types reads a bounded amount.
    @Test func hugeArraySizesSaturateInsteadOfTrapping() throws {
        let text = """
        int f(hex(array(int, 9223372036854775807)));
        int g(struct(array(long, 4611686018427387904), array(char, 9223372036854775807), int)*);
        int h(array(array(array(int, 9223372036854775807), 9223372036854775807), 9223372036854775807)*);
        int b(bitvec(array(int, 2305843009213693952)), enum[array(short, 9223372036854775807)](A, B));
        """
        let result = LtraceConfParser.parse(text, file: "huge.conf")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(result.prototypes.map(\.name) == ["f", "g", "h", "b"])
        #expect(result.prototypes[0].parameters == [Parameter(.hex(bytes: ValueType.maximumSize))])
        for prototype in result.prototypes {
            for parameter in prototype.parameters {
                let type: ValueType
                if case .pointer(let inner) = parameter.type { type = inner } else { type = parameter.type }
                #expect(type.size == ValueType.maximumSize, "\(prototype.name)")
            }
        }
        var library = PrototypeLibrary()
        library.load(text, file: "huge.conf")
        let decoder = CallDecoder(library: library)
        let memory = FakeMemory()
        memory.map(0x1000, [UInt8](repeating: 7, count: 64))
        for name in ["f", "g", "h", "b"] {
            let entry = decoder.decodeEntry(function: name, registers: .call([0x1000, 0x1000]), memory: memory)
            #expect(!entry.arguments.text.isEmpty, "\(name)")
        }
        // A width given by code saturates too.
        #expect(ValueType.hex(bytes: .max).size == ValueType.maximumSize)
        #expect(ValueType.structure([.hex(bytes: .max), .hex(bytes: .max), .char]).size == ValueType.maximumSize)
        #expect(ValueType.hex(bytes: -5).size == 0)
        // -F /dev/zero: refused at the size limit, not read until memory runs out.
        var zero = PrototypeLibrary()
        #expect(zero.load(contentsOf: "/dev/zero").map(\.description) == ["/dev/zero:0: larger than 16 MiB: not a prototype file"])
    }

    /// Types that would take the parser (or any later walk of them) out of stack or time are refused with
    /// a line number: nesting past 64, and typedefs that double a type per line.
    @Test func deepAndExplodingTypesAreRefused() throws {
        let deep = "int f(" + String(repeating: "struct(", count: 100_000) + "int" + String(repeating: ")", count: 100_000) + ");"
        let nested = LtraceConfParser.parse(deep, file: "deep.conf")
        #expect(nested.prototypes.isEmpty)
        #expect(nested.diagnostics.map(\.description) == ["deep.conf:1: types nested more than 64 deep"])
        var doubling = "typedef t0 = int;\n"
        for level in 1...60 { doubling += "typedef t\(level) = struct(t\(level - 1), t\(level - 1));\n" }
        doubling += "int g(t60*);\nint ok(int);\n"
        let start = Date()
        let exploded = LtraceConfParser.parse(doubling, file: "double.conf")
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(exploded.prototypes.map(\.name) == ["ok"])
        #expect(exploded.diagnostics.first?.description == "double.conf:14: more than 10000 types in one declaration")
    }
}
