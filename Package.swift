// swift-tools-version:5.9
import PackageDescription

// SwiftPM builds C++ at -O0 in debug, which makes Highway code ~100x slower; the later -O2 wins.
// unsafeFlags are refused when this package is a dependency (checked out under .../checkouts/),
// so they are only added when it is the root package.
let isRootPackage = !Context.packageDirectory.contains("/checkouts/")
let optimizedDebugCXX: [CXXSetting] =
  isRootPackage ? [.unsafeFlags(["-O2"], .when(configuration: .debug))] : []
let optimizedDebugC: [CSetting] =
  isRootPackage ? [.unsafeFlags(["-O2"], .when(configuration: .debug))] : []

let package = Package(
  name: "WeightKernels",
  products: [
    .library(name: "WeightKernels", targets: ["WeightKernels"]),
    .library(name: "WeightKernelsReference", targets: ["WeightKernelsReference"]),
    .executable(name: "kernel-bench", targets: ["kernel-bench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
  ],
  targets: [
    // MARK: Public API

    /// Safe Swift API: validating value types over the C ABI.
    .target(
      name: "WeightKernels",
      dependencies: ["CKernels"],
      path: "Sources/WeightKernels",
      // The encoders round through libm (roundf, floor, ...). Foundation links it for the
      // package's own targets; a user importing only WeightKernels must get it from here.
      linkerSettings: [.linkedLibrary("m")]),

    /// Plain scalar Swift reference: the executable specification every kernel must match bit for bit.
    .target(
      name: "WeightKernelsReference",
      dependencies: ["WeightKernels"],
      path: "Sources/WeightKernelsReference"),

    /// kernel-bench: benchmarks and `verify` over coremltools vector manifests.
    .executableTarget(
      name: "kernel-bench",
      dependencies: [
        "WeightKernels", "CoreMLVectors", "StreamRead",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Bench/kernel-bench"),

    /// kernel-bench's streaming-read roofline, in C so that it compiles to plain vector loads.
    .target(
      name: "StreamRead",
      path: "Bench/StreamRead",
      cSettings: optimizedDebugC),

    // MARK: Implementation details

    /// C++17 kernels on Highway with runtime dispatch, behind one C header (include/weightkernels.h).
    .target(
      name: "CKernels",
      path: "CKernels",
      cxxSettings: [
        .headerSearchPath("."),
        .define("HWY_SHARED_DEFINE"),
        .define("HWY_WANT_AVX3_DL"),
      ] + optimizedDebugCXX,
      // libm: the kernels call fmaf and nearbyintf (exact FMA and rounding on every target).
      linkerSettings: [.linkedLibrary("hwy"), .linkedLibrary("stdc++"), .linkedLibrary("m")]),

    /// Reader for coremltools vector manifests; runs their op chains on the library or the reference.
    .target(
      name: "CoreMLVectors",
      dependencies: ["WeightKernels", "WeightKernelsReference"],
      path: "Sources/CoreMLVectors"),

    .testTarget(
      name: "WeightKernelsTests",
      dependencies: [
        "WeightKernels", "WeightKernelsReference", "CoreMLVectors",
        .product(name: "PropertyBased", package: "swift-property-based"),
      ],
      path: "Tests/WeightKernelsTests",
      exclude: ["Fixtures"]),
  ],
  cxxLanguageStandard: .cxx17
)
