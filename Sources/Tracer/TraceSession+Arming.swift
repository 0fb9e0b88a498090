import TraceModel
import Glibc
import ELF
import Prototypes

// Objects and their slots: at the entry point (or at once for a process attached to) the session finds
// r_debug, watches r_brk and arms every object of the link map; at each consistent r_brk stop it compares the
// map with what is armed. Which slots get a breakpoint is the ArmingPlan's decision; where the return site
// goes and which bytes are replaced is the session's.
extension TraceSession {
    /// Find r_debug through the program's DT_DEBUG, watch its r_brk, arm every object.
    func armImages(of space: AddressSpace, thread tid: pid_t) {
        space.armed = true
        let memory = TraceeMemory(pid: tid)
        guard let facts = try? imageFacts.facts(path: space.mainPath, wantSlots: false) else { return }
        let base = space.entryPoint &- facts.entry
        if let dynamic = facts.dynamicSegment,
           let rDebug = LinkMap.rDebug(dynamicSection: base &+ dynamic.address, size: dynamic.size, memory: memory) {
            space.rDebug = rDebug
        }
        if space.rDebug != 0, let hook = LinkMap.breakpointAddress(rDebug: space.rDebug, memory: memory),
           space.breakpoints[hook] == nil {
            if let original = try? memory.replaceByte(at: hook, with: Registers.breakpointInstruction) {
                space.breakpoints[hook] = AddressSpace.Breakpoint(original: original, role: .loaderHook)
            }
        }
        if space.rDebug == 0 {
            // No link map to read (an odd loader): trace the program alone.
            let object = TracedObject(isMainProgram: true, path: space.mainPath, soname: facts.soname,
                                      otherPaths: space.launchPath.map { [$0] } ?? [])
            arm(LoadedImage(object: object, base: base, linkMapNode: 0), in: space, memory: memory)
        } else {
            syncLinkMap(space, thread: tid)
        }
        if selectedSlots == 0 {
            diagnose("no PLT slot of the loaded objects is selected by the filters: nothing to trace yet")
        }
    }

    /// Compares the loader's link map with what is armed: new objects get breakpoints, removed ones are
    /// forgotten (their memory is gone, so there is nothing to restore).
    func syncLinkMap(_ space: AddressSpace, thread tid: pid_t) {
        let memory = TraceeMemory(pid: tid)
        guard let map = LinkMap(rDebug: space.rDebug, memory: memory) else { return }
        let live = map.identities
        space.images.removeAll { image in
            if live.contains(image.identity) { return false }
            for address in image.breakpoints { space.breakpoints[address] = nil }
            return true
        }
        var fresh: [LoadedImage] = []
        for (position, entry) in map.entries(notIn: space.images.map(\.identity)) {
            guard let path = LinkMap.path(of: entry, position: position, programPath: space.mainPath,
                                          workingDirectory: "/proc/\(tid)/cwd"),
                  let facts = try? imageFacts.facts(path: path, wantSlots: false) else { continue }
            let object = TracedObject(isMainProgram: position == 0, path: path, soname: facts.soname,
                                      otherPaths: position == 0 ? space.launchPath.map { [$0] } ?? [] : [])
            fresh.append(LoadedImage(object: object, base: entry.base, linkMapNode: entry.node))
        }
        // Every object is known before any is armed, so `-l` can find which library defines a symbol the
        // program (armed first) calls.
        space.loadOrder = space.images.map(\.object) + fresh.map(\.object)
        for image in fresh { arm(image, in: space, memory: memory) }
    }

    private func arm(_ image: LoadedImage, in space: AddressSpace, memory: TraceeMemory) {
        var image = image
        guard let facts = try? imageFacts.facts(path: image.object.path, wantSlots: true) else {
            space.images.append(image)
            return
        }
        let plan = ArmingPlan(object: image.object, slots: facts.slots, filter: configuration.filter,
                              loadOrder: space.loadOrder, definedFunctions: { imageFacts[$0.path]?.definedFunctions })
        candidates += plan.candidates
        if plan.reportsCalls {
            image.returnSite = returnSite(for: image, facts: facts, in: space, memory: memory)
            if let site = image.returnSite, let padding = facts.returnSitePadding, site == image.base &+ padding {
                image.breakpoints.append(site)  // forgotten with the object at dlclose
            }
        }
        for chosen in plan.slots {
            let address = image.base &+ chosen.slot.address
            guard space.breakpoints[address] == nil else { continue }
            let site = image.returnSite ?? 0
            if chosen.reported && site == 0 { continue }
            guard let original = try? memory.replaceByte(at: address, with: Registers.breakpointInstruction) else { continue }
            let vectorUse = Registers.vectorUse(of: configuration.decoder.library.prototype(named: chosen.slot.symbol))
            space.breakpoints[address] = AddressSpace.Breakpoint(original: original, role: .slot(SlotBreakpoint(
                symbol: chosen.slot.symbol, gotAddress: image.base &+ chosen.slot.gotAddress, caller: image.callerName,
                reported: chosen.reported, startsUnwind: chosen.startsUnwind, noReturn: chosen.noReturn,
                returnSite: site, vectorsAtEntry: vectorUse.entry, vectorsAtReturn: vectorUse.result)))
            image.breakpoints.append(address)
            counters.breakpoints += 1
            if chosen.reported { selectedSlots += 1 }
        }
        space.images.append(image)
    }

    /// The return breakpoint of an object: the padding after its code, inside its own executable mapping, so
    /// functions that look at their return address (dlsym(RTLD_NEXT), dlopen) still see the right caller.
    /// Objects whose code ends on a page boundary share the main program's site (documented limitation).
    private func returnSite(for image: LoadedImage, facts: ImageFacts, in space: AddressSpace,
                            memory: TraceeMemory) -> UInt64? {
        if let existing = image.returnSite { return existing }
        if let padding = facts.returnSitePadding {
            let address = image.base &+ padding
            if space.isReturnSite(address) { return address }
            if let original = try? memory.replaceByte(at: address, with: Registers.breakpointInstruction) {
                space.breakpoints[address] = AddressSpace.Breakpoint(original: original, role: .returnSite)
                counters.breakpoints += 1
                return address
            }
        }
        if !image.object.isMainProgram, let main = space.images.first(where: { $0.object.isMainProgram }) {
            return main.returnSite ?? {
                guard let mainFacts = imageFacts[main.object.path] else { return nil }
                return returnSite(for: main, facts: mainFacts, in: space, memory: memory)
            }()
        }
        diagnose("\(image.object.path) has no room for a return breakpoint: its calls are not traced")
        return nil
    }
}
