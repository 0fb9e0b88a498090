// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "linkscope",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "linkscope", targets: ["linkscope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C: only what Swift cannot import (see each header's comment).
        .systemLibrary(
            name: "CLibELF",
            pkgConfig: "libelf",
            providers: [.apt(["libelf-dev"])]
        ),
        .target(name: "CPtrace"),
        // What the self-contained release binary needs from C: argv without /proc, stand-ins for glibc >= 2.35.
        .target(name: "CCompat"),
        // The in-process agent's shared-memory protocol (the agent itself is C built by Agent/build.sh).
        .target(name: "CAgent"),
        .plugin(name: "AgentImage", capability: .buildTool()),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        // Swift modules, one concern each (shared/DESIGN.md).
        .target(name: "ELF", dependencies: ["CLibELF"]),
        // JSON values read and written without the full Foundation (which brings ICU into the binary).
        .target(name: "JSON"),
        // Container images read in place: tar, gzip, zstd, docker save and OCI layouts into a file tree.
        .target(name: "Image", dependencies: ["CZlib", "CZstd", "JSON"]),
        .target(name: "Linker", dependencies: ["ELF", "Image"]),
        .target(name: "Prototypes"),
        .target(name: "TraceModel", dependencies: ["Prototypes"]),
        .target(name: "Tracer", dependencies: ["CPtrace", "ELF", "Prototypes", "TraceModel"]),
        .target(name: "InProcess", dependencies: ["CAgent", "ELF", "Prototypes", "TraceModel", "Tracer"],
                plugins: ["AgentImage"]),
        .target(name: "Check", dependencies: ["ELF", "Linker", "Image", "JSON"]),
        .target(
            name: "LinkscopeCLI",
            dependencies: [
                "ELF", "Image", "Linker", "TraceModel", "Tracer", "InProcess", "Prototypes", "Check", "CCompat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "linkscope", dependencies: ["LinkscopeCLI"]),

        // Tests. TestSupport builds TestBinaries/ once per run and finds the built executable.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ELFTests", dependencies: ["ELF", "TestSupport"]),
        .testTarget(name: "LinkerTests", dependencies: ["Linker", "TestSupport"]),
        .testTarget(name: "PrototypesTests", dependencies: ["Prototypes", "TestSupport"]),
        .testTarget(name: "TraceModelTests", dependencies: ["TraceModel", "Prototypes", "TestSupport"]),
        .testTarget(name: "TracerTests", dependencies: ["Tracer", "TraceModel", "Prototypes", "ELF", "TestSupport"]),
        .testTarget(name: "InProcessTests", dependencies: ["InProcess"]),
        .testTarget(name: "CheckTests", dependencies: ["Check", "ELF", "Linker", "Image", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["LinkscopeCLI", "TraceModel", "TestSupport"]),
        .testTarget(name: "ImageTests", dependencies: ["Image", "JSON", "Linker", "TestSupport"]),
    ]
)
