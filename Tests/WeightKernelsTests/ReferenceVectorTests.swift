import CoreMLVectors
import Foundation
import Testing
import WeightKernels
import WeightKernelsReference

/// The reference must reproduce every coremltools vector bit for bit and reject every invalid
/// case (FORMATS.md §12).
@Suite("coremltools vectors on the reference")
struct ReferenceVectorTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/coremltools").path

  static func runner() throws -> VectorRunner {
    var runner = try VectorRunner(directory: fixtures)
    runner.verifyBlobStorage = true
    return runner
  }

  @Test("every case passes on the reference")
  func everyCasePasses() throws {
    let runner = try Self.runner()
    let report = runner.run(ReferenceExecutor())
    for (name, outcome) in report.results where outcome != .passed {
      Issue.record("\(name): \(outcome)")
    }
    print("coremltools vectors on the reference: \(report.summaryLine)")
    #expect(report.results.count == runner.manifest.cases.count)
    #expect(report.failed == 0)
    #expect(report.skipped == 0)
    #expect(report.passed == runner.manifest.cases.count)
  }

  /// The error kind the reference raises for each invalid case of the public set, following the
  /// library's convention (dtype → invalidDType; rank, extents, counts → invalidShape; scalar
  /// arguments and iOS16 mask padding → invalidArgument).
  static let expectedKinds: [String: WeightKernelsError.Kind] = [
    "bad_sparse18_popcount": .invalidShape,
    "bad_sparse18_nonzero_rank2": .invalidShape,
    "bad_sparse16_popcount": .invalidShape,
    "bad_sparse16_mask_size": .invalidShape,
    "bad_sparse16_padding_bits_set": .invalidArgument,
    "bad_lut16_3bit": .invalidShape,
    "bad_lut16_5bit": .invalidShape,
    "bad_lut16_size3": .invalidShape,
    "bad_lut16_indices_len": .invalidShape,
    "bad_lut18_5bit": .invalidShape,
    "bad_lut18_not_pow2": .invalidShape,
    "bad_lut18_dtype_mismatch": .invalidShape,
    "bad_lut18_rank": .invalidShape,
    "bad_lut18_group_not_divisible": .invalidShape,
    "bad_lut18_vector_axis_missing": .invalidArgument,
    "bad_lut18_vector_axis_range": .invalidArgument,
    "bad_lut18_lut_dtype_int32": .invalidDType,
    "bad_bss18_block_not_divisible": .invalidShape,
    "bad_bss18_offset_shape": .invalidShape,
    "bad_bss18_offset_dtype": .invalidDType,
    "bad_bss18_rank": .invalidShape,
    "bad_bss18_scale_dtype": .invalidDType,
    "bad_affine16_scale_len": .invalidShape,
    "bad_affine16_axis": .invalidArgument,
    "bad_affine16_scale_rank2": .invalidShape,
    "bad_affine16_zp_len": .invalidShape,
    "bad_cast16_output_fp16": .invalidArgument,
    "bad_lut2sparse18_popcount": .invalidShape,
    "bad_sparsebss18_block": .invalidShape,
  ]

  @Test("invalid cases are rejected with the conventional error kind")
  func invalidCasesRaiseTheRightKind() throws {
    let runner = try Self.runner()
    let invalid = runner.manifest.cases.filter(\.expectedError)
    #expect(!invalid.isEmpty)
    for testCase in invalid {
      do {
        _ = try runner.execute(testCase, with: ReferenceExecutor())
        Issue.record("\(testCase.name): accepted")
      } catch let error as WeightKernelsError {
        if let kind = Self.expectedKinds[testCase.name] {
          #expect(error.kind == kind, "\(testCase.name): \(error)")
        }
      } catch {
        Issue.record("\(testCase.name): unexpected \(error)")
      }
    }
  }

  @Test("filtering runs a subset; an executor without ops skips")
  func filteringAndSkipping() throws {
    let runner = try Self.runner()
    let lutOnly = runner.run(ReferenceExecutor()) { $0.tags?.contains("lut") ?? false }
    #expect(lutOnly.results.count > 0)
    #expect(lutOnly.results.count < runner.manifest.cases.count)
    #expect(lutOnly.failed == 0 && lutOnly.skipped == 0)

    struct CastOnly: CoreMLOpExecutor {
      func cast(_ source: Tensor, to outputType: DType) throws -> Tensor {
        try Reference.cast(source, to: outputType)
      }
    }
    let report = runner.run(CastOnly())
    let casts = runner.manifest.cases.filter { $0.steps.allSatisfy { $0.op == "constexpr_cast" } }
    #expect(report.passed == casts.count)
    #expect(report.failed == 0)
    #expect(report.skipped == runner.manifest.cases.count - casts.count)
    #expect(report.summaryLine == "\(casts.count) passed, 0 failed, \(report.skipped) skipped")
  }

  @Test("a wrong executor fails with the first differing element")
  func wrongExecutorFailsPrecisely() throws {
    let runner = try Self.runner()
    /// Flips the low bit of the first fp16 value of every cast.
    struct OffByOneULP: CoreMLOpExecutor {
      func cast(_ source: Tensor, to outputType: DType) throws -> Tensor {
        var bits = try Reference.cast(source, to: outputType).fp32Bits()
        bits[0] ^= 1
        return try Tensor(fp32Bits: bits, shape: source.shape)
      }
    }
    let report = runner.run(OffByOneULP()) { $0.name == "cast16_fp16_to_fp32" }
    #expect(report.results.count == 1)
    guard case .failed(let message)? = report.results.first?.outcome else {
      Issue.record("expected a failure, got \(report.summaryLine)")
      return
    }
    #expect(message.contains("cast16_fp16_to_fp32"))
    #expect(message.contains("tensor output"))
    #expect(message.contains("element 0"))

    /// Accepts everything: invalid cases must fail.
    struct Lenient: CoreMLOpExecutor {
      func cast(_ source: Tensor, to outputType: DType) throws -> Tensor {
        try Reference.cast(source, to: .fp32)
      }
    }
    let lenient = runner.run(Lenient()) { $0.name == "bad_cast16_output_fp16" }
    #expect(lenient.failed == 1)
  }
}
