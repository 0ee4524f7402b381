// swift-tools-version:6.1
// The libFuzzer driver for every untrusted-input parser. A package of its own: it only links
// with -sanitize=fuzzer (it calls libFuzzer's driver), so the main package's `swift build` must
// never see it. Build and run with scripts/fuzz.
import PackageDescription

let package = Package(
    name: "ActionsFuzz",
    dependencies: [.package(name: "Actions", path: "..")],
    targets: [
        .executableTarget(name: "actions-fuzz", dependencies: [.product(name: "ActionsFuzzHarness", package: "Actions")]),
    ]
)
