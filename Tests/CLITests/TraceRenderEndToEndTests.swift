import Foundation
import Testing
import TestSupport

/// `linkscope trace` on TestBinaries/proto/decode, next to ltrace 0.7.3 on the same program in the same run:
/// every line ltrace decodes right must come out the same (addresses and the pid aside), and the calls
/// ltrace decodes wrong must come out right.
@Suite struct TraceRenderEndToEndTests {
    static func hasLtrace() -> Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/ltrace") }

    /// Trace lines with addresses and the traced process's pid replaced, so two runs compare.
    static func normalized(_ stderr: String) -> [String] {
        let lines = stderr.split(separator: "\n").map(String.init)
        let pid = lines.first { $0.hasPrefix("getpid()") }?.split(separator: " ").last.map(String.init)
        return lines.map { line in
            var text = line.replacingOccurrences(of: "0x[0-9a-f]+", with: "0xADDR", options: .regularExpression)
            if let pid { text = text.replacingOccurrences(of: pid, with: "PID") }
            // Re-align after the replacements: compare content, not padding.
            return text.replacingOccurrences(of: " +=", with: " =", options: .regularExpression)
        }
    }

    func decodeBinary() throws -> String {
        try TestSupport.testBinaries.appendingPathComponent("proto/decode").path
    }

    @Test func sameLinesAsLtraceWhereLtraceIsRight() throws {
        guard Self.hasLtrace() else { Issue.record("ltrace not installed (scripts/install-deps)"); return }
        let program = try decodeBinary()
        let ours = TestSupport.linkscope(["trace", "--", program])
        let theirs = TestSupport.run(["/usr/bin/ltrace", program])
        #expect(ours.status == 0, "linkscope trace: \(ours.stderr)")
        #expect(theirs.status == 0)
        // Where ltrace decodes without a prototype worth the name (atof, strtol), or prints numbers where
        // names exist (open's flags, lseek's whence), linkscope differs on purpose; __cxa_finalize is a
        // .plt.got call ltrace cannot see.
        let differs = ["atof(", "strtol(", "open(", "lseek(", "__cxa_finalize("]
        let keep = { (line: String) in !differs.contains { line.hasPrefix($0) } }
        #expect(Self.normalized(ours.stderr).filter(keep) == Self.normalized(theirs.stderr).filter(keep))
    }

    /// A real program of this machine: coreutils' basename calls through a lazy .plt, which ltrace sees.
    @Test func coreutilsBasenameDecodesAsLtraceDoes() throws {
        guard Self.hasLtrace(), FileManager.default.isExecutableFile(atPath: "/usr/bin/basename") else { return }
        let command = ["/usr/bin/basename", "/a/b/c"]
        let ours = TestSupport.linkscope(["trace", "--"] + command)
        let theirs = TestSupport.run(["/usr/bin/ltrace"] + command)
        #expect(ours.status == 0 && ours.stdout == "c\n", "\(ours.stderr)")
        // Functions both decode with the same prototype; the others print more (or differently) here.
        let same = ["strrchr(", "setlocale(", "bindtextdomain(", "textdomain(", "strlen(", "malloc(", "free(",
                    "fileno(", "fflush(", "fclose(", "getenv(", "getopt_long("]
        let keep = { (line: String) in same.contains { line.hasPrefix($0) } }
        let expected = Self.normalized(theirs.stderr).filter(keep)
        #expect(expected.count >= 8, "ltrace saw too little: \(theirs.stderr)")
        #expect(Self.normalized(ours.stderr).filter(keep) == expected)
    }

    @Test func decodesWhatLtraceGetsWrong() throws {
        let program = try decodeBinary()
        let ours = TestSupport.linkscope(["trace", "-e", "atof+strtol+open+lseek", "--", program])
        #expect(ours.status == 0, "linkscope trace: \(ours.stderr)")
        let lines = Self.normalized(ours.stderr)
        // ltrace 0.7.3: atof(0x557c625cc092, 0x7fff5d227100, 16, 99) = 0 ; strtol(0x..., 0x..., 10, 0xa0000) = 123
        //               open("/tmp/linkscope-decode-20007", 577, 0644) = 3 ; lseek(3, 0, 0) = 0
        #expect(lines.contains(#"decode->atof("3.25") = 3.250000"#), "\(lines)")
        #expect(lines.contains(#"decode->strtol("123abc", "abc", 10) = 123"#), "\(lines)")
        #expect(lines.contains { $0.range(of: #"^decode->open\("/tmp/linkscope-decode-[0-9]+", O_WRONLY\|O_CREAT\|O_TRUNC, 0644\) = 3$"#,
                                          options: .regularExpression) != nil }, "\(lines)")
        #expect(lines.contains("decode->lseek(3, 0, SEEK_SET) = 0"), "\(lines)")
        #expect(lines.last == "+++ exited (status 0) +++")
    }

    @Test func stringLimitAndJSON() throws {
        let program = try decodeBinary()
        let short = TestSupport.linkscope(["trace", "-s", "4", "-e", "puts", "--", program])
        #expect(Self.normalized(short.stderr).first == #"decode->puts("a ve"...) = 63"#)
        let json = TestSupport.linkscope(["trace", "--json", "-e", "getenv", "--", program])
        let objects = json.stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.map { $0["type"] as? String } == ["call", "return", "exited"], "\(json.stderr)")
        #expect(objects.first?["args"] as? [String] == [#""LINKSCOPE_DECODE_UNSET""#])
        #expect(objects.dropFirst().first?["return"] as? String == "nil")
    }

    @Test func summaryCountsEveryCall() throws {
        let program = try decodeBinary()
        let result = TestSupport.linkscope(["trace", "-c", "--", program])
        let rows = result.stderr.split(separator: "\n").map(String.init)
        #expect(rows.first == "% time     seconds  usecs/call     calls      function", "\(result.stderr)")
        let strcmp = rows.first { $0.hasSuffix(" strcmp") }
        #expect(strcmp?.split(separator: " ").dropLast().last == "3", "strcmp is called 3 times: \(rows)")
        #expect(rows.last?.hasSuffix(" total") == true)
    }
}
