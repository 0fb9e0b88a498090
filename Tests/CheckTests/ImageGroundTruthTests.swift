import ELF
import Foundation
import Testing
@testable import Check
import TestSupport

/// Real images made by Debian's tools (TestBinaries/check/build-images.sh: mmdebstrap, umoci, skopeo),
/// checked in every format and judged by the real loader inside the root umoci flattened them into:
/// `chroot ROOT /lib64/ld-linux-x86-64.so.2 --list PROGRAM` for every dynamically linked program, with
/// the image's LD_LIBRARY_PATH for the image formats (the runtime sets it) and without it for the
/// directory and the flat tar (which carry no config). The loader refuses exactly the programs check flags.
@Suite(.serialized) struct ImageGroundTruthTests {
    struct Fixture: Sendable {
        var directory: URL
        var rootfs: String { directory.appendingPathComponent("bundle/rootfs").path }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    }

    /// Built once per test process; the minbase root is cached outside the repo (LINKSCOPE_IMAGE_CACHE,
    /// default /var/tmp/linkscope-images) and made by mmdebstrap on a fresh machine.
    static let fixture: Result<Fixture, TestSupportError> = {
        let out = TestSupport.packageRoot.appendingPathComponent(".build/testimages")
        let cache = ProcessInfo.processInfo.environment["LINKSCOPE_IMAGE_CACHE"] ?? "/var/tmp/linkscope-images"
        let script = TestSupport.packageRoot.appendingPathComponent("TestBinaries/check/build-images.sh").path
        let result = TestSupport.run(["/bin/bash", script, out.path, cache])
        guard result.status == 0 else {
            return .failure(TestSupportError("build-images.sh failed (\(result.status)):\n\(result.stderr)"))
        }
        return .success(Fixture(directory: out))
    }()

    static let imageLibraryPath = "/opt/envlib"

    /// Every dynamically linked program of the flattened root (regular files with PT_INTERP).
    static let programs: [String] = {
        guard case .success(let fixture) = fixture else { return [] }
        var result: [String] = []
        let fm = FileManager.default
        var directories = ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        for name in (try? fm.contentsOfDirectory(atPath: fixture.rootfs + "/opt")) ?? [] { directories.append("/opt/\(name)/bin") }
        for directory in directories {
            for name in ((try? fm.contentsOfDirectory(atPath: fixture.rootfs + directory)) ?? []).sorted() {
                let host = fixture.rootfs + directory + "/" + name
                guard let attributes = try? fm.attributesOfItem(atPath: host), attributes[.type] as? FileAttributeType == .typeRegular,
                      let file = try? ELFFile(path: host), (try? file.interpreter()) ?? nil != nil else { continue }
                result.append(directory + "/" + name)
            }
        }
        return result
    }()

    /// The loader's verdict on each program, with and without the image's LD_LIBRARY_PATH.
    static func refusedByLoader(withImageEnvironment: Bool) -> Set<String> {
        guard case .success(let fixture) = fixture else { return [] }
        var refused = Set<String>()
        for program in programs {
            var command = ["/usr/bin/env", "-i"]
            if withImageEnvironment { command.append("LD_LIBRARY_PATH=\(imageLibraryPath)") }
            command += ["/usr/sbin/chroot", fixture.rootfs, "/lib64/ld-linux-x86-64.so.2", "--list", program]
            if TestSupport.run(command).status != 0 { refused.insert(program) }
        }
        return refused
    }

    static let refusedInImage = refusedByLoader(withImageEnvironment: true)
    static let refusedInRoot = refusedByLoader(withImageEnvironment: false)

    func check(_ root: String, image: String? = nil, platform: String? = nil, paths: [String] = []) throws -> CheckReport {
        var options = CheckOptions(root: root, paths: paths)
        options.image = image
        options.platform = platform
        options.jobs = 2
        return try Checker(options: options).run()
    }

    func flaggedPrograms(_ report: CheckReport) -> Set<String> {
        Set(report.filesWithErrors).intersection(Self.programs)
    }

    @Test(arguments: [("oci", "fixture"), ("oci.tar", nil), ("docker.tar", nil)] as [(String, String?)])
    func imageFormatsGiveTheLoadersVerdicts(format: String, image: String?) throws {
        let fixture = try Self.fixture.get()
        #expect(Self.programs.count > 250, "the minbase root has its programs: \(Self.programs.count)")
        let truth = Self.refusedInImage
        // The layers did what build-images.sh says, by the real loader's own account.
        #expect(truth.contains("/usr/bin/apt"), "the whiteout deleted libz.so.1")
        #expect(truth.contains("/opt/keep/bin/keeper"), "the opaque layer hid libkeep.so.1")
        #expect(!truth.contains("/opt/env/bin/envapp"), "the image's LD_LIBRARY_PATH finds libenv.so.1")
        #expect(!truth.contains("/usr/bin/ls"))
        let report = try check(fixture.path(format), image: image)
        #expect(flaggedPrograms(report) == truth,
                "check flagged \(flaggedPrograms(report).subtracting(truth).sorted()) the loader ran, missed \(truth.subtracting(flaggedPrograms(report)).sorted())")
        #expect(report.entryPoint?.path == "/opt/app/bin/app")
        #expect(report.image?.platform == "linux/amd64")
        #expect(report.image?.layers == 4)
    }

    @Test(arguments: ["flat.tar", "bundle/rootfs"])
    func directoryAndFlatTarGiveTheLoadersVerdictsWithoutTheConfig(format: String) throws {
        let fixture = try Self.fixture.get()
        let truth = Self.refusedInRoot
        #expect(truth.contains("/opt/env/bin/envapp"), "without LD_LIBRARY_PATH libenv.so.1 is not found")
        let report = try check(fixture.path(format))
        #expect(flaggedPrograms(report) == truth,
                "check flagged \(flaggedPrograms(report).subtracting(truth).sorted()) the loader ran, missed \(truth.subtracting(flaggedPrograms(report)).sorted())")
        #expect(report.entryPoint == nil)
    }

    @Test func theReportNamesTheImage() throws {
        let fixture = try Self.fixture.get()
        // Only /opt: the whole image was judged above; here the report is what is looked at.
        let docker = try check(fixture.path("docker.tar"), paths: ["/opt"])
        #expect(docker.image?.format == "docker-archive")
        #expect(docker.image?.reference == "docker.io/library/fixture:latest")
        // docker's image ID is its config's digest, which skopeo names the config file by.
        let members = TestSupport.run(["/usr/bin/tar", "-tf", fixture.path("docker.tar")]).stdout.split(separator: "\n")
        #expect(docker.image?.digest.map { members.contains(Substring($0.dropFirst("sha256:".count) + ".json")) } == true,
                "\(String(describing: docker.image?.digest)) names no config in \(members)")
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture.path("oci/index.json")))) as? [String: Any]
        let digests = ((manifest?["manifests"] as? [[String: Any]]) ?? []).compactMap { $0["digest"] as? String }
        let oci = try check(fixture.path("oci"), image: "fixture")
        #expect(oci.image?.format == "oci-layout")
        #expect(oci.image?.reference == "fixture")
        #expect(oci.image.flatMap(\.digest).map(digests.contains) == true, "\(String(describing: oci.image)) not in \(digests)")
        let json = oci.renderJSON()
        #expect(json.contains("\"digest\" : \"\(oci.image?.digest ?? "?")\""))
        #expect(json.contains("\"platform\" : \"linux/amd64\""))
        #expect(oci.renderText().contains("entry point: app (/opt/app/bin/app): refused, 1 problem"))
        // The other tag's entry point is not in the image.
        let other = try check(fixture.path("oci"), image: "other")
        #expect(other.problems.contains { $0.kind == .entryPointMissing && $0.subject == "/usr/bin/nothing-here" })
        #expect(other.renderText().contains("entry point: /usr/bin/nothing-here: not in the image\n  entrypoint-not-found: entry point /usr/bin/nothing-here: no such file in the image\n"))
        // Narrowed to PATHs, the entry point is named but not part of the verdict.
        let narrowed = try check(fixture.path("oci"), image: "other", paths: ["/usr/bin/ls"])
        #expect(narrowed.problems.isEmpty)
        #expect(narrowed.renderText().contains("entry point: /usr/bin/nothing-here: not checked (PATHs or --add name the files to check)\n"))
        #expect(throws: CheckError.self, "two images, no --image") { try check(fixture.path("oci")) }
    }

    @Test func aNestedIndexPicksThePlatform() throws {
        let fixture = try Self.fixture.get()
        let multi = fixture.path("multi")
        #expect(try check(multi, paths: ["/opt"]).image?.platform == "linux/amd64")
        #expect(try check(multi, platform: "linux/arm64", paths: ["/opt"]).image?.platform == "linux/arm64")
        do {
            _ = try check(multi, platform: "linux/s390x")
            Issue.record("linux/s390x is not in the index")
        } catch {
            #expect("\(error)" == "image \(multi): no image for platform linux/s390x (the layout has linux/amd64, linux/arm64)")
        }
    }
}
