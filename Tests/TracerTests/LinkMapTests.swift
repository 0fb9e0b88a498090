import Testing
@testable import Tracer

/// The r_debug walk and the diff against what is armed, on a fake memory laid out as glibc lays it out.
@Suite struct LinkMapTests {
    let rDebug: UInt64 = 0x7f00_0001_0000

    /// Nodes at 0x7f00_0002_0000 + 0x100 * i with `(base, name)` each, chained in order; names after them.
    func memory(_ objects: [(UInt64, String)], next: ((Int) -> UInt64)? = nil) -> FakeTraceeMemory {
        let memory = FakeTraceeMemory()
        let nodes = objects.indices.map { 0x7f00_0002_0000 + UInt64($0) * 0x100 }
        memory.map(rDebug, words: [1, nodes.first ?? 0, 0x7f00_0000_1234, 0])  // r_version, r_map, r_brk, r_state
        for (index, (base, name)) in objects.enumerated() {
            let nameAddress = 0x7f00_0003_0000 + UInt64(index) * 0x100
            memory.map(nameAddress, string: name)
            let following = next?(index) ?? (index + 1 < nodes.count ? nodes[index + 1] : 0)
            memory.map(nodes[index], words: [base, nameAddress, 0, following, index > 0 ? nodes[index - 1] : 0])
        }
        return memory
    }

    @Test func theWalkReadsEveryNodeInOrder() throws {
        let fake = memory([(0x5555_0000_0000, ""), (0, ""), (0x7f00_1000_0000, "/lib/x86_64-linux-gnu/libc.so.6")])
        let map = try #require(LinkMap(rDebug: rDebug, memory: fake))
        #expect(map.entries.map(\.base) == [0x5555_0000_0000, 0, 0x7f00_1000_0000])
        #expect(map.entries.map(\.name) == ["", "", "/lib/x86_64-linux-gnu/libc.so.6"])
        #expect(LinkMap.breakpointAddress(rDebug: rDebug, memory: fake) == 0x7f00_0000_1234)
        #expect(LinkMap.isConsistent(rDebug: rDebug, memory: fake))
        fake.map(rDebug + 24, words: [1])  // RT_ADD
        #expect(!LinkMap.isConsistent(rDebug: rDebug, memory: fake))
    }

    @Test func aLoopOrAnUnreadableNodeEndsTheWalk() throws {
        let looping = memory([(1, "/a"), (2, "/b")], next: { $0 == 0 ? 0x7f00_0002_0100 : 0x7f00_0002_0000 })
        #expect(try #require(LinkMap(rDebug: rDebug, memory: looping)).entries.map(\.name) == ["/a", "/b"])
        let broken = memory([(1, "/a")], next: { _ in 0xdead_0000 })
        #expect(try #require(LinkMap(rDebug: rDebug, memory: broken)).entries.map(\.name) == ["/a"])
        #expect(LinkMap(rDebug: 0x1000, memory: broken) == nil, "no r_map to read")
    }

    @Test func rDebugComesFromTheLastDTDebugBeforeDTNull() {
        let fake = FakeTraceeMemory()
        // DT_NEEDED, DT_DEBUG (filled by the loader), DT_NULL, then a DT_DEBUG past the end that must not count.
        fake.map(0x403e00, words: [1, 0x10, 21, rDebug, 0, 0, 21, 0xbad])
        #expect(LinkMap.rDebug(dynamicSection: 0x403e00, size: 8 * 16, memory: fake) == rDebug)
        #expect(LinkMap.rDebug(dynamicSection: 0x403e00, size: 16, memory: fake) == nil, "bounded by the size")
        fake.map(0x403e10, words: [21, 0])  // DT_DEBUG not filled in (yet)
        #expect(LinkMap.rDebug(dynamicSection: 0x403e00, size: 8 * 16, memory: fake) == nil)
    }

    @Test func theDiffFindsNewObjectsAndKeepsReopenedOnesApart() throws {
        let map = LinkMap(entries: [
            .init(node: 0x100, base: 0x5555_0000_0000, name: ""),
            .init(node: 0x200, base: 0x7f00_1000_0000, name: "/lib/libc.so.6"),
            .init(node: 0x300, base: 0x7f00_3000_0000, name: "./plugin.so"),  // libplugin reopened elsewhere
        ])
        let armed = [LinkMap.Identity(node: 0x100, base: 0x5555_0000_0000),
                     LinkMap.Identity(node: 0x300, base: 0x7f00_2000_0000),
                     LinkMap.Identity(node: 0x400, base: 0x7f00_4000_0000)]
        #expect(map.entries(notIn: armed).map(\.position) == [1, 2])
        #expect(!map.identities.contains(armed[1]) && !map.identities.contains(armed[2]))
        #expect(map.identities.contains(armed[0]))
    }

    @Test func pathsOfEntries() {
        let main = LinkMap.Entry(node: 1, base: 0, name: "")
        #expect(LinkMap.path(of: main, position: 0, programPath: "/bin/true", workingDirectory: "/proc/9/cwd") == "/bin/true")
        #expect(LinkMap.path(of: main, position: 1, programPath: "/bin/true", workingDirectory: "/proc/9/cwd") == nil,
                "the vDSO has no file")
        let relative = LinkMap.Entry(node: 2, base: 0, name: "./x.so")
        #expect(LinkMap.path(of: relative, position: 3, programPath: "/bin/true", workingDirectory: "/proc/9/cwd")
                == "/proc/9/cwd/./x.so")
    }
}
