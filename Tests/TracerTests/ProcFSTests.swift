import Glibc
import Testing
@testable import Tracer

/// The /proc readers: parsing on bytes, then each reader on this test process, which /proc describes too.
@Suite struct ProcFSTests {
    private func pairs(_ values: [(UInt64, UInt64)]) -> [UInt8] {
        values.flatMap { FakeTraceeMemory.bytes(of: $0.0) + FakeTraceeMemory.bytes(of: $0.1) }
    }

    @Test func statusFieldsAreFoundByName() {
        let status = Array("Name:\tcat\nState:\tt (tracing stop)\nTgid:\t4242\nPid:\t4243\nTracerPid:\t0\n".utf8)
        #expect(ProcStatus.field("Tgid", in: status) == "4242")
        #expect(ProcStatus.field("State", in: status) == "t (tracing stop)")
        #expect(ProcStatus.field("Pid", in: status) == "4243", "a prefix of a longer name is not a match")
        #expect(ProcStatus.field("SigPnd", in: status) == nil)
    }

    @Test func theAuxiliaryVectorEndsAtNull() {
        let auxv = pairs([(6, 4096), (9, 0x401020), (0, 0), (33, 1)])
        #expect(AuxiliaryVector.value(of: .entry, in: auxv) == 0x401020)
        #expect(AuxiliaryVector.value(of: .init(rawValue: 33), in: auxv) == nil, "nothing after AT_NULL counts")
        #expect(AuxiliaryVector.value(of: .entry, in: Array(pairs([(9, 0x401020)]).prefix(12))) == nil,
                "a truncated pair is not read")
    }

    @Test func theReadersSeeThisProcess() {
        let me = getpid()
        #expect(ProcFS.threadGroup(of: me) == me)
        #expect(ProcFS.threads(of: me).contains(me))
        #expect(ProcFS.state(of: me).map { $0.hasPrefix("R") || $0.hasPrefix("S") } == true, "running or asleep: not traced")
        // glibc's own copy of the vector (getauxval is not in Swift's Glibc module: looked up by name).
        typealias GetAuxval = @convention(c) (UInt) -> UInt
        let getauxval = unsafeBitCast(dlsym(nil, "getauxval"), to: GetAuxval.self)
        #expect(ProcFS.auxiliaryValue(.entry, of: me) == UInt64(getauxval(9 /* AT_ENTRY */)))
        #expect(ProcFS.executable(of: me).map { access($0, X_OK) == 0 } == true)
        #expect(ProcFS.commandName(of: me)?.isEmpty == false)
    }

    @Test func aThreadThatIsGoneReadsAsNil() {
        let gone: pid_t = 0x3fff_fff0  // above any pid_max
        #expect(ProcFS.threadGroup(of: gone) == nil)
        #expect(ProcFS.threads(of: gone).isEmpty)
        #expect(ProcFS.auxiliaryValue(.entry, of: gone) == nil)
        #expect(ProcFS.executable(of: gone) == nil)
    }
}
