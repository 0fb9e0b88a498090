import Testing
@testable import InProcess

/// The exec stop's stack rewrite (InitialStack), on words laid out as the kernel lays them out.
@Suite struct InitialStackTests {
    /// argc 2, two argv pointers, NULL, three environment pointers, NULL, AT_PAGESZ, AT_SECURE, AT_NULL.
    static let base: UInt64 = 0x7ffd_0000_1000
    static let words: [UInt64] = [2, 0xa0, 0xa8, 0, 0xb0, 0xb8, 0xc0, 0, 6, 4096, 23, 0, 0, 0]

    @Test func parsesArgvEnvironmentAndAuxv() throws {
        let stack = try #require(InitialStack(words: Self.words + [0xdead, 0xbeef], base: Self.base))
        #expect(stack.arguments == [0xa0, 0xa8])
        #expect(stack.environment == [0xb0, 0xb8, 0xc0])
        #expect(stack.auxiliary == [6, 4096, 23, 0, 0, 0])
        #expect(stack.size == UInt64(Self.words.count * 8))
        #expect(!stack.isSecure)
    }

    @Test func aBlockCutShortIsNotParsed() {
        #expect(InitialStack(words: Array(Self.words.prefix(10)), base: Self.base) == nil)
        #expect(InitialStack(words: [9, 1, 2], base: Self.base) == nil)  // argc past the words
        #expect(InitialStack(words: [], base: Self.base) == nil)
    }

    @Test func atSecureIsSeen() throws {
        var words = Self.words
        words[11] = 1
        #expect(try #require(InitialStack(words: words, base: Self.base)).isSecure)
    }

    /// The entry is appended to the environment, its bytes lie above the new block and below the old
    /// block's end, and the new stack pointer is 16-byte aligned.
    @Test func anEntryIsAppendedBelowTheOldEnd() throws {
        let stack = try #require(InitialStack(words: Self.words, base: Self.base))
        let entry = Array("LD_AUDIT=/proc/42/fd/7".utf8)
        let (newBase, bytes) = stack.adding(entry: entry)
        #expect(newBase % 16 == 0)
        #expect(newBase < Self.base)
        #expect(newBase + UInt64(bytes.count) <= Self.base + stack.size)
        let words = stride(from: 0, to: 8 * 15, by: 8).map { offset in
            bytes[offset..<offset + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        let rebuilt = try #require(InitialStack(words: words, base: newBase))
        #expect(rebuilt.arguments == stack.arguments)
        #expect(rebuilt.auxiliary == stack.auxiliary)
        #expect(rebuilt.environment.dropLast() == stack.environment[...])
        let textAddress = try #require(rebuilt.environment.last)
        let offset = Int(textAddress - newBase)
        #expect(Array(bytes[offset..<offset + entry.count + 1]) == entry + [0])
    }
}
