/// Which distribution releases meet a file's libc and libstdc++ version needs. As auditwheel's manylinux
/// policies do, a release meets them when every needed version *name* is in the set its libraries define
/// (x86_64): membership, not a numeric maximum, so a name that never existed on x86_64 (`GLIBC_2.19`) or a
/// private one (`GLIBC_PRIVATE`) is met nowhere.
public struct DistributionRelease: Hashable, Sendable {
    public var distribution: String
    public var release: String
    /// glibc's version (`2.36`): the release defines every x86_64 GLIBC_ name introduced up to it.
    public var glibc: [Int]
    /// The newest GLIBCXX_3.4.N and CXXABI_1.3.M its libstdc++6 defines.
    public var glibcxx: Int
    public var cxxabi: Int
    /// Where the row's versions come from.
    public var source: String

    public var name: String { "\(distribution) \(release)" }
    public var glibcText: String { glibc.map(String.init).joined(separator: ".") }

    /// GLIBC_ names (without the prefix) this release's glibc defines on x86_64.
    public var glibcNames: Set<String> {
        var names = Set(Self.x86_64GlibcVersions.filter { $0.introduced.lexicographicallyPrecedes(glibc) || $0.introduced == glibc }
            .map(\.name))
        if !(glibc.lexicographicallyPrecedes([2, 36])) { names.insert("ABI_DT_RELR") }
        return names
    }

    /// GLIBCXX_ and CXXABI_ names (with prefixes) its libstdc++ defines: GLIBCXX_3.4 … 3.4.N, CXXABI_1.3 …
    /// 1.3.M, CXXABI_TM_1 (GCC 4.7 on), CXXABI_FLOAT128 (GCC 5 on, GLIBCXX_3.4.21).
    public var libstdcxxNames: Set<String> {
        var names: Set<String> = ["GLIBCXX_3.4", "CXXABI_1.3"]
        for minor in stride(from: 1, through: glibcxx, by: 1) { names.insert("GLIBCXX_3.4.\(minor)") }
        for minor in stride(from: 1, through: cxxabi, by: 1) { names.insert("CXXABI_1.3.\(minor)") }
        if glibcxx >= 17 { names.insert("CXXABI_TM_1") }
        if glibcxx >= 21 { names.insert("CXXABI_FLOAT128") }
        return names
    }

    /// The needed names this release lacks (prefixed: `GLIBC_2.34`), empty when it meets them all.
    public func lacks(glibcNeeds: Set<String>, libstdcxxNeeds: Set<String>) -> [String] {
        let glibcSet = glibcNames
        var missing = glibcNeeds.filter { name in
            !(name.hasPrefix("GLIBC_") && glibcSet.contains(String(name.dropFirst("GLIBC_".count))))
        }
        missing.formUnion(libstdcxxNeeds.subtracting(libstdcxxNames))
        return missing.map(VersionName.init).sorted().map(\.name)
    }

    /// x86_64 GLIBC_ version nodes and the glibc release that introduced each: the sets of auditwheel 6.8.2's
    /// `manylinux-policy.json` (manylinux_2_5 … manylinux_2_41, x86_64), which lists no node for 2.19–2.21 or 2.37.
    public static let x86_64GlibcVersions: [(name: String, introduced: [Int])] = {
        var result: [(String, [Int])] = []
        for name in ["2.2.5", "2.2.6"] { result.append((name, [2, 2])) }
        for name in ["2.3", "2.3.2", "2.3.3", "2.3.4"] { result.append((name, [2, 3])) }
        for minor in [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                      32, 33, 34, 35, 36, 38, 39, 40, 41] {
            result.append(("2.\(minor)", [2, minor]))
        }
        return result
    }()

    /// The table (x86_64 releases; glibc and libstdc++6 as each release ships them).
    public static let table: [DistributionRelease] = [
        .init(distribution: "Debian", release: "10 (buster)", glibc: [2, 28], glibcxx: 25, cxxabi: 11,
              source: "packages.debian.org/buster: libc6 2.28-10+deb10u*, libstdc++6 8.3.0-6"),
        .init(distribution: "Debian", release: "11 (bullseye)", glibc: [2, 31], glibcxx: 28, cxxabi: 12,
              source: "packages.debian.org/bullseye: libc6 2.31-13+deb11u*, libstdc++6 10.2.1-6"),
        .init(distribution: "Debian", release: "12 (bookworm)", glibc: [2, 36], glibcxx: 30, cxxabi: 13,
              source: "packages.debian.org/bookworm: libc6 2.36-9+deb12u*, libstdc++6 12.2.0-14 (checked against this machine's libc.so.6 and libstdc++.so.6 by a test)"),
        .init(distribution: "Debian", release: "13 (trixie)", glibc: [2, 41], glibcxx: 33, cxxabi: 15,
              source: "packages.debian.org/trixie: libc6 2.41-12, libstdc++6 14.2.0-19"),
        .init(distribution: "Ubuntu", release: "20.04 LTS (focal)", glibc: [2, 31], glibcxx: 28, cxxabi: 12,
              source: "packages.ubuntu.com/focal: libc6 2.31-0ubuntu9.*, libstdc++6 10.5.0-1ubuntu1~20.04"),
        .init(distribution: "Ubuntu", release: "22.04 LTS (jammy)", glibc: [2, 35], glibcxx: 30, cxxabi: 13,
              source: "packages.ubuntu.com/jammy: libc6 2.35-0ubuntu3.*, libstdc++6 12.3.0-1ubuntu1~22.04"),
        .init(distribution: "Ubuntu", release: "24.04 LTS (noble)", glibc: [2, 39], glibcxx: 33, cxxabi: 15,
              source: "packages.ubuntu.com/noble: libc6 2.39-0ubuntu8.*, libstdc++6 14.2.0-4ubuntu2~24.04"),
        .init(distribution: "RHEL/CentOS", release: "7", glibc: [2, 17], glibcxx: 19, cxxabi: 7,
              source: "CentOS 7 os repository: glibc-2.17-*.el7, libstdc++-4.8.5-*.el7 (auditwheel's manylinux2014 base)"),
        .init(distribution: "RHEL/Alma/Rocky", release: "8", glibc: [2, 28], glibcxx: 25, cxxabi: 11,
              source: "AlmaLinux 8 BaseOS: glibc-2.28-*.el8, libstdc++-8.5.0-*.el8 (auditwheel's manylinux_2_28 base)"),
        .init(distribution: "RHEL/Alma/Rocky", release: "9", glibc: [2, 34], glibcxx: 29, cxxabi: 13,
              source: "AlmaLinux 9 BaseOS: glibc-2.34-*.el9, libstdc++-11.5.0-*.el9 (auditwheel's manylinux_2_34 base)"),
        .init(distribution: "RHEL/Alma/Rocky", release: "10", glibc: [2, 39], glibcxx: 33, cxxabi: 15,
              source: "AlmaLinux 10 BaseOS: glibc-2.39-*.el10, libstdc++-14.2.1-*.el10"),
        .init(distribution: "Amazon Linux", release: "2", glibc: [2, 26], glibcxx: 24, cxxabi: 11,
              source: "Amazon Linux 2 core repository: glibc-2.26-*.amzn2, libstdc++-7.3.1-*.amzn2"),
        .init(distribution: "Amazon Linux", release: "2023", glibc: [2, 34], glibcxx: 29, cxxabi: 13,
              source: "Amazon Linux 2023 repository: glibc-2.34-*.amzn2023, libstdc++-11.4.1-*.amzn2023"),
        .init(distribution: "SUSE SLES/Leap", release: "15 SP5 / 15.5", glibc: [2, 31], glibcxx: 30, cxxabi: 13,
              source: "openSUSE Leap 15.5 (SLE 15 SP5): glibc-2.31-150300.*, libstdc++6 from gcc12 (12.2.1)"),
        .init(distribution: "SUSE SLES/Leap", release: "15 SP6 / 15.6", glibc: [2, 38], glibcxx: 32, cxxabi: 14,
              source: "openSUSE Leap 15.6 (SLE 15 SP6): glibc-2.38-150600.*, libstdc++6 from gcc13 (13.2.1)"),
    ]
}
