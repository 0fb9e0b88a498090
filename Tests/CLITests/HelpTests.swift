import Foundation
import Testing
import TestSupport

/// The top-level help is part of the contract users script against: pin it, so a change is deliberate.
@Suite struct HelpTests {
    @Test func topLevelHelpListsTheThreeCommands() throws {
        let result = TestSupport.linkscope(["--help"])
        #expect(result.status == 0)
        for command in ["deps", "trace", "check"] {
            #expect(result.stdout.contains("  \(command) "), "help lacks \(command): \(result.stdout)")
        }
    }

    @Test func unknownSubcommandIsUsageError() throws {
        let result = TestSupport.linkscope(["frobnicate"])
        #expect(result.status == 2, "bad usage exits 2, got \(result.status)")
        #expect(!result.stderr.isEmpty)
    }
}
