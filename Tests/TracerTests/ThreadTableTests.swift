import Glibc
import Testing
@testable import Tracer

/// The thread table's bookkeeping of stops and creation events that come in either order, and the session's
/// phases.
@Suite struct ThreadTableTests {
    func table(process: pid_t = 100) -> ThreadTable {
        var table = ThreadTable()
        table.put(process, ThreadState(space: AddressSpace(mainPath: "/bin/prog", programName: nil), process: process))
        return table
    }

    @Test func aThreadWhoseFirstStopComesFirstJoinsItsProcess() {
        var threads = table()
        let joined = threads.meet(101, threadGroup: 100)
        #expect(joined, "a new thread of a traced process")
        #expect(threads[101]?.process == 100)
        #expect(threads[101]?.space === threads[100]?.space, "threads share their process's memory")
        let settled = threads.isSettled(created: 101)
        #expect(settled, "its clone event then has nothing to register")
    }

    @Test func aChildWhoseFirstStopComesFirstWaitsForItsParentsEvent() {
        var threads = table()
        let joinedChild = threads.meet(200, threadGroup: 200)
        #expect(!joinedChild, "a process of its own: parked")
        #expect(threads[200] == nil)
        let child = ThreadState(space: AddressSpace(mainPath: "/bin/prog", programName: nil), process: 200)
        let goesOn = threads.register(created: 200, child)
        #expect(goesOn, "already stopped: it goes on at once")
        #expect(threads[200]?.awaitingStartStop == false)
        let goesOnUnstopped = threads.register(created: 201, child)
        #expect(!goesOnUnstopped, "not stopped yet")
        #expect(threads[201]?.awaitingStartStop == true, "its start stop is still to come")
        let joinedGone = threads.meet(300, threadGroup: nil)
        #expect(!joinedGone, "gone from /proc: parked, never registered")
    }

    @Test func aThreadThatEndedBeforeItsCreationEventIsNotRegistered() {
        var threads = table()
        let ended = threads.end(102)
        #expect(ended == nil)
        let settledOnce = threads.isSettled(created: 102)
        #expect(settledOnce)
        let settledTwice = threads.isSettled(created: 102)
        #expect(!settledTwice, "remembered once")
        let otherSettled = threads.isSettled(created: 103)
        #expect(!otherSettled)
    }

    @Test func aChildSharingItsParentsMemoryIsHeldLast() {
        var threads = table()
        var sharer = ThreadState(siblingOf: threads[100]!)
        sharer.process = 200
        sharer.sharesParentMemory = true
        threads.put(200, sharer)
        #expect(threads.mayHold(100))
        #expect(!threads.mayHold(200), "its vfork parent still runs")
        threads[100]?.hold = .signal(0)
        #expect(threads.mayHold(200))
        #expect(!threads.allHeld && Array(threads.running.keys) == [200])
        threads[200]?.hold = .groupStop
        #expect(threads.allHeld && threads.running.isEmpty)
    }

    @Test func anExecLeavesOneThread() {
        var threads = table()
        _ = threads.meet(101, threadGroup: 100)
        _ = threads.meet(102, threadGroup: 100)
        _ = threads.removeOtherThreads(of: 100, than: 102)
        #expect(Array(threads.byID.keys) == [102])
    }

    @Test func phasesOfAnAttachedTrace() {
        var phase = SessionPhase.attaching
        #expect(phase.holdsStops && !phase.isDetaching)
        phase = .tracing
        #expect(!phase.holdsStops)
        phase.requestDetach()
        #expect(phase == .detachRequested && !phase.holdsStops, "no stop is held before the detach begins")
        phase.beginDetach()
        #expect(phase.holdsStops && phase.isDetaching)
        let firstSharers = phase.sharersToInterrupt(among: [200, 201])
        #expect(firstSharers.sorted() == [200, 201])
        let laterSharers = phase.sharersToInterrupt(among: [200, 201, 202])
        #expect(laterSharers == [202], "each sharer is interrupted once")
        #expect(phase == .detaching(interruptedSharers: [200, 201, 202]))
    }
}
