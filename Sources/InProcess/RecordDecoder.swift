import CAgent
import Prototypes
import TraceModel

// Decoding the agent's records into events (issue 9). This is the in-process engine's hot path — two records
// per traced call, millions a second — so it runs as a value type the engine moves out of itself for a whole
// drain (no dynamic exclusivity check per field, as a class's stored properties would pay), reads the copies
// where they lie in the ring, and keeps per thread a stack of open calls.

/// One (calling object, symbol) the agent hooked. A class: every record names one, and a reference is
/// all the decoder copies.
final class Binding {
    let symbol: String
    let caller: String?
    let prototype: Prototype?
    /// The stack words the agent records at entry (its plan's), to rebuild the stack for the decoder.
    let stackWords: Int
    let noReturn: Bool

    init(symbol: String, caller: String?, prototype: Prototype?, stackWords: Int, noReturn: Bool) {
        self.symbol = symbol
        self.caller = caller
        self.prototype = prototype
        self.stackWords = stackWords
        self.noReturn = noReturn
    }
}

struct OpenCall {
    /// The agent's per-thread call number (entry and return records carry the same).
    var call: UInt64
    var callID: UInt64
    var entry: DecodedEntry
    /// What the agent copied at entry, kept only when an argument is decoded at the return (an output, or
    /// every argument from the first output on), which may read it, as the format string of snprintf.
    var savedCaptures: [SavedCapture]
    var time: Timestamp
    var binding: Binding
}

struct SavedCapture {
    var address: UInt64
    var bytes: [UInt8]
}

/// Turns records into `TraceEvent`s with the same `CallDecoder` the ptrace engine uses, over the bytes the
/// agent copied (`CapturedBytes`), so the events — and the text made of them — are the same.
struct RecordDecoder {
    let decoder: CallDecoder
    /// Every binding the agent was given, by id.
    var bindings: [Binding] = []
    var clock = TimestampClock()
    var nextCallID: UInt64 = 1
    /// Calls entered and records read, for `--engine-stats`.
    var calls = 0
    var records = 0
    /// The region list every record's reader is built on, reused (its capacity stays): no allocation per record.
    private var scratchRegions: [CapturedBytes.Region] = []

    init(decoder: CallDecoder) {
        self.decoder = decoder
    }

    /// Decodes one record in place (its copies are read where they lie in the ring) and emits its event.
    /// `program` names the ring's process's program once it exec'd (nil: the launched command).
    mutating func decode(_ record: UnsafeRawPointer, size: Int, ring: inout InProcessEngine.RingState,
                         program: String?, emit: (TraceEvent) -> Void) {
        let header = record.load(as: ls_record.self)
        records += 1
        let thread = ThreadID(rawValue: ring.tid), process = ThreadID(rawValue: ring.pid)
        switch UInt32(header.type) {
        case UInt32(LS_REC_ENTRY):
            guard Int(header.binding) < bindings.count else { return }
            let binding = bindings[Int(header.binding)]
            let entry = record.load(as: ls_entry_record.self)
            var memory = CapturedBytes(regions: takeScratchRegions())
            var cursor = MemoryLayout<ls_entry_record>.size
            let words = binding.stackWords
            if words > 0, cursor + words * 8 <= size {
                memory.regions.append(.init(address: entry.stack_pointer &+ 8,
                                            bytes: UnsafeRawBufferPointer(start: record + cursor, count: words * 8)))
                cursor += words * 8
            }
            Self.readCaptures(record, from: cursor, size: size, count: Int(header.captures), into: &memory)
            let registers = RegisterFile(integerWords: entry.args, vectorWords: entry.vectors,
                                         stackPointer: entry.stack_pointer, rax: entry.rax)
            let decoded = decoder.decodeEntry(function: binding.symbol, prototype: binding.prototype,
                                              registers: registers, captured: memory)
            let saved = decoded.defersArguments
                ? memory.regions.map { SavedCapture(address: $0.address, bytes: Array($0.bytes)) } : []
            giveBackScratchRegions(&memory)
            let time = clock.timestamp(tsc: header.tsc)
            let callID = nextCallID
            nextCallID += 1
            calls += 1
            if !binding.noReturn {
                ring.open.append(OpenCall(call: header.call, callID: callID, entry: decoded, savedCaptures: saved,
                                          time: time, binding: binding))
            }
            emit(.call(CallEntryEvent(thread: thread, process: process, callID: callID, function: binding.symbol,
                                      caller: binding.caller, program: program, callSite: entry.call_site,
                                      depth: Int(header.depth),
                                      decoded: decoded, time: time)))
        case UInt32(LS_REC_RETURN):
            guard let open = ring.close(header.call) else { return }
            let binding = open.binding
            let result = record.load(as: ls_return_record.self)
            var memory = CapturedBytes(regions: takeScratchRegions())
            Self.readCaptures(record, from: MemoryLayout<ls_return_record>.size, size: size,
                              count: Int(header.captures), into: &memory)
            let registers = RegisterFile(integerWords: (0, 0, 0, 0, 0, 0), vectorWords: (result.xmm0, 0, 0, 0, 0, 0, 0, 0), rax: result.rax, rdx: result.rdx)
            // Deferred (output) arguments are re-read from the entry's registers over the return's copies, then
            // the entry's (the return's copies first: they are the newer).
            let decoder = self.decoder
            let decoded = Self.withSavedCaptures(open.savedCaptures, after: &memory) { memory in
                decoder.decodeReturn(open.entry, prototype: binding.prototype, registers: registers, captured: memory)
            }
            giveBackScratchRegions(&memory)
            emit(.callReturn(CallReturnEvent(thread: thread, process: process, callID: open.callID,
                                             function: binding.symbol, caller: binding.caller, depth: Int(header.depth),
                                             decoded: decoded, entryTime: open.time, time: clock.timestamp(tsc: header.tsc))))
        case UInt32(LS_REC_UNWOUND):
            guard let open = ring.close(header.call) else { return }
            emit(.callReturn(CallReturnEvent(thread: thread, process: process, callID: open.callID,
                                             function: open.binding.symbol, caller: open.binding.caller, depth: 0,
                                             decoded: nil, entryTime: open.time, time: clock.timestamp(tsc: header.tsc))))
        default:
            break  // a filler at the end of the buffer
        }
    }

    private mutating func takeScratchRegions() -> [CapturedBytes.Region] {
        var regions: [CapturedBytes.Region] = []
        swap(&regions, &scratchRegions)
        return regions
    }

    private mutating func giveBackScratchRegions(_ memory: inout CapturedBytes) {
        swap(&scratchRegions, &memory.regions)
        scratchRegions.removeAll(keepingCapacity: true)
    }

    /// Runs `body` over `memory` with `saved` (owned copies) as further regions, valid only inside `body`.
    private static func withSavedCaptures<T>(_ saved: [SavedCapture], after memory: inout CapturedBytes,
                                             _ body: (CapturedBytes) -> T) -> T {
        guard let first = saved.first else { return body(memory) }
        return first.bytes.withUnsafeBytes { bytes in
            memory.regions.append(.init(address: first.address, bytes: bytes))
            return withSavedCaptures(Array(saved.dropFirst()), after: &memory, body)
        }
    }

    private static func readCaptures(_ record: UnsafeRawPointer, from start: Int, size: Int, count: Int,
                                     into memory: inout CapturedBytes) {
        var cursor = start
        for _ in 0..<count {
            guard cursor + MemoryLayout<ls_capture_block>.size <= size else { return }
            let block = (record + cursor).loadUnaligned(as: ls_capture_block.self)
            cursor += MemoryLayout<ls_capture_block>.size
            let length = Int(block.length)
            guard cursor + length <= size else { return }
            if block.readable != 0, length > 0 {
                memory.regions.append(.init(address: block.address,
                                            bytes: UnsafeRawBufferPointer(start: record + cursor, count: length)))
            }
            cursor += (length + 7) & ~7
        }
    }
}
