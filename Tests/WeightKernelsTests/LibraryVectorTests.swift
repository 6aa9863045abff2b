import CoreMLVectors
import Foundation
import Testing
import WeightKernels

/// Every coremltools vector case whose ops the library implements passes on every target the
/// CPU supports; invalid cases are rejected.
@Suite("coremltools vectors on the library")
struct LibraryVectorTests {
  @Test("every implemented case passes", arguments: SIMDTarget.compiled)
  func everyImplementedCasePasses(target: SIMDTarget) throws {
    guard target.isSupported else { try Test.cancel("\(target) is not supported by this CPU") }
    let runner = try VectorRunner(directory: ReferenceVectorTests.fixtures)
    let report = runner.run(LibraryExecutor(target: target))
    for (name, outcome) in report.results {
      if case .failed(let why) = outcome { Issue.record("\(target) \(name): \(why)") }
    }
    print("coremltools vectors on \(target): \(report.summaryLine)")
    #expect(report.failed == 0)
  }
}
