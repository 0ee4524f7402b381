// swift-tools-version:6.1
// libFuzzer drivers for every untrusted-input parser. A package of its own: a fuzzer executable
// has no main (libFuzzer brings one) and only links with -sanitize=fuzzer, so the main package's
// `swift build` must never see it. Build and run with scripts/fuzz.
import PackageDescription

let package = Package(
    name: "ActionsFuzz",
    dependencies: [.package(name: "Actions", path: "..")],
    targets: [
        .executableTarget(name: "actions-fuzz", dependencies: [.product(name: "ActionsFuzzHarness", package: "Actions")]),
    ]
)
