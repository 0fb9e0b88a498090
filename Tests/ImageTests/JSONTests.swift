import Foundation
import JSON
import Testing

/// The JSON reader and writer the executable uses instead of Foundation's, checked against Foundation's own
/// JSONSerialization and JSONEncoder (which the tests may use).
@Suite struct JSONTests {
    struct Report: Codable {
        struct Item: Codable { var name: String; var count: Int; var ratio: Double; var tags: [String]; var note: String? }
        var root: String
        var empty: [Item] = []
        var emptyObject: [String: Int] = [:]
        var items: [Item]
        var byKind: [String: Int]
        var flag = true
        var missing: String? = nil
        var big: UInt64 = .max
        var negative: Int64 = .min
    }

    @Test func treeEncoderWritesWhatJSONEncoderWrites() throws {
        let report = Report(root: "/srv/\u{1b}[31m\"x\"\\/tab\there\nnewline é 中", items: [
            .init(name: "libc.so.6", count: 3, ratio: 1.5, tags: ["a", ""], note: nil),
            .init(name: "b", count: -7, ratio: 2, tags: [], note: "\u{7f}\u{1}"),
        ], byKind: ["notFound": 2, "version": 0])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let foundation = String(decoding: try encoder.encode(report), as: UTF8.self)
        #expect(try JSONTreeEncoder().text(report) == foundation)
    }

    @Test func parsesWhatJSONSerializationParses() throws {
        let documents = [
            #"{"manifests":[{"digest":"sha256:ab","annotations":{"org.opencontainers.image.ref.name":"x"},"size":12}]}"#,
            #"[{"RepoTags":["a:b"],"Layers":["l/1.tar"],"Config":"c.json"}, null, true, false, -1.25e2, 0]"#,
            #" "\ud83d\ude00 \u00e9 \"q\" \\ \/ \b\f\n\r\t" "#,
        ]
        for text in documents {
            let ours = try #require(JSON.parse(Array(text.utf8)))
            let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            // Both written by Foundation, sorted: the same text means the same tree.
            func normal(_ value: Any) throws -> String {
                String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
            }
            #expect(try normal(Self.foundationValue(ours)) == normal(theirs), "\(text)")
        }
    }

    /// Malformed or hostile documents are nil, never a crash: nesting deeper than `maximumDepth` is refused.
    @Test func refusesMalformedAndTooDeepDocuments() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "\"\u{1}\"", "tru", "[1] [2]", "{\"a\":1,}", "01x",
                     String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)] {
            #expect(JSON.parse(Array(text.utf8)) == nil, "\(text.prefix(20))")
        }
        let deepest = String(repeating: "[", count: JSON.maximumDepth) + String(repeating: "]", count: JSON.maximumDepth)
        #expect(JSON.parse(Array(deepest.utf8)) != nil)
    }

    /// JSON.null as Foundation's NSNull, the rest as it is.
    static func foundationValue(_ value: Any) -> Any {
        switch value {
        case is JSON.Null: return NSNull()
        case let object as [String: Any]: return object.mapValues(foundationValue)
        case let array as [Any]: return array.map(foundationValue)
        default: return value
        }
    }
}
