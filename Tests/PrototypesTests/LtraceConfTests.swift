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
}
