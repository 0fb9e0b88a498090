import Foundation
import Testing
import TestSupport

/// `--json` fields that issue 10 found wrong: a fork child's return of `fork` carries the call's id, and a
/// signal event's `pid` is the process, not the thread. Run with each engine (scripts/test's two passes).
@Suite struct TraceJSONTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    private func program(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    private func objects(_ options: [String], _ command: [String]) throws -> (TestSupport.Output, [[String: Any]]) {
        let dir = try TestSupport.temporaryDirectory("trace-json")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("trace.json").path
        let result = TestSupport.linkscope(["trace", "--json", "-o", file] + options + command)
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let parsed = text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        return (result, parsed)
    }

    @Test func forkChildReturnsWithTheCallsID() throws {
        let (result, events) = try objects(["-f", "-e", "fork"], [program("spawn")])
        #expect(result.status == 0, "\(result.stderr)")
        let calls = events.filter { $0["type"] as? String == "call" && $0["function"] as? String == "fork" }
        #expect(!calls.isEmpty)
        for call in calls {
            let id = call["id"] as? Int
            let returns = events.filter { $0["type"] as? String == "return" && $0["id"] as? Int == id }
            // One call, two returns: the parent's (the child's pid) and the child's (0), each in its process.
            #expect(returns.count == 2, "fork call \(id ?? -1): \(returns)")
            let parent = returns.first { $0["pid"] as? Int == call["pid"] as? Int }
            let child = returns.first { $0["pid"] as? Int != call["pid"] as? Int }
            #expect(child?["return"] as? String == "0", "\(returns)")
            #expect(parent?["return"] as? String == (child?["pid"] as? Int).map(String.init), "\(returns)")
        }
    }

    /// A signal to a thread that is not the main one: `tid` the thread, `pid` the process — whether the
    /// thread made traced calls (`-e pthread_kill`) or none (`-e pthread_create`).
    @Test(arguments: ["pthread_kill", "pthread_create"])
    func signalEventsNameTheirProcess(filter: String) throws {
        let (result, events) = try objects(["-e", filter], [program("threadsignal")])
        #expect(result.status == 0 && result.stdout == "handled 1\n", "\(result.stderr)")
        let exited = events.first { $0["type"] as? String == "exited" }
        let signal = events.first { $0["type"] as? String == "signal" && $0["signal"] as? String == "SIGUSR1" }
        #expect(signal != nil, "\(events)")
        #expect(signal?["pid"] as? Int == exited?["pid"] as? Int, "\(String(describing: signal))")
        #expect(signal?["tid"] as? Int != exited?["pid"] as? Int, "delivered to the worker thread")
    }
}
