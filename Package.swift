// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "xoshare",
    products: [
        .executable(name: "xoshare", targets: ["xoshare"]),
        .library(name: "XOShareCore", targets: ["XOShareCore"]),
    ],
    targets: [
        // One system-library target per C library; each is imported with
        // `internal import` so no C type leaks into the public API.
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "XOShareCore",
            dependencies: ["CArchive", "CCrypto", "CSQLite"]
        ),
        // The process-wide memory setting the executable makes (a libc call Swift cannot see).
        .target(name: "CProcessMemory"),
        .executableTarget(
            name: "xoshare",
            dependencies: ["XOShareCore", "CProcessMemory"]
        ),
        // Helpers shared by the test targets: temporary folders, fixtures, running the binary.
        .target(
            name: "XOShareTestSupport",
            dependencies: ["XOShareCore"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "XOShareCoreTests",
            dependencies: ["XOShareCore", "XOShareTestSupport"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["XOShareCore", "XOShareTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
