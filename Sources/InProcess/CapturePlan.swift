import CAgent
import Prototypes

/// What the agent copies at a call's entry and return for one prototype, so that `CallDecoder` decodes from
/// the copies exactly what it would read from the live process (DESIGN decision 9: the agent is told what to
/// capture and decides nothing). One level deep: strings, buffers sized by another argument, and fixed-size
/// pointees of integer-register arguments, and the stack words of arguments past the sixth.
struct CapturePlan {
    var plan = ls_plan()

    init(prototype: Prototype?, decoder: CallDecoder, flags: UInt32) {
        plan.flags = flags
        plan.string_bytes = UInt32(min(decoder.stringLimit + 1, Int(LS_MAX_CAPTURE)))
        guard let prototype else { return }
        var integer = 0
        var vectors = false
        for parameter in prototype.parameters {
            let type = parameter.type
            if type.isFloatingPoint { vectors = true; continue }
            defer { integer += 1 }
            guard integer < Int(LS_MAX_PARAMS) else { continue }
            if let capture = Self.capture(type, decoder: decoder) {
                var capture = capture
                capture.at_return = parameter.isOutput ? 1 : 0
                Self.set(&plan, index: integer, capture)
            }
            if type == .format { vectors = true }
        }
        // Arguments past the sixth integer one, and a format's variadic ones, come from the stack.
        let stackWords = max(0, integer - 6) + (prototype.parameters.contains { $0.type == .format } ? 16 : 0)
        plan.stack_words = UInt32(min(stackWords, 64))
        if vectors { plan.flags |= LS_BIND_VECTORS_IN }
        if let result = Self.capture(prototype.returnType, decoder: decoder), result.kind != UInt8(LS_CAP_FORMAT) {
            plan.result = result
            plan.result.at_return = 1
        }
        if prototype.returnType.isFloatingPoint { plan.flags |= LS_BIND_VECTORS_OUT }
    }

    private static func capture(_ type: ValueType, decoder: CallDecoder) -> ls_capture? {
        let limit = UInt32(min(decoder.stringLimit + 1, Int(LS_MAX_CAPTURE)))
        switch type {
        case .string(nil):
            return ls_capture(kind: UInt8(LS_CAP_CSTRING), arg: 0, at_return: 0, reserved: 0, bytes: limit)
        case .string(.some(.argument(let n))) where n >= 1 && n <= 6:
            return ls_capture(kind: UInt8(LS_CAP_CSTRING), arg: 0, at_return: 0, reserved: 0, bytes: limit)
        case .string(.some):
            return ls_capture(kind: UInt8(LS_CAP_CSTRING), arg: 0, at_return: 0, reserved: 0, bytes: limit)
        case .format:
            return ls_capture(kind: UInt8(LS_CAP_FORMAT), arg: 0, at_return: 0, reserved: 0, bytes: LS_MAX_CAPTURE)
        case .array(let element, .argument(let n)) where n >= 1 && n <= 6:
            let shown = UInt64(decoder.arrayLimit) * UInt64(max(1, element.size))
            return ls_capture(kind: UInt8(LS_CAP_BYTES), arg: 0, at_return: 0, reserved: 0,
                              bytes: UInt32(min(shown, UInt64(LS_MAX_CAPTURE))))
        case .array(let element, _):
            let shown = UInt64(decoder.arrayLimit) * UInt64(max(1, element.size))
            return ls_capture(kind: UInt8(LS_CAP_BYTES), arg: 0, at_return: 0, reserved: 0,
                              bytes: UInt32(min(shown, UInt64(LS_MAX_CAPTURE))))
        case .pointer(.string), .pointer(.format):
            return ls_capture(kind: UInt8(LS_CAP_POINTER_STRING), arg: 0, at_return: 0, reserved: 0, bytes: 8)
        case .pointer(let pointee):
            let size = pointee.size
            guard size > 0 else { return nil }
            return ls_capture(kind: UInt8(LS_CAP_BYTES), arg: 0, at_return: 0, reserved: 0,
                              bytes: UInt32(min(size, Int(LS_MAX_CAPTURE))))
        default:
            return nil
        }
    }

    private static func set(_ plan: inout ls_plan, index: Int, _ capture: ls_capture) {
        withUnsafeMutableBytes(of: &plan.captures) { raw in
            raw.storeBytes(of: capture, toByteOffset: index * MemoryLayout<ls_capture>.stride, as: ls_capture.self)
        }
    }
}
