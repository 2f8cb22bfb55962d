// swift-tools-version:6.0
// PocketSRCore: the iOS demo's platform-independent logic (tiling and stitching, pixel rules,
// the parity measure, bundle.json decoding, device-report encoding, FPS and thermal policy).
// Foundation only, so `swift test` runs on Linux against the shared vectors in validate/vectors.
import PackageDescription

let package = Package(
    name: "PocketSRCore",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [.library(name: "PocketSRCore", targets: ["PocketSRCore"])],
    targets: [
        .target(name: "PocketSRCore"),
        .testTarget(name: "PocketSRCoreTests", dependencies: ["PocketSRCore"]),
    ],
    swiftLanguageModes: [.v6]
)
