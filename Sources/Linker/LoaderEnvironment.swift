import ELF
import Glibc

/// Everything outside the object files that decides what glibc 2.36's loader picks: the root it runs in,
/// that root's ld.so.cache, the environment variables, and what this CPU supports. Built once and shared
/// (it is a value) by every resolution.
public struct LoaderEnvironment: Hashable, Sendable {
    /// Where `/` is. `.host` for this system, or a directory for `--root`.
    public var root: LoaderRoot
    /// LD_LIBRARY_PATH as given (colon- or semicolon-separated), nil when unset. We model a normal, not a
    /// setuid (AT_SECURE) start: a secure start would ignore it.
    public var libraryPath: String?
    /// LD_PRELOAD entries followed by `etc/ld.so.preload` entries, in the order the loader maps them.
    public var preload: [String]
    /// The root's `etc/ld.so.cache`, nil when it is missing or unreadable (the loader then skips the step).
    public var cache: LDSoCache?
    /// Why `cache` is nil although a file exists (for messages); nil when all is well or there is no file.
    public var cacheProblem: String?
    /// Directories `etc/ld.so.conf` names (with `include` globs expanded). The loader does not read this
    /// file — ldconfig does, to build the cache — so it is information for `check`, not a search step.
    public var configuredDirectories: [String]
    /// glibc-hwcaps subdirectories this CPU supports, best first (`x86-64-v3`, `x86-64-v2`).
    public var hwcapsSubdirectories: [String]
    /// Legacy hwcap names 2.36 still searches under each path directory, in glibc's order (`x86_64`, and
    /// `avx512_1` on Intel CPUs with AVX-512); combined with `tls` and `platform` by `searchSubdirectories`.
    public var legacyHWCaps: [String]
    /// `$PLATFORM` and AT_PLATFORM (`x86_64`).
    public var platform: String
    /// `$LIB`: Debian's multiarch `lib/x86_64-linux-gnu`.
    public var libString: String
    /// The compiled-in system search path (Debian's SYSTEM_DIRS, as `ld.so --help` prints it).
    public var defaultDirectories: [String]
    /// Where relative paths (NEEDED with a slash, empty or relative search path elements) start.
    public var workingDirectory: String
    /// The interpreter assumed for an object without PT_INTERP (a shared library given as FILE).
    public var defaultInterpreter: String
    public var machine: ELFMachine
    public var elfClass: ELFClass

    public init(root: LoaderRoot, libraryPath: String? = nil, preload: [String] = [], cache: LDSoCache? = nil,
                cacheProblem: String? = nil, configuredDirectories: [String] = [],
                hwcapsSubdirectories: [String] = CPUCapabilities.host.hwcapsSubdirectories,
                legacyHWCaps: [String] = CPUCapabilities.host.legacyHWCaps,
                platform: String = CPUCapabilities.host.platform, libString: String = "lib/x86_64-linux-gnu",
                defaultDirectories: [String] = LoaderEnvironment.debianSystemDirectories,
                workingDirectory: String = "/", defaultInterpreter: String = "/lib64/ld-linux-x86-64.so.2",
                machine: ELFMachine = .x86_64, elfClass: ELFClass = .class64) {
        self.root = root
        self.libraryPath = libraryPath
        self.preload = preload
        self.cache = cache
        self.cacheProblem = cacheProblem
        self.configuredDirectories = configuredDirectories
        self.hwcapsSubdirectories = hwcapsSubdirectories
        self.legacyHWCaps = legacyHWCaps
        self.platform = platform
        self.libString = libString
        self.defaultDirectories = defaultDirectories
        self.workingDirectory = workingDirectory
        self.defaultInterpreter = defaultInterpreter
        self.machine = machine
        self.elfClass = elfClass
    }

    /// Debian 12's SYSTEM_DIRS for x86_64.
    public static let debianSystemDirectories = [
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib",
    ]

    /// This system as a program started now would see it: LD_LIBRARY_PATH and LD_PRELOAD from
    /// `environment` (linkscope's own when nil), /etc/ld.so.cache, /etc/ld.so.preload, the current directory.
    public static func host(environment: [String: String]? = nil) -> LoaderEnvironment {
        let environment = environment ?? SystemCalls.environment()
        var result = LoaderEnvironment(root: .host)
        result.libraryPath = environment["LD_LIBRARY_PATH"]
        result.workingDirectory = SystemCalls.currentDirectory()
        result.loadRootFiles(preloadVariable: environment["LD_PRELOAD"])
        return result
    }

    /// The root filesystem at `directory`, with its own ld.so.cache, ld.so.conf and ld.so.preload. The
    /// caller's LD_LIBRARY_PATH/LD_PRELOAD do not apply (pass them in `environment` to model them).
    public static func root(_ directory: String, environment: [String: String] = [:]) throws(LoaderEnvironmentError) -> LoaderEnvironment {
        var status = stat()
        guard stat(directory, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw .rootNotADirectory(directory)
        }
        return root(LoaderRoot(hostRoot: canonicalRootDirectory(directory)), environment: environment)
    }

    /// A root already opened (a directory, or an image read in place), with its own ld.so.cache,
    /// ld.so.conf and ld.so.preload; `environment` as the root's programs would start with it.
    public static func root(_ root: LoaderRoot, environment: [String: String] = [:]) -> LoaderEnvironment {
        var result = LoaderEnvironment(root: root)
        result.libraryPath = environment["LD_LIBRARY_PATH"]
        result.loadRootFiles(preloadVariable: environment["LD_PRELOAD"])
        return result
    }

    /// The host directory a `--root DIR` names, made canonical once for deps and check alike: absolute,
    /// every symlink followed (realpath(3) on the host: the root's own links are read inside it later),
    /// "" for `/`. A path that cannot be resolved is normalised lexically.
    public static func canonicalRootDirectory(_ given: String) -> String {
        let absolute = LoaderRoot.normalized(LoaderPath.absolute(given, in: SystemCalls.currentDirectory()))
        let real = (try? LoaderRoot.host.realPath(absolute)) ?? absolute
        return real == "/" ? "" : real
    }

    private mutating func loadRootFiles(preloadVariable: String?) {
        do { cache = try LDSoCache.load(in: root) } catch { cacheProblem = error.description }
        configuredDirectories = LDSoConf.directories(root: root, file: "/etc/ld.so.conf")
        // rtld.c: LD_PRELOAD is split at spaces and colons; /etc/ld.so.preload at whitespace and colons too.
        var names: [String] = []
        if let preloadVariable {
            names += preloadVariable.split(whereSeparator: { $0 == " " || $0 == ":" }).map(String.init)
        }
        if let bytes = root.contents(of: "/etc/ld.so.preload") {
            let text = String(decoding: bytes, as: UTF8.self)
            names += text.split(whereSeparator: { " \t\n:".contains($0) }).map(String.init)
        }
        preload = names
    }

    /// The subdirectories the loader tries under every search directory, in order, "" (the directory itself)
    /// last: `glibc-hwcaps/<level>` for each supported level, then every subset of [tls, legacy hwcaps…,
    /// platform] largest first, as `_dl_important_hwcaps` builds them (`LD_DEBUG=libs` shows the list).
    public var searchSubdirectories: [String] {
        var result = hwcapsSubdirectories.map { "glibc-hwcaps/\($0)" }
        let parts = ["tls"] + legacyHWCaps + [platform]
        let count = parts.count
        for mask in stride(from: (1 << count) - 1, through: 0, by: -1) {
            var chosen: [String] = []
            for (index, part) in parts.enumerated() where mask & (1 << (count - 1 - index)) != 0 { chosen.append(part) }
            result.append(chosen.joined(separator: "/"))
        }
        return result
    }

    /// GNU_PROPERTY_X86_ISA_1_* bits this CPU satisfies (baseline=1, v2=2, v3=4, v4=8), for cache entries.
    public var isaLevelMask: UInt64 {
        var mask: UInt64 = 1
        if hwcapsSubdirectories.contains("x86-64-v2") { mask |= 2 }
        if hwcapsSubdirectories.contains("x86-64-v3") { mask |= 4 }
        if hwcapsSubdirectories.contains("x86-64-v4") { mask |= 8 }
        return mask
    }
}

public enum LoaderEnvironmentError: Error, Hashable, Sendable, CustomStringConvertible {
    case rootNotADirectory(String)
    public var description: String {
        switch self {
        case .rootNotADirectory(let path): return "\(path): --root is not a directory"
        }
    }
}

/// What the running CPU supports, in the loader's terms.
public struct CPUCapabilities: Hashable, Sendable {
    public var hwcapsSubdirectories: [String]
    public var legacyHWCaps: [String]
    public var platform: String

    /// Read once from /proc/cpuinfo flags (the kernel's view of CPUID and OS support) and AT_PLATFORM.
    public static let host: CPUCapabilities = {
        let text = String(decoding: (try? SystemCalls.readWholeFile("/proc/cpuinfo", limit: 16 << 20)) ?? [], as: UTF8.self)
        let flagsLine = text.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let vendorLine = text.split(separator: "\n").first { $0.hasPrefix("vendor_id") } ?? ""
        return CPUCapabilities(flags: flags, platform: platformFromAuxv() ?? "x86_64",
                               isIntel: vendorLine.hasSuffix("GenuineIntel"))
    }()

    /// The ISA levels of the x86-64 psABI (dl-hwcaps-subdirs.c, sysdeps/x86/get-isa-level.h), and the legacy
    /// hwcaps and platform glibc derives on Intel CPUs only (init_cpu_features in sysdeps/x86/cpu-features.c).
    public init(flags: Set<String>, platform: String, isIntel: Bool) {
        let v2: Set<String> = ["cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"]
        let v3: Set<String> = ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"]
        let v4: Set<String> = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
        var levels: [String] = []
        if v2.isSubset(of: flags) {
            if v3.isSubset(of: flags) {
                if v4.isSubset(of: flags) { levels.append("x86-64-v4") }
                levels.append("x86-64-v3")
            }
            levels.append("x86-64-v2")
        }
        hwcapsSubdirectories = levels
        // HWCAP_X86_64 is always set on x86_64. Only on Intel does glibc add HWCAP_X86_AVX512_1 (AVX512CD
        // without AVX512ER, and BW/DQ/VL) and replace AT_PLATFORM with "xeon_phi" (AVX512CD, ER, PF) or
        // "haswell" (AVX2, FMA, BMI1, BMI2, LZCNT, MOVBE, POPCNT); an AMD CPU with AVX-512 gets neither.
        legacyHWCaps = ["x86_64"]
        var platform = platform
        if isIntel {
            var override: String?
            if flags.contains("avx512cd") {
                if flags.contains("avx512er") {
                    if flags.contains("avx512pf") { override = "xeon_phi" }
                } else if ["avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) {
                    legacyHWCaps.append("avx512_1")
                }
            }
            if override == nil, ["avx2", "fma", "bmi1", "bmi2", "abm", "movbe", "popcnt"].allSatisfy(flags.contains) {
                override = "haswell"
            }
            platform = override ?? platform
        }
        self.platform = platform
    }

    /// AT_PLATFORM from our own auxiliary vector (getauxval is not in the Glibc module): the kernel
    /// gives every process on this machine the same string, so ours is the one the loader would see.
    static func platformFromAuxv() -> String? {
        guard let data = try? SystemCalls.readWholeFile("/proc/self/auxv", limit: 1 << 16) else { return nil }
        let words = data.withUnsafeBytes { Array($0.bindMemory(to: UInt.self)) }
        var index = 0
        while index + 1 < words.count {
            // AT_PLATFORM is 15; the value points into this process's own stack.
            if words[index] == 15, let raw = UnsafePointer<CChar>(bitPattern: words[index + 1]) {
                return String(cString: raw)
            }
            if words[index] == 0 { break }
            index += 2
        }
        return nil
    }
}
