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
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        // Swift modules, one concern each (shared/DESIGN.md).
        .target(name: "ELF", dependencies: ["CLibELF"]),
        // Container images read in place: tar, gzip, zstd, docker save and OCI layouts into a file tree.
        .target(name: "Image", dependencies: ["CZlib", "CZstd"]),
        .target(name: "Linker", dependencies: ["ELF", "Image"]),
        .target(name: "Prototypes"),
        .target(name: "Tracer", dependencies: ["CPtrace", "ELF", "Prototypes"]),
        .target(name: "Check", dependencies: ["ELF", "Linker", "Image"]),
        .target(
            name: "LinkscopeCLI",
            dependencies: [
                "ELF", "Linker", "Tracer", "Prototypes", "Check",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "linkscope", dependencies: ["LinkscopeCLI"]),

        // Tests. TestSupport builds TestBinaries/ once per run and finds the built executable.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ELFTests", dependencies: ["ELF", "TestSupport"]),
        // Each area adds its test target here when it has tests: LinkerTests, PrototypesTests, TracerTests.
        .testTarget(name: "LinkerTests", dependencies: ["Linker", "TestSupport"]),
        .testTarget(name: "PrototypesTests", dependencies: ["Prototypes", "TestSupport"]),
        .testTarget(name: "TracerTests", dependencies: ["Tracer", "Prototypes", "TestSupport"]),
        .testTarget(name: "CheckTests", dependencies: ["Check", "ELF", "Linker", "Image", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["LinkscopeCLI", "TestSupport"]),
        .testTarget(name: "ImageTests", dependencies: ["Image", "Linker", "TestSupport"]),
    ]
)
