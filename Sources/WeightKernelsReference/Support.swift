import WeightKernels

// Internal helpers shared by the reference ops: element access that copies bits exactly,
// row-major index arithmetic, and the operand checks several ops share.

/// Element fields of any dtype as `Int`: the element's bits (floats as their bit pattern,
/// unsigned types zero-extended, signed types sign-extended). Packing them back gives the
/// same bytes, so gathers and scatters built on these copy values bit for bit (NaN payloads, −0).
enum Elements {
  static func fields(_ tensor: Tensor) -> [Int] {
    BitPacking.unpack(tensor.bytes, dtype: tensor.dtype, count: tensor.count)
  }

  static func tensor(_ fields: [Int], dtype: DType, shape: [Int]) throws -> Tensor {
    try Tensor(dtype: dtype, shape: shape, bytes: BitPacking.pack(fields, dtype: dtype))
  }

  /// The exact value of a float or integer element field, as used in arithmetic.
  static func value(_ field: Int, dtype: DType) -> Float {
    switch dtype {
    case .fp16: return Reference.floatOfF16(UInt16(truncatingIfNeeded: field))
    case .fp32: return Float(bitPattern: UInt32(truncatingIfNeeded: field))
    default: return Float(field)  // integers used here have at most 8 bits: exact
    }
  }
}

/// Row-major (last axis fastest) index arithmetic.
enum RowMajor {
  static func strides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var step = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
      strides[axis] = step
      step *= shape[axis]
    }
    return strides
  }

  /// Calls `body(linear, coordinates)` for every element of `shape` in row-major order
  /// (an odometer: the last coordinate turns fastest).
  static func forEach(_ shape: [Int], _ body: (Int, [Int]) -> Void) {
    let count = shape.reduce(1, *)
    var coordinates = [Int](repeating: 0, count: shape.count)
    for linear in 0..<count {
      body(linear, coordinates)
      var axis = shape.count - 1
      while axis >= 0 {
        coordinates[axis] += 1
        if coordinates[axis] < shape[axis] { break }
        coordinates[axis] = 0
        axis -= 1
      }
    }
  }

  static func linear(_ coordinates: [Int], strides: [Int]) -> Int {
    zip(coordinates, strides).reduce(0) { $0 + $1.0 * $1.1 }
  }

  /// Linear index in the parameter grid `grid` of the block holding `coordinates` of a tensor
  /// of `shape` (FORMATS.md §0: block index `i // (shape[d] / grid[d])` on every axis).
  /// - Precondition: `shape[d] % grid[d] == 0` and `grid[d] ≥ 1` on every axis.
  static func blockIndex(_ coordinates: [Int], shape: [Int], grid: [Int]) -> Int {
    var index = 0
    for axis in 0..<shape.count {
      let blockSize = shape[axis] / grid[axis]
      index = index * grid[axis] + coordinates[axis] / blockSize
    }
    return index
  }
}

extension Reference {
  /// Value types of LUT entries (both LUT ops).
  static let lutValueTypes: [DType] = [.fp16, .fp32, .int8, .uint8]
  /// Index types of iOS18 LUT ops (`IndicesT`).
  static let indexTypes: [DType] = [.uint1, .uint2, .uint3, .uint4, .uint6, .uint8]
  /// Quantized data / offset types of the shift-scale ops (`SrcT`, `OffsetT`).
  static let shiftScaleDataTypes: [DType] = [.int4, .uint4, .int8, .uint8, .fp16, .fp32]
  /// Scale (= output) types of the dequantizing ops (`DstT`).
  static let scaleTypes: [DType] = [.fp16, .fp32]

  /// Throws `.invalidDType` unless `tensor.dtype` is one of `allowed`.
  static func requireDType(_ tensor: Tensor, _ name: String, _ allowed: [DType]) throws {
    guard allowed.contains(tensor.dtype) else {
      throw WeightKernelsError.invalidDType(
        "\(name): dtype \(tensor.dtype) is not one of \(allowed.map(\.description).joined(separator: ", "))")
    }
  }

  /// Throws `.invalidShape` unless `tensor` has rank `rank`.
  static func requireRank(_ tensor: Tensor, _ name: String, _ rank: Int) throws {
    guard tensor.rank == rank else {
      throw WeightKernelsError.invalidShape("\(name): needs rank \(rank), got shape \(tensor.shape)")
    }
  }

  /// Number of ones among the elements of a uint1 mask (padding bits of the last byte ignored).
  static func onesCount(_ mask: Tensor) -> Int {
    Elements.fields(mask).reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
  }

  /// iOS18 sparse operand checks (`constexpr_sparse_to_dense._validate_sparse_inputs`):
  /// the value list is rank 1 and has one value per one of the mask.
  static func validateSparse(values: Tensor, valuesName: String, mask: Tensor, maskName: String) throws {
    try requireRank(values, valuesName, 1)
    let ones = onesCount(mask)
    guard ones == values.shape[0] else {
      throw WeightKernelsError.invalidShape(
        "\(maskName): \(ones) ones but \(valuesName) holds \(values.shape[0]) values")
    }
  }
}
