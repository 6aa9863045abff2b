// swift-tools-version:5.9
import PackageDescription

// A downstream user of WeightKernels, as a new project would write it: one path dependency and
// one product. `make downstream` builds and runs it, so linking without Foundation (which pulls
// in libm and libstdc++ for its users) cannot regress.
let package = Package(
  name: "WeightKernelsDownstream",
  dependencies: [.package(name: "WeightKernels", path: "../..")],
  targets: [
    .executableTarget(
      name: "wk-downstream",
      dependencies: [.product(name: "WeightKernels", package: "WeightKernels")],
      path: "Sources/wk-downstream"),
  ]
)
