@testable import ELF
import Testing
@testable import Check

/// The loader's version rules (glibc elf/dl-version.c `match_symbol`) on hand-made load orders.
@Suite struct VersionCheckTests {
    func object(_ path: String, soname: String? = nil, needs: [VersionNeed] = [],
                defines: [String] = [], dependencies: [String: Int] = [:]) -> LoadedObject {
        var definitions: [VersionDefinition] = []
        if !defines.isEmpty {
            definitions.append(VersionDefinition(name: soname ?? path, index: 1, hash: elfHash(soname ?? path),
                                                 isBase: true, parents: []))
            for (offset, name) in defines.enumerated() {
                definitions.append(VersionDefinition(name: name, index: UInt16(offset + 2), hash: elfHash(name),
                                                     isBase: false, parents: []))
            }
        }
        return LoadedObject(path: path, hostPath: path, soname: soname, versionNeeds: needs,
                            versionDefinitions: definitions, dependencies: dependencies)
    }

    func need(_ file: String, _ versions: [String], weak: Bool = false) -> VersionNeed {
        VersionNeed(file: file, versions: versions.enumerated().map {
            NeededVersion(name: $0.element, hash: elfHash($0.element), index: UInt16($0.offset + 2), isWeak: weak)
        })
    }

    /// The SysV ELF hash the toolchain stores in vd_hash/vna_hash.
    func elfHash(_ name: String) -> UInt32 {
        var h: UInt32 = 0
        for byte in name.utf8 {
            h = (h << 4) &+ UInt32(byte)
            let g = h & 0xf000_0000
            if g != 0 { h ^= g >> 24 }
            h &= ~g
        }
        return h
    }

    @Test func missingVersionIsTheLoadersMessage() {
        let objects = [
            object("/usr/bin/prog", needs: [need("libver.so.1", ["LIB_1.0", "LIB_2.0"])], dependencies: ["libver.so.1": 1]),
            object("/opt/lib/libver.so.1", soname: "libver.so.1", defines: ["LIB_1.0"]),
        ]
        let problems = VersionCheck.problems(file: "/usr/bin/prog", objects: objects)
        #expect(problems.count == 1)
        #expect(problems.first?.severity == .error)
        #expect(problems.first?.detail == "/opt/lib/libver.so.1: version `LIB_2.0' not found (required by /usr/bin/prog)")
        #expect(problems.first?.neededBy == "/usr/bin/prog")
    }

    @Test func needsOfDependenciesAreCheckedToo() {
        let objects = [
            object("/usr/bin/prog", dependencies: ["libmid.so.1": 1]),
            object("/lib/libmid.so.1", soname: "libmid.so.1", needs: [need("libver.so.1", ["LIB_2.0"])],
                   dependencies: ["libver.so.1": 2]),
            object("/lib/libver.so.1", soname: "libver.so.1", defines: ["LIB_1.0"]),
        ]
        let problems = VersionCheck.problems(file: "/usr/bin/prog", objects: objects)
        #expect(problems.map(\.neededBy) == ["/lib/libmid.so.1"])
        #expect(problems.map(\.file) == ["/usr/bin/prog"])
    }

    @Test func weakVersionsAndUnversionedProvidersOnlyWarn() {
        let objects = [
            object("/usr/bin/prog", needs: [need("libver.so.1", ["LIB_9.0"], weak: true), need("libplain.so", ["P_1"])],
                   dependencies: ["libver.so.1": 1, "libplain.so": 2]),
            object("/lib/libver.so.1", soname: "libver.so.1", defines: ["LIB_1.0"]),
            object("/lib/libplain.so", soname: "libplain.so"),
        ]
        let problems = VersionCheck.problems(file: "/usr/bin/prog", objects: objects)
        #expect(problems.count == 2)
        #expect(problems.allSatisfy { $0.severity == .warning })
        #expect(problems.contains { $0.detail.contains("weak version `LIB_9.0' not found") })
        #expect(problems.contains { $0.detail.contains("no version information available") })
    }

    @Test func aNeedOfAMissingLibraryIsLeftToNotFound() {
        let objects = [object("/usr/bin/prog", needs: [need("libgone.so.1", ["G_1"])])]
        #expect(VersionCheck.problems(file: "/usr/bin/prog", objects: objects).isEmpty)
    }

    @Test func aWrongHashIsAMissingVersion() {
        var provider = object("/lib/libver.so.1", soname: "libver.so.1", defines: ["LIB_1.0"])
        provider.versionDefinitions[1].hash &+= 1
        let objects = [object("/usr/bin/prog", needs: [need("libver.so.1", ["LIB_1.0"])], dependencies: ["libver.so.1": 1]),
                       provider]
        #expect(VersionCheck.problems(file: "/usr/bin/prog", objects: objects).count == 1)
    }
}
