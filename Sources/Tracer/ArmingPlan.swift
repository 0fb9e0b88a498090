import TraceModel
import ELF

/// Which PLT slots of one loaded object are armed — a breakpoint for the ptrace engine, a hook for the
/// in-process one — and what each does when hit. A pure function of the object's slots, the filter, and
/// which library of the load order defines each symbol (shared/DESIGN.md decision 5: filters decide where
/// breakpoints go), so both engines make the same selection.
public struct ArmingPlan: Sendable {
    /// One slot to arm.
    public struct Slot: Hashable, Sendable {
        public var slot: PLTSlot
        /// A filter selects the call: it is reported. An unreported slot is armed only to start an unwind.
        public var reported: Bool
        /// An unwinder starts here (`UnwindStarters`): every hijacked return address of the thread goes back
        /// before it walks them.
        public var startsUnwind: Bool
        /// The function never returns, or returns twice (`NoReturnFunctions`): its return address is never
        /// replaced, and the call is shown at entry only.
        public var noReturn: Bool
    }

    public let object: TracedObject
    /// In the order of the object's slots.
    public let slots: [Slot]
    /// Every slot the filter was asked about (none when no rule can select a call of this object), for the
    /// "rule matched no PLT slot" warnings (`CallFilter.unmatchedRules`).
    public let candidates: [FilterCandidate]

    /// Whether any call through this object is reported: only then does it need a return site.
    public var reportsCalls: Bool { slots.contains { $0.reported } }

    /// - Parameters:
    ///   - loadOrder: the objects of the link map in order (the main program first), for `-l`.
    ///   - definedFunctions: the functions an object defines; asked only when the filter has `-l` rules.
    public init(object: TracedObject, slots: [PLTSlot], filter: CallFilter, loadOrder: [TracedObject],
                definedFunctions: (TracedObject) -> Set<String>?) {
        self.object = object
        let traced = filter.mayTraceCalls(from: object)
        var chosen: [Slot] = []
        var candidates: [FilterCandidate] = []
        for slot in slots {
            var reported = false
            if traced {
                let definer = filter.needsDefiningLibrary
                    ? Self.definingLibrary(of: slot.symbol, loadOrder: loadOrder, definedFunctions: definedFunctions)
                    : nil
                candidates.append(FilterCandidate(symbol: slot.symbol, caller: object, definingLibrary: definer))
                reported = filter.selects(symbol: slot.symbol, caller: object, definingLibrary: definer)
            }
            let startsUnwind = UnwindStarters.names.contains(slot.symbol)
            if reported || startsUnwind {
                chosen.append(Slot(slot: slot, reported: reported, startsUnwind: startsUnwind,
                                   noReturn: NoReturnFunctions.contains(slot.symbol)))
            }
        }
        self.slots = chosen
        self.candidates = candidates
    }

    /// The first library in load order that defines `symbol` (glibc's global scope; dlopen'ed objects' local
    /// scopes are not modelled). The main program is skipped: `-l` names libraries.
    public static func definingLibrary(of symbol: String, loadOrder: [TracedObject],
                                       definedFunctions: (TracedObject) -> Set<String>?) -> TracedObject? {
        for object in loadOrder where !object.isMainProgram {
            if definedFunctions(object)?.contains(symbol) == true { return object }
        }
        return nil
    }
}
