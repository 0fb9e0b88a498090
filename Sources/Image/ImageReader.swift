import Glibc
import JSON

/// How the image was given, detected by content.
public enum ImageFormat: String, Sendable, Codable {
    /// A tar of a root file system (`docker export`, `tar -C root -c .`), possibly compressed.
    case rootArchive = "root-tar"
    /// `docker save` / `podman save` / `skopeo copy docker-archive:`: manifest.json and layer tars.
    case dockerArchive = "docker-archive"
    /// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).
    case ociLayout = "oci-layout"
    /// The same layout as a tar (`skopeo copy oci-archive:`, docker save of Docker 25+ when read as OCI).
    case ociArchive = "oci-archive"
}

/// The part of an image's config a check uses (OCI image-spec config.md / Docker's image JSON).
public struct ImageConfig: Hashable, Sendable {
    public var environment: [String] = []
    public var entrypoint: [String] = []
    public var command: [String] = []
    public var workingDirectory: String = ""
    public var os: String?
    public var architecture: String?
    public var variant: String?

    public init() {}

    /// `NAME=value` of the image's Env (the last one wins, as the runtime's environment would).
    public func value(of name: String) -> String? {
        environment.last { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    public var platform: String? {
        guard let os, let architecture else { return nil }
        return [os, architecture, variant].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
    }
}

/// An image opened for checking: its flattened file tree and what describes it.
public struct OpenedImage: Sendable {
    public var tree: FileTree
    public var format: ImageFormat
    /// `NAME:TAG` (docker RepoTags, OCI `org.opencontainers.image.ref.name`), when the archive names it.
    public var reference: String?
    /// The manifest digest (OCI) or the image ID, the config's digest (docker archives).
    public var digest: String?
    public var platform: String?
    public var config: ImageConfig?
    public var layerCount: Int
    /// Members that could not be applied, and why.
    public var skipped: [String]
}

/// What to pick when an archive or index holds several images.
public struct ImageSelection: Sendable {
    /// `--image NAME:TAG` (or just the tag an OCI layout names it by).
    public var reference: String?
    /// `--platform OS/ARCH[/VARIANT]`; nil means linux/amd64, or the only image there is.
    public var platform: String?

    public init(reference: String? = nil, platform: String? = nil) {
        self.reference = reference
        self.platform = platform
    }
}

/// A host file put into the image before it is checked, as a Dockerfile's COPY would (`--add`).
public struct ImageAddition: Hashable, Sendable {
    public var hostPath: String
    public var inRootPath: String
    public init(hostPath: String, inRootPath: String) {
        self.hostPath = hostPath
        self.inRootPath = inRootPath
    }
}

/// Opens an image in any of the formats, reading it in place: nothing unpacked, nothing executed.
public enum ImageReader {
    /// Manifests, indexes and configs are small; anything bigger is not one.
    static let maximumJSONSize: Int64 = 16 << 20
    /// Nested indexes deeper than this are a loop or a bomb.
    static let maximumIndexDepth = 8
    static let defaultPlatform = "linux/amd64"

    /// Whether `directory` is an OCI image layout (it has an `oci-layout` file).
    public static func isLayoutDirectory(_ directory: String) -> Bool {
        var info = stat()
        return stat(directory + "/oci-layout", &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// The image at `path` (an OCI layout directory, or a file in any of the tar formats), with `additions`
    /// laid over its layers.
    public static func open(_ path: String, selecting selection: ImageSelection = ImageSelection(),
                            additions: [ImageAddition] = []) throws(ImageError) -> OpenedImage {
        let added = try additions.map { (addition) throws(ImageError) -> (String, FileTreeBuilder.Member) in
            (addition.inRootPath, try hostMember(addition.hostPath))
        }
        if isLayoutDirectory(path) {
            return try openLayout(DirectoryStore(directory: path), label: path, format: .ociLayout, selection: selection, added: added)
        }
        let file = try OpenFile(path: path)
        let whole = Blob.file(file, offset: 0, length: file.size)
        guard file.size > 0 else { throw ImageError(path, "empty file, not a tar archive") }
        let reader = TarReader(try whole.stream(name: path))
        guard let first = try reader.next() else { throw ImageError(path, "not a tar archive (no members)") }
        if isImageArchiveMember(first.path) {
            let store = try ArchiveStore(reader: reader, first: first, file: file, label: path)
            if store.blob("index.json") != nil {
                return try openLayout(store, label: path, format: .ociArchive, selection: selection, added: added)
            }
            if store.blob("manifest.json") != nil {
                return try openDockerArchive(store, label: path, selection: selection, added: added)
            }
            throw ImageError(path, "an image archive without index.json or manifest.json")
        }
        // A flat root: one pass over it, as one layer without whiteouts (a file named .wh.x is a file here).
        var builder = FileTreeBuilder()
        builder.apply(layer: try LayerReader.members(of: whole, name: path), whiteouts: false)
        builder.apply(layer: added, whiteouts: false)
        return OpenedImage(tree: builder.build(label: path), format: .rootArchive, reference: nil, digest: nil,
                           platform: nil, config: nil, layerCount: 1, skipped: builder.skipped)
    }

    /// The first member of `docker save` / OCI archives is one of these; a root file system's never is.
    static func isImageArchiveMember(_ name: String) -> Bool {
        let parts = FileTreeBuilder.components(name)
        guard let top = parts.first else { return false }
        if ["blobs", "oci-layout", "index.json", "manifest.json", "repositories"].contains(top) { return true }
        // docker save: `<64 hex>/` layer directories, `<64 hex>.json` configs; skopeo's `<64 hex>.tar` layers.
        let stem = top.hasSuffix(".json") || top.hasSuffix(".tar") ? String(top.dropLast(top.hasSuffix(".tar") ? 4 : 5)) : top
        return stem.count == 64 && stem.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    // MARK: Layers into a tree

    static func flatten(_ store: BlobStore, layers: [String], label: String,
                        added: [(name: String, member: FileTreeBuilder.Member)]) throws(ImageError) -> (FileTree, [String]) {
        var builder = FileTreeBuilder()
        for layer in layers {
            guard let blob = store.blob(layer) else { throw ImageError(label, "layer \(layer) is missing from the image") }
            builder.apply(layer: try LayerReader.members(of: blob, name: "\(label): \(layer)"), whiteouts: true)
        }
        builder.apply(layer: added, whiteouts: false)
        return (builder.build(label: label), builder.skipped)
    }

    /// A host file as an image member, read whole (it is the user's build output, named on purpose).
    static func hostMember(_ hostPath: String) throws(ImageError) -> FileTreeBuilder.Member {
        let file = try OpenFile(path: hostPath)
        let bytes = try file.bytes(at: 0, count: Int(file.size))
        return .regular(.bytes(bytes), size: Int64(bytes.count))
    }

    // MARK: JSON

    static func json(_ store: BlobStore, _ name: String, label: String) throws(ImageError) -> [String: Any] {
        guard let blob = store.blob(name) else { throw ImageError(label, "\(name) is missing") }
        let bytes = try blob.bytes(limit: maximumJSONSize, name: "\(label): \(name)")
        guard let object = JSON.parse(bytes) else {
            throw ImageError(label, "\(name) is not valid JSON")
        }
        guard let dictionary = object as? [String: Any] else { throw ImageError(label, "\(name) is not a JSON object") }
        return dictionary
    }

    static func config(_ object: [String: Any]) -> ImageConfig {
        var config = ImageConfig()
        config.os = object["os"] as? String
        config.architecture = object["architecture"] as? String
        config.variant = object["variant"] as? String
        if let inner = object["config"] as? [String: Any] {
            config.environment = inner["Env"] as? [String] ?? []
            config.entrypoint = inner["Entrypoint"] as? [String] ?? []
            config.command = inner["Cmd"] as? [String] ?? []
            config.workingDirectory = inner["WorkingDir"] as? String ?? ""
        }
        return config
    }

    /// `blobs/ALGORITHM/HEX` of a descriptor digest, refused unless it has the digest grammar (so a
    /// digest cannot name `../../etc/passwd` in a layout directory).
    static func blobPath(_ digest: String, label: String) throws(ImageError) -> String {
        let parts = digest.split(separator: ":", maxSplits: 1)
        guard parts.count == 2,
              !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLowercase || $0.isNumber || "+._-".contains($0) }),
              !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw ImageError(label, "'\(digest)' is not a digest")
        }
        return "blobs/\(parts[0])/\(parts[1])"
    }

    // MARK: docker save

    static func openDockerArchive(_ store: BlobStore, label: String, selection: ImageSelection,
                                  added: [(name: String, member: FileTreeBuilder.Member)]) throws(ImageError) -> OpenedImage {
        guard let blob = store.blob("manifest.json") else { throw ImageError(label, "manifest.json is missing") }
        let bytes = try blob.bytes(limit: maximumJSONSize, name: "\(label): manifest.json")
        guard let entries = JSON.parse(bytes) as? [[String: Any]], !entries.isEmpty else {
            throw ImageError(label, "manifest.json is not a list of images")
        }
        func tags(_ entry: [String: Any]) -> [String] { entry["RepoTags"] as? [String] ?? [] }
        var chosen: [String: Any]
        if let wanted = selection.reference {
            guard let match = entries.first(where: { tags($0).contains { referenceMatches($0, wanted) } }) else {
                throw ImageError(label, "no image matches --image \(wanted) (the archive has \(describe(entries.flatMap(tags))))")
            }
            chosen = match
        } else if entries.count == 1 {
            chosen = entries[0]
        } else {
            throw ImageError(label, "the archive holds \(entries.count) images (\(describe(entries.flatMap(tags)))); choose one with --image")
        }
        guard let configName = chosen["Config"] as? String, let layers = chosen["Layers"] as? [String] else {
            throw ImageError(label, "manifest.json entry has no Config or Layers")
        }
        let config = Self.config(try json(store, configName, label: label))
        if let wanted = selection.platform, let platform = config.platform, !platformMatches(platform, wanted) {
            throw ImageError(label, "the image is \(platform), not --platform \(wanted)")
        }
        let (tree, skipped) = try flatten(store, layers: layers, label: label, added: added)
        // The image ID is the config's digest: `<hex>.json` (legacy layout) or `blobs/sha256/<hex>`.
        let configFile = FileTreeBuilder.components(configName)
        var digest: String?
        if configFile.count == 3, configFile[0] == "blobs" {
            digest = "\(configFile[1]):\(configFile[2])"
        } else if let last = configFile.last, last.hasSuffix(".json") {
            digest = "sha256:" + last.dropLast(5)
        }
        let reference = selection.reference.flatMap { wanted in tags(chosen).first { referenceMatches($0, wanted) } } ?? tags(chosen).first
        return OpenedImage(tree: tree, format: .dockerArchive, reference: reference, digest: digest,
                           platform: config.platform, config: config, layerCount: layers.count, skipped: skipped)
    }

    // MARK: OCI layout

    struct ManifestCandidate {
        var digest: String
        var reference: String?
        var platform: String?
    }

    static let indexMediaTypes: Set<String> = [
        "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    ]

    static func openLayout(_ store: BlobStore, label: String, format: ImageFormat, selection: ImageSelection,
                           added: [(name: String, member: FileTreeBuilder.Member)]) throws(ImageError) -> OpenedImage {
        let index = try json(store, "index.json", label: label)
        var candidates: [ManifestCandidate] = []
        try collect(index, store: store, label: label, inherited: nil, depth: 0, into: &candidates)
        guard !candidates.isEmpty else { throw ImageError(label, "index.json lists no image manifest") }
        var pool = candidates
        if let wanted = selection.reference {
            pool = candidates.filter { $0.reference.map { referenceMatches($0, wanted) } ?? false }
            guard !pool.isEmpty else {
                throw ImageError(label, "no image matches --image \(wanted) (the layout has \(describe(candidates.compactMap(\.reference))))")
            }
        }
        // Platforms the index does not state come from each manifest's config.
        var configs: [String: (ImageConfig, [String])] = [:]
        func load(_ candidate: ManifestCandidate) throws(ImageError) -> (ImageConfig, [String]) {
            if let known = configs[candidate.digest] { return known }
            let manifest = try json(store, try blobPath(candidate.digest, label: label), label: label)
            guard let configDescriptor = manifest["config"] as? [String: Any], let configDigest = configDescriptor["digest"] as? String,
                  let layerDescriptors = manifest["layers"] as? [[String: Any]] else {
                throw ImageError(label, "manifest \(candidate.digest) has no config or layers")
            }
            let config = Self.config(try json(store, try blobPath(configDigest, label: label), label: label))
            var layers: [String] = []
            for layer in layerDescriptors {
                guard let digest = layer["digest"] as? String else { throw ImageError(label, "a layer of \(candidate.digest) has no digest") }
                layers.append(try blobPath(digest, label: label))
            }
            configs[candidate.digest] = (config, layers)
            return (config, layers)
        }
        var chosen: ManifestCandidate?
        let wantedPlatform = selection.platform ?? defaultPlatform
        for candidate in pool {
            var platform = candidate.platform
            if platform == nil { platform = try load(candidate).0.platform }
            if let platform, platformMatches(platform, wantedPlatform) { chosen = candidate; chosen?.platform = platform; break }
        }
        if chosen == nil {
            if selection.platform == nil, pool.count == 1 {
                chosen = pool[0]
            } else {
                var platforms: [String] = []
                for candidate in pool {
                    var platform = candidate.platform
                    if platform == nil { platform = try load(candidate).0.platform }
                    platforms.append(platform ?? "unknown")
                }
                throw ImageError(label, "no image for platform \(wantedPlatform) (the \(format == .ociLayout ? "layout" : "archive") has \(describe(platforms)))")
            }
        }
        guard let chosen else { preconditionFailure("a candidate was chosen or an error thrown") }
        if selection.reference == nil, selection.platform == nil {
            let references = Set(pool.compactMap(\.reference))
            if references.count > 1 {
                throw ImageError(label, "the \(format == .ociLayout ? "layout" : "archive") holds \(references.count) images (\(describe(Array(references)))); choose one with --image")
            }
        }
        let (config, layers) = try load(chosen)
        let (tree, skipped) = try flatten(store, layers: layers, label: label, added: added)
        return OpenedImage(tree: tree, format: format, reference: chosen.reference, digest: chosen.digest,
                           platform: config.platform ?? chosen.platform, config: config, layerCount: layers.count,
                           skipped: skipped)
    }

    /// Every image manifest an index names, nested indexes followed (their name passed down).
    static func collect(_ index: [String: Any], store: BlobStore, label: String, inherited: String?, depth: Int,
                        into result: inout [ManifestCandidate]) throws(ImageError) {
        guard depth < maximumIndexDepth else { throw ImageError(label, "indexes nested more than \(maximumIndexDepth) deep") }
        guard let manifests = index["manifests"] as? [[String: Any]] else { throw ImageError(label, "an index without manifests") }
        for descriptor in manifests {
            guard let digest = descriptor["digest"] as? String else { throw ImageError(label, "an index entry without a digest") }
            let annotations = descriptor["annotations"] as? [String: String] ?? [:]
            let reference = annotations["io.containerd.image.name"] ?? annotations["org.opencontainers.image.ref.name"] ?? inherited
            var platform: String?
            if let described = descriptor["platform"] as? [String: Any], let os = described["os"] as? String,
               let architecture = described["architecture"] as? String {
                platform = [os, architecture, described["variant"] as? String].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
            }
            let mediaType = descriptor["mediaType"] as? String ?? ""
            if indexMediaTypes.contains(mediaType) {
                let nested = try json(store, try blobPath(digest, label: label), label: label)
                try collect(nested, store: store, label: label, inherited: reference, depth: depth + 1, into: &result)
            } else if mediaType.isEmpty {
                // No media type: the content says which it is.
                let object = try json(store, try blobPath(digest, label: label), label: label)
                if object["manifests"] != nil {
                    try collect(object, store: store, label: label, inherited: reference, depth: depth + 1, into: &result)
                } else {
                    result.append(ManifestCandidate(digest: digest, reference: reference, platform: platform))
                }
            } else if mediaType.contains("manifest") {
                // Attestation manifests (buildx's `unknown/unknown`) are manifests too; the platform filter drops them.
                result.append(ManifestCandidate(digest: digest, reference: reference, platform: platform))
            }
        }
    }

    /// `--image` against a name the archive gives: exact, or the tag alone (`oci:dir:TAG` names it so),
    /// or the name without Docker Hub's implicit prefixes.
    static func referenceMatches(_ given: String, _ wanted: String) -> Bool {
        if given == wanted { return true }
        func trimmed(_ name: String) -> String {
            var name = name
            for prefix in ["docker.io/library/", "docker.io/", "localhost/"] where name.hasPrefix(prefix) {
                name = String(name.dropFirst(prefix.count))
                break
            }
            return name.contains(":") || name.contains("@") ? name : name + ":latest"
        }
        if !given.contains("/"), !given.contains(":"), wanted.split(separator: ":").last.map(String.init) == given,
           wanted.contains(":") { return true }
        return trimmed(given) == trimmed(wanted)
    }

    /// `linux/amd64` matches `linux/amd64` and `linux/amd64/v1`-style variants when none is asked for.
    static func platformMatches(_ platform: String, _ wanted: String) -> Bool {
        let have = platform.split(separator: "/")
        let want = wanted.split(separator: "/")
        guard have.count >= 2, want.count >= 2, have[0] == want[0], have[1] == want[1] else { return false }
        return want.count < 3 || (have.count >= 3 && have[2] == want[2])
    }

    static func describe(_ names: [String]) -> String {
        if names.isEmpty { return "no named images" }
        return names.sorted().joined(separator: ", ")
    }
}

/// Where the files of an image layout or archive are: by their path inside it.
protocol BlobStore {
    func blob(_ path: String) -> Blob?
}

/// An OCI layout directory on disk: each blob is a file of it, opened when asked for. Paths are the
/// store's own (`index.json`, `blobs/sha256/HEX` checked by `blobPath`), and a blob that is a symlink
/// leading out of the directory is not there: nothing outside the layout is read.
struct DirectoryStore: BlobStore {
    let directory: String
    private let realDirectory: String

    init(directory: String) {
        self.directory = directory
        realDirectory = Self.realPath(directory) ?? directory
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    func blob(_ path: String) -> Blob? {
        let parts = FileTreeBuilder.components(path)
        let candidate = directory + "/" + parts.joined(separator: "/")
        guard !parts.isEmpty, let real = Self.realPath(candidate), real.hasPrefix(realDirectory + "/"),
              let file = try? OpenFile(path: real) else { return nil }
        return .file(file, offset: 0, length: file.size)
    }
}

/// The members of an image archive (docker save, OCI tar): in place when the archive is an uncompressed
/// file (the usual case), in memory when it is compressed (`docker save | gzip`), since layers must then
/// be read in manifest order, not archive order.
struct ArchiveStore: BlobStore {
    private var members: [String: Blob] = [:]
    private var links: [String: String] = [:]

    init(reader: TarReader, first: TarEntry, file: OpenFile, label: String) throws(ImageError) {
        var entry: TarEntry? = first
        while let current = entry {
            let name = FileTreeBuilder.components(current.path).joined(separator: "/")
            switch current.kind {
            case .regular:
                if let offset = reader.bodyFileOffset, reader.source is FileRangeSource {
                    members[name] = .file(file, offset: offset, length: current.size)
                } else {
                    members[name] = .memory(try reader.readBody())
                }
            case .symlink(let target):
                // Legacy docker save links a repeated layer to the first copy (`../<id>/layer.tar`).
                let base = FileTreeBuilder.components(current.path).dropLast().joined(separator: "/")
                links[name] = FileTreeBuilder.components(target.hasPrefix("/") ? target : base + "/" + target).joined(separator: "/")
            case .hardLink(let target):
                links[name] = FileTreeBuilder.components(target).joined(separator: "/")
            default:
                break
            }
            entry = try reader.next()
        }
    }

    func blob(_ path: String) -> Blob? {
        var name = FileTreeBuilder.components(path).joined(separator: "/")
        for _ in 0..<FileTreeBuilder.maximumSymlinks {
            if let member = members[name] { return member }
            guard let next = links[name] else { return nil }
            name = next
        }
        return nil
    }
}
