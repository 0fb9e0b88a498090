import ELF
import Foundation
import Linker
import TestSupport
import Testing

/// The version names a file needs, and the distribution table that says where they are met.
@Suite struct RequirementsTests {
    @Test func versionNamesOrderByTheirNumbers() {
        #expect(VersionName("GLIBC_2.9") < VersionName("GLIBC_2.10"))
        #expect(VersionName("GLIBC_2.2.5") < VersionName("GLIBC_2.3"))
        #expect(VersionName("GLIBC_ABI_DT_RELR").family == "GLIBC" && !VersionName("GLIBC_ABI_DT_RELR").isNumeric)
        #expect(VersionName("CXXABI_TM_1").family == "CXXABI" && VersionName("GLIBCXX_3.4.30").numbers == [3, 4, 30])
        #expect(VersionName("GLIBC_2.34") < VersionName("GLIBC_PRIVATE"))
    }

    /// The Debian 12 row defines exactly what this Debian 12 machine's glibc and libstdc++ define
    /// (GLIBC_PRIVATE aside): the table's rule for deriving sets is checked against real libraries.
    @Test func theDebian12RowIsThisMachine() throws {
        func definitions(_ paths: [String], prefixes: [String]) throws -> Set<String> {
            var names = Set<String>()
            for path in paths where FileManager.default.fileExists(atPath: path) {
                for definition in try ELFFile(path: path).versionDefinitions() where !definition.isBase {
                    if prefixes.contains(where: definition.name.hasPrefix) { names.insert(definition.name) }
                }
            }
            return names
        }
        let lib = "/lib/x86_64-linux-gnu/"
        let glibc = try definitions(["libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2",
                                     "libutil.so.1", "libanl.so.1", "libnsl.so.1"].map { lib + $0 } + ["/lib64/ld-linux-x86-64.so.2"],
                                    prefixes: ["GLIBC_"]).subtracting(["GLIBC_PRIVATE"])
        let row = try #require(DistributionRelease.table.first { $0.release.hasPrefix("12 ") && $0.distribution == "Debian" })
        #expect(Set(row.glibcNames.map { "GLIBC_" + $0 }) == glibc)
        let libstdcxx = try definitions([lib + "libstdc++.so.6"], prefixes: ["GLIBCXX_", "CXXABI_"])
        try #require(!libstdcxx.isEmpty)
        #expect(row.libstdcxxNames == libstdcxx)
    }

    /// Membership, not a maximum: a name x86_64 never had, or a private one, is met nowhere; an old name
    /// everywhere.
    @Test func membershipDecides() {
        for release in DistributionRelease.table {
            #expect(release.lacks(glibcNeeds: ["GLIBC_2.19"], libstdcxxNeeds: []) == ["GLIBC_2.19"])
            #expect(release.lacks(glibcNeeds: ["GLIBC_PRIVATE"], libstdcxxNeeds: []) == ["GLIBC_PRIVATE"])
            #expect(release.lacks(glibcNeeds: ["GLIBC_2.2.5"], libstdcxxNeeds: ["GLIBCXX_3.4"]).isEmpty)
            #expect(!release.source.isEmpty)
        }
        let buster = DistributionRelease.table[0]
        #expect(buster.lacks(glibcNeeds: ["GLIBC_2.28", "GLIBC_2.34"], libstdcxxNeeds: ["GLIBCXX_3.4.26"]) == ["GLIBC_2.34", "GLIBCXX_3.4.26"])
    }
}
