@testable import ELF
import Foundation
import Testing
import TestSupport

/// The map PLT slot → symbol, checked against binutils: `objdump -d` labels every slot it can name
/// (`<puts@plt>`) from its own reading of the relocations, independently of our decoding of each slot's
/// `jmp *disp(%rip)`. Fixtures cover lazy, `-z now`, IBT (`.plt.sec`), non-PIE, `.plt.got` and IRELATIVE;
/// real programs of this machine cover what compilers really emit.
@Suite struct PLTTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    /// objdump's named slots: address → name, without PLT0 (`<free@plt-0x10>`, `<.plt>`). IRELATIVE slots
    /// are labelled `<*ABS*+0x40113a@plt>` and come back as `*ABS*+0x40113a`.
    static func objdumpSlots(_ path: String) -> [UInt64: String] {
        let result = TestSupport.run(["/usr/bin/objdump", "-d", "-j", ".plt", "-j", ".plt.sec", "-j", ".plt.got", path])
        var slots: [UInt64: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            // 0000000000001030 <free@plt>:
            guard line.hasSuffix("@plt>:"), let space = line.firstIndex(of: " "),
                  let address = UInt64(line[..<space], radix: 16) else { continue }
            let label = line[line.index(space, offsetBy: 2)...].dropLast("@plt>:".count)
            slots[address] = String(label)
        }
        return slots
    }

    static func ours(_ path: String) throws -> [UInt64: String] {
        var map: [UInt64: String] = [:]
        for slot in try ELFFile(path: path).pltSlots() {
            #expect(map[slot.address] == nil, "two slots at 0x\(String(slot.address, radix: 16)) in \(path)")
            map[slot.address] = slot.symbol
        }
        return map
    }

    @Test(arguments: ["calls-lazy", "calls-now", "calls-ibt", "calls-ibt-now", "calls-nopie", "pltgot", "nested",
                      "threads", "signals"])
    func fixtureSlotsMatchObjdump(_ name: String) throws {
        let path = fixtures.appendingPathComponent(name).path
        let expected = Self.objdumpSlots(path)
        #expect(!expected.isEmpty, "objdump named no slot of \(name)")
        #expect(try Self.ours(path) == expected)
    }

    /// What compilers really emit: coreutils are built with IBT and BIND_NOW, so their calls go through
    /// `.plt.sec`, and malloc/free (address taken) through `.plt.got`.
    @Test(arguments: ["/bin/ls", "/usr/bin/sort", "/bin/cp", "/usr/bin/find", "/lib/x86_64-linux-gnu/libelf.so.1"])
    func systemObjectSlotsMatchObjdump(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let expected = Self.objdumpSlots(path)
        #expect(expected.count > 10)
        #expect(try Self.ours(path) == expected)
    }

    @Test func lazySlotsAreJumpSlotsInPLT() throws {
        let slots = try ELFFile(path: fixtures.appendingPathComponent("calls-lazy").path).pltSlots()
        let calls = slots.filter { $0.symbol != "__cxa_finalize" }
        #expect(Set(calls.map(\.symbol)) == ["malloc", "strcpy", "strlen", "printf", "free", "puts"])
        for slot in calls {
            #expect(slot.section == .plt)
            #expect(slot.relocation == .x86_64_jumpSlot)
        }
        // Each slot reads its own GOT word.
        #expect(Set(slots.map(\.gotAddress)).count == slots.count)
    }

    @Test func ibtSlotsLiveInPLTSec() throws {
        for name in ["calls-ibt", "calls-ibt-now"] {
            let slots = try ELFFile(path: fixtures.appendingPathComponent(name).path).pltSlots()
            let bySymbol = Dictionary(slots.map { ($0.symbol, $0) }, uniquingKeysWith: { a, _ in a })
            for symbol in ["malloc", "strcpy", "strlen", "printf", "free", "puts"] {
                #expect(bySymbol[symbol]?.section == .pltSec, "\(name): \(symbol)")
                #expect(bySymbol[symbol]?.relocation == .x86_64_jumpSlot, "\(name): \(symbol)")
            }
            // The lazy stubs left in .plt are not slots of their own.
            #expect(!slots.contains { $0.section == .plt }, "\(name)")
        }
    }

    @Test func addressTakenFunctionsGoThroughPLTGot() throws {
        let slots = try ELFFile(path: fixtures.appendingPathComponent("pltgot").path).pltSlots()
        for symbol in ["malloc", "free"] {
            let slot = try #require(slots.first { $0.symbol == symbol })
            #expect(slot.section == .pltGot)
            #expect(slot.relocation == .x86_64_globalData)
        }
        let printf = try #require(slots.first { $0.symbol == "printf" })
        #expect(printf.section == .plt)
    }

    @Test func irelativeSlotIsNamedFromItsAddend() throws {
        let path = fixtures.appendingPathComponent("ifunc").path
        let slots = try ELFFile(path: path).pltSlots()
        let ifunc = try #require(slots.first { $0.relocation == .x86_64_irelative })
        // `twice` is the IFUNC symbol at the resolver's address; the local `resolve_twice` shares it and
        // the global name wins.
        #expect(ifunc.symbol == "twice")
        #expect(ifunc.section == .plt)
        let objdump = Self.objdumpSlots(path)
        #expect(objdump[ifunc.address]?.hasPrefix("*ABS*+0x") == true)
        #expect(Set(slots.map(\.symbol)) == ["twice", "printf"])
    }

    @Test func staticProgramHasNoSlots() throws {
        #expect(try ELFFile(path: fixtures.appendingPathComponent("static").path).pltSlots().allSatisfy {
            $0.relocation == .x86_64_irelative
        })
    }

    /// Hostile bytes where the slots should be: nothing decodes as `jmp *disp(%rip)`, so no slot is made up.
    @Test func corruptSlotsAreSkippedNotGuessed() throws {
        let path = fixtures.appendingPathComponent("calls-lazy").path
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let plt = try #require(try ELFFile(path: path).sections().first { $0.name == ".plt" })
        for index in Int(plt.offset)..<Int(plt.offset + plt.size) { bytes[index] = 0xcc }
        let slots = try ELFFile(bytes: bytes).pltSlots()
        #expect(!slots.contains { $0.section == .plt })
        // A jump whose displacement points outside every relocated GOT word is not a slot either.
        for index in stride(from: Int(plt.offset) + 16, to: Int(plt.offset + plt.size), by: 16) {
            bytes.replaceSubrange(index..<(index + 6), with: [0xff, 0x25, 0xff, 0xff, 0xff, 0x7f])
        }
        #expect(!(try ELFFile(bytes: bytes).pltSlots()).contains { $0.section == .plt })
    }

    /// Every prefix of a real program, and the program with its section headers' offset pointed past the
    /// end: an error or fewer slots, never a crash or a slot outside the file's PLT sections.
    @Test func truncatedFilesThrowOrYieldFewerSlots() throws {
        let path = fixtures.appendingPathComponent("calls-ibt").path
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let full = try ELFFile(path: path).pltSlots()
        let fullSet = Set(full)
        for length in stride(from: 0, to: bytes.count, by: 97) {
            guard let file = try? ELFFile(bytes: bytes.prefix(length)),
                  let slots = try? file.pltSlots() else { continue }
            #expect(Set(slots).isSubset(of: fullSet), "prefix of \(length) bytes made up a slot")
        }
        var hostile = bytes
        // e_shoff (offset 0x28) far past the end of the file.
        for i in 0..<8 { hostile[0x28 + i] = i == 3 ? 0x7f : 0 }
        if let file = try? ELFFile(bytes: hostile), let slots = try? file.pltSlots() { #expect(slots.isEmpty) }
    }

    @Test func decodesEveryJumpShape() {
        // jmp *0x2fe2(%rip)
        let plain = IndirectJump(decoding: [0xff, 0x25, 0xe2, 0x2f, 0, 0])
        #expect(plain?.instructionOffset == 0)
        #expect(plain?.targetOffset == Int64(6 + 0x2fe2))
        // endbr64; bnd jmp *0x2f75(%rip)
        let ibt = IndirectJump(decoding: [0xf3, 0x0f, 0x1e, 0xfa, 0xf2, 0xff, 0x25, 0x75, 0x2f, 0, 0])
        #expect(ibt?.instructionOffset == 4)
        #expect(ibt?.targetOffset == Int64(11 + 0x2f75))
        // A negative displacement.
        #expect(IndirectJump(decoding: [0xff, 0x25, 0xf0, 0xff, 0xff, 0xff])?.targetOffset == Int64(6 - 16))
        // PLT0's push, an IBT lazy stub (endbr64; push; bnd jmp rel32), truncated bytes.
        #expect(IndirectJump(decoding: [0xff, 0x35, 0xe2, 0x2f, 0, 0]) == nil)
        #expect(IndirectJump(decoding: [0xf3, 0x0f, 0x1e, 0xfa, 0x68, 0, 0, 0, 0, 0xf2, 0xe9]) == nil)
        #expect(IndirectJump(decoding: [0xff, 0x25, 0xe2]) == nil)
        #expect(IndirectJump(decoding: [UInt8]()) == nil)
    }
}
