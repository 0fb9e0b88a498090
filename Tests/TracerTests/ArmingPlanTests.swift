@testable import ELF
import Testing
import TraceModel
import Tracer

/// Which slots of an object get armed, from the filter and the load order alone.
@Suite struct ArmingPlanTests {
    let main = TracedObject(isMainProgram: true, path: "/bin/prog", soname: nil)
    let libA = TracedObject(isMainProgram: false, path: "/lib/libA.so.1", soname: "libA.so.1")
    let libB = TracedObject(isMainProgram: false, path: "/lib/libB.so.2", soname: "libB.so.2")

    func slots(_ names: [String]) -> [PLTSlot] {
        names.enumerated().map { index, name in
            PLTSlot(address: 0x1030 + UInt64(index) * 16, gotAddress: 0x4018 + UInt64(index) * 8, symbol: name,
                    section: .plt, relocation: .x86_64_jumpSlot)
        }
    }

    func plan(_ object: TracedObject, _ names: [String], _ filter: CallFilter,
              definitions: [String: Set<String>] = [:]) -> ArmingPlan {
        ArmingPlan(object: object, slots: slots(names), filter: filter, loadOrder: [main, libA, libB],
                   definedFunctions: { definitions[$0.path] })
    }

    @Test func theDefaultFilterReportsEveryCallOfTheProgramAndNoneOfItsLibraries() throws {
        let filter = try CallFilter(expressions: [])
        let program = plan(main, ["strlen", "exit", "_Unwind_Resume", "malloc"], filter)
        #expect(program.slots.map(\.slot.symbol) == ["strlen", "exit", "_Unwind_Resume", "malloc"])
        #expect(program.slots.allSatisfy(\.reported) && program.reportsCalls)
        #expect(program.slots.map(\.noReturn) == [false, true, true, false])
        #expect(program.slots.map(\.startsUnwind) == [false, false, true, false])
        #expect(program.candidates.count == 4)

        // A library no rule can select: only its unwind starters, unreported, and nothing asked of the filter.
        let library = plan(libA, ["strlen", "_Unwind_RaiseException"], filter)
        #expect(library.slots.map(\.slot.symbol) == ["_Unwind_RaiseException"])
        #expect(library.slots.map(\.reported) == [false] && !library.reportsCalls)
        #expect(library.candidates.isEmpty)
    }

    @Test func aSymbolRuleArmsOnlyWhatItSelectsButSeesEverySlot() throws {
        let filter = try CallFilter(expressions: ["strlen+free"])
        let program = plan(main, ["malloc", "strlen", "free", "puts"], filter)
        #expect(program.slots.map(\.slot.symbol) == ["strlen", "free"], "in the object's slot order")
        #expect(program.candidates.map(\.symbol) == ["malloc", "strlen", "free", "puts"])
        #expect(filter.unmatchedRules(afterSeeing: program.candidates).isEmpty)
        let nothing = plan(main, ["malloc"], filter)
        #expect(nothing.slots.isEmpty && !nothing.reportsCalls)
    }

    @Test func aLibraryRuleAsksWhichLibraryDefinesEachSymbolFirst() throws {
        let filter = try CallFilter(expressions: [], libraries: ["libB.so*"])
        // Both define `shared`: libA comes first in load order, so libA's is the one called.
        let definitions = ["/lib/libA.so.1": Set(["shared"]), "/lib/libB.so.2": Set(["shared", "only_b"])]
        let program = plan(main, ["shared", "only_b", "elsewhere"], filter, definitions: definitions)
        #expect(program.slots.map(\.slot.symbol) == ["only_b"])
        #expect(program.candidates.map(\.definingLibrary) == [libA, libB, nil])
    }

    @Test func theProgramItselfIsNeverTheDefiningLibrary() {
        let definitions = ["/bin/prog": Set(["f"]), "/lib/libB.so.2": Set(["f"])]
        #expect(ArmingPlan.definingLibrary(of: "f", loadOrder: [main, libA, libB],
                                           definedFunctions: { definitions[$0.path] }) == libB)
        #expect(ArmingPlan.definingLibrary(of: "g", loadOrder: [main, libA, libB],
                                           definedFunctions: { definitions[$0.path] }) == nil)
    }

    @Test func definitionsAreNotReadWithoutALibraryRule() throws {
        var asked = 0
        _ = ArmingPlan(object: main, slots: slots(["f", "g"]), filter: try CallFilter(expressions: ["f"]),
                       loadOrder: [main, libA], definedFunctions: { _ in asked += 1; return nil })
        #expect(asked == 0)
    }
}
