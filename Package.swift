// swift-tools-version:6.1
import PackageDescription

// Module dependencies run one way:
//   ActionsProtocol (pure) <- ActionsDomain (events, rules, lockouts as values; no I/O)
//   ActionsDomain <- ActionsStore (SQLite or PostgreSQL)
//   ActionsDomain <- ActionsPolicy (rules, rate windows, replay; reads the log through `DecisionLog`)
//   ActionsStore + ActionsPolicy <- ActionsEngine (server logic) <- executables
//   ActionsPolicy <- ActionsTop (dashboard) <- actions-top
//   ActionsEngine <- ActionsDemo (example endpoint, demo traffic, demo setup) <- actions-server, actions-top
//   ActionsTop + ActionsDemo <- actions-top (its --demo runs the dashboard over them), so that
//   actions-server links nothing of the dashboard (no ncurses: `ldd`, checked by InstallTests)
let package = Package(
    name: "Actions",
    // Linux only: the store, the dashboard and the tests call Glibc directly (open, poll,
    // /proc), and Mutex needs a newer macOS than this package ever claimed.
    products: [
        .library(name: "ActionsFuzzHarness", targets: ["ActionsFuzzHarness"]),
        .executable(name: "actions-server", targets: ["actions-server"]),
        .executable(name: "actions-top", targets: ["actions-top"]),
        .executable(name: "actionsctl", targets: ["actionsctl"]),
        .executable(name: "actions-bench", targets: ["actions-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        // Spans over OTLP/HTTP only: the gRPC exporter would bring grpc-swift and minutes of build.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses"),
        // sqlite3_config, which Swift cannot call (it is variadic).
        .systemLibrary(name: "CSQLiteConfig", path: "Sources/CSQLiteConfig"),
        // libidn2: IDNA2008 with UTS #46 processing, for the one spelling of every domain.
        .systemLibrary(name: "CIDN2", path: "Sources/CIDN2", pkgConfig: "libidn2",
                       providers: [.apt(["libidn2-dev"])]),
        .target(
            name: "ActionsProtocol",
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), "CIDN2"]
        ),
        // The domain: events, rules, lockouts, settings and addresses, as values; no I/O, no driver.
        .target(name: "ActionsDomain", dependencies: ["ActionsProtocol"]),
        .target(
            name: "ActionsStore",
            dependencies: [
                "ActionsProtocol", "ActionsDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The raw SQLite API, for binding event rows without GRDB's per-value boxing.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                "CSQLiteConfig",
                // NIOThreadPool: blocking store work runs there, off Swift's cooperative pool.
                .product(name: "NIOPosix", package: "swift-nio"),
                // The event writer is a Service.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The cluster's shared store.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Local policy with no I/O of its own: compiled rules, precedence, rate windows, replay.
        .target(name: "ActionsPolicy", dependencies: ["ActionsProtocol", "ActionsDomain"]),
        .target(
            name: "ActionsEngine",
            dependencies: [
                "ActionsProtocol", "ActionsDomain", "ActionsStore", "ActionsPolicy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                // HTTPRequestPart, for the request read timeout's channel handler.
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                // Decision spans, for whichever tracer the server is given.
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            // The OpenAPI document, compiled into the binary (no bundle to install beside it).
            resources: [.embedInCode("HTTP/openapi.json")]
        ),
        .target(
            name: "ActionsTop",
            dependencies: ["ActionsProtocol", "ActionsDomain", "ActionsStore", "ActionsPolicy", "CNcurses"]
        ),
        // What only the demo, the tests and the benchmark run: ActionsEngine holds what production runs.
        .target(
            name: "ActionsDemo",
            dependencies: [
                "ActionsProtocol", "ActionsDomain", "ActionsStore", "ActionsEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "actions-server",
            dependencies: [
                "ActionsEngine", "ActionsDomain", "ActionsStore", "ActionsDemo",
                // The OTLP span exporter, when OTEL_EXPORTER_OTLP_ENDPOINT is set.
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "actions-top",
            dependencies: [
                "ActionsTop", "ActionsDemo", "ActionsDomain", "ActionsStore", "ActionsEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "actionsctl",
            dependencies: [
                "ActionsProtocol", "ActionsDomain", "ActionsStore", "ActionsPolicy",
                // `actionsctl test` sends its synthetic context through the running server.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "actions-bench",
            dependencies: [
                "ActionsProtocol", "ActionsDomain", "ActionsStore", "ActionsPolicy", "ActionsEngine", "ActionsTop", "ActionsDemo",
                // TestPostgres.command: runs scripts/pg-cluster as the failover test does.
                "ActionsTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/actions-bench"
        ),
        // Every untrusted-input parser behind one entry point each: driven by libFuzzer from the
        // separate Fuzz/ package (scripts/fuzz), replayed over the kept corpus by FuzzRegressionTests.
        .target(name: "ActionsFuzzHarness", dependencies: ["ActionsProtocol", "ActionsDomain", "ActionsStore", "ActionsEngine", "ActionsTop"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["ActionsFuzzHarness"]),
        .testTarget(name: "ActionsProtocolTests", dependencies: ["ActionsProtocol", "ActionsTestSupport"]),
        // Test helpers both store and end-to-end tests use: the two backends, the PostgreSQL cluster.
        .target(name: "ActionsTestSupport", path: "Tests/ActionsTestSupport"),
        .testTarget(name: "ActionsStoreTests", dependencies: ["ActionsDomain", "ActionsStore", "ActionsTestSupport"]),
        .testTarget(name: "ActionsPolicyTests", dependencies: ["ActionsPolicy", "ActionsDomain"]),
        .testTarget(
            name: "ActionsEngineTests",
            dependencies: [
                "ActionsEngine", "ActionsDemo", "ActionsTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "ActionsTopTests",
            dependencies: ["ActionsTop", "ActionsPolicy", "ActionsDomain", "ActionsStore", "ActionsTestSupport"],
            exclude: ["__Snapshots__"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["ActionsProtocol", "ActionsDomain", "ActionsStore", "ActionsTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ]
)
