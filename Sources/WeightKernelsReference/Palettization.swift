import WeightKernels

// Palettization (lookup tables): FORMATS.md §3 (iOS16), §7.1 (iOS18), §7.4 (lut_to_sparse).
// LUT values are copied bit for bit, never converted.

extension Reference {
  /// iOS16 `constexpr_lut_to_dense` (FORMATS.md §3): `out[i] = lut[idx[i]]`, where `idx` are the
  /// first N = prod(shape) nbits-wide fields of the packed `indices` stream, nbits = log2(P).
  ///
  /// - Parameters:
  ///   - indices: uint8 `[M]`, the packed index bit stream (§2.1); padding bits are not checked.
  ///   - lut: fp16, fp32, int8 or uint8 `[P]`, P ∈ {2, 4, 16, 64, 256}.
  ///   - shape: uint32 `[K]`, the output shape.
  /// - Returns: a tensor of the LUT's dtype and shape `shape`.
  /// - Throws: `.invalidDType` for operand dtypes; `.invalidShape` for ranks, P, or
  ///   M ≠ ceil(nbits·N/8).
  public static func lutToDenseIOS16(indices: Tensor, lut: Tensor, shape: Tensor) throws -> Tensor {
    try requireDType(indices, "indices", [.uint8])
    try requireDType(lut, "lut", lutValueTypes)
    try requireDType(shape, "shape", [.uint32])
    try requireRank(indices, "indices", 1)
    try requireRank(lut, "lut", 1)
    try requireRank(shape, "shape", 1)

    let entries = lut.shape[0]
    guard [2, 4, 16, 64, 256].contains(entries) else {
      throw WeightKernelsError.invalidShape(
        "lut: \(entries) entries, iOS16 needs one of 2, 4, 16, 64, 256")
    }
    let nbits = entries.trailingZeroBitCount
    let outputShape = shape.integers()
    let count = try Tensor.elementCount(outputShape, name: "shape")
    let neededBytes = (nbits * count + 7) / 8
    guard indices.shape[0] == neededBytes else {
      throw WeightKernelsError.invalidShape(
        "indices: \(indices.shape[0]) bytes, \(nbits)-bit × \(count) elements needs \(neededBytes)")
    }

    // The packed bytes are exactly a uint{nbits} tensor of N elements (§3).
    let indexType = DType.indexType(bits: nbits)!
    let table = Elements.fields(lut)
    var output = [Int]()
    output.reserveCapacity(count)
    for i in 0..<count {
      output.append(table[BitPacking.element(indices.bytes, dtype: indexType, index: i)])
    }
    return try Elements.tensor(output, dtype: lut.dtype, shape: outputShape)
  }

  /// iOS18 `constexpr_lut_to_dense` (FORMATS.md §7.1): grouped and vector palettization.
  ///
  /// For index position j (K coordinates over the indices shape I), the LUT group is
  /// `g[d] = j[d] / (I[d] / G[d])` and the entry `lut[g…, indices[j], :]` (V values) lands on
  /// `out[j]` (V = 1) or on `out[j with j[va]·V + v]` for v in 0..<V (V > 1).
  ///
  /// - Parameters:
  ///   - indices: uint1/2/3/4/6/8, shape I (rank K ≥ 1).
  ///   - lut: fp16, fp32, int8 or uint8, shape `[G0…G(K−1), P, V]` with `I[d] % G[d] == 0` and
  ///     P = 2^(index bits).
  ///   - vectorAxis: in `[−K, K)`; required when V > 1, ignored when V = 1.
  /// - Returns: a tensor of the LUT's dtype, shape I with `I[va]·V` at the vector axis.
  /// - Throws: `.invalidDType`, `.invalidShape` (ranks, groups, P), `.invalidArgument`
  ///   (vector axis out of range or missing while V > 1).
  public static func lutToDenseIOS18(indices: Tensor, lut: Tensor, vectorAxis: Int?) throws -> Tensor {
    try requireDType(indices, "indices", indexTypes)
    try requireDType(lut, "lut", lutValueTypes)
    let layout = try LUTLayout(
      indexShape: indices.shape, indexType: indices.dtype, indexName: "indices", lut: lut,
      vectorAxis: vectorAxis)
    let values = layout.gather(indexValues: Elements.fields(indices), table: Elements.fields(lut))
    return try Elements.tensor(values, dtype: lut.dtype, shape: layout.outputShape)
  }

  /// `constexpr_lut_to_sparse` (FORMATS.md §7.4): palettized non-zeros of a sparse tensor.
  ///
  /// Scatters the indices into a dense index tensor of the mask's shape S (0 where the mask is
  /// 0), expands it as `lutToDenseIOS18` would, and keeps the values at the ones of the output
  /// mask, in row-major order of the expanded shape.
  ///
  /// - Parameters:
  ///   - indicesMask: uint1, shape S (rank K ≥ 1).
  ///   - indicesNonzeroData: uint1…uint8 `[D]`, D = ones in the mask.
  ///   - lut: as `lutToDenseIOS18`, with G dividing S.
  ///   - vectorAxis: as `lutToDenseIOS18`.
  /// - Returns: `mask`: uint1, S with every element repeated V times along the vector axis;
  ///   `nonzeroData`: LUT dtype, `[D·V]`.
  /// - Throws: as `lutToDenseIOS18`, plus `.invalidShape` when the value list is not rank 1 or
  ///   its length is not the mask's popcount.
  public static func lutToSparse(
    indicesMask: Tensor, indicesNonzeroData: Tensor, lut: Tensor, vectorAxis: Int?
  ) throws -> (mask: Tensor, nonzeroData: Tensor) {
    try requireDType(indicesMask, "indices_mask", [.uint1])
    try requireDType(indicesNonzeroData, "indices_nonzero_data", indexTypes)
    try requireDType(lut, "lut", lutValueTypes)
    // coremltools checks the sparse operands first, then the LUT against the mask's shape.
    try validateSparse(
      values: indicesNonzeroData, valuesName: "indices_nonzero_data",
      mask: indicesMask, maskName: "indices_mask")
    let layout = try LUTLayout(
      indexShape: indicesMask.shape, indexType: indicesNonzeroData.dtype,
      indexName: "indices_nonzero_data", lut: lut, vectorAxis: vectorAxis)

    // Dense index tensor over S: the j-th one of the mask receives the j-th index.
    let maskBits = Elements.fields(indicesMask)
    let nonzeroIndices = Elements.fields(indicesNonzeroData)
    var denseIndices = [Int](repeating: 0, count: maskBits.count)
    var next = 0
    for position in maskBits.indices where maskBits[position] != 0 {
      denseIndices[position] = nonzeroIndices[next]
      next += 1
    }

    let denseValues = layout.gather(indexValues: denseIndices, table: Elements.fields(lut))
    let outputMask = layout.expand(maskBits)
    var values = [Int]()
    values.reserveCapacity(nonzeroIndices.count * layout.vectorSize)
    for position in outputMask.indices where outputMask[position] != 0 {
      values.append(denseValues[position])
    }
    return (
      try Elements.tensor(outputMask, dtype: .uint1, shape: layout.outputShape),
      try Elements.tensor(values, dtype: lut.dtype, shape: [values.count])
    )
  }
}

/// The validated geometry of an iOS18 LUT over an index tensor (FORMATS.md §7.1), shared by
/// `lut_to_dense` and `lut_to_sparse` (which validates the LUT against the mask's shape).
struct LUTLayout {
  let indexShape: [Int]  // I
  let groups: [Int]  // G, one LUT per group
  let entries: Int  // P
  let vectorSize: Int  // V
  let vectorAxis: Int?  // normalised to 0..<K, nil when V = 1
  let outputShape: [Int]

  /// Checks in coremltools' order (`_validate_lut_inputs`): index rank ≥ 1, LUT rank K + 2,
  /// `I[d] % G[d] == 0`, P = 2^bits, then the vector axis.
  init(indexShape: [Int], indexType: DType, indexName: String, lut: Tensor, vectorAxis: Int?) throws {
    let rank = indexShape.count
    guard rank >= 1 else {
      throw WeightKernelsError.invalidShape("\(indexName): needs rank ≥ 1, got a scalar")
    }
    guard lut.rank == rank + 2 else {
      throw WeightKernelsError.invalidShape(
        "lut: rank \(lut.rank) with rank-\(rank) \(indexName), needs rank \(rank + 2)")
    }
    for axis in 0..<rank {
      let groupCount = lut.shape[axis]
      guard groupCount >= 1, indexShape[axis] % groupCount == 0 else {
        throw WeightKernelsError.invalidShape(
          "lut: \(groupCount) groups at axis \(axis) do not divide \(indexName) extent \(indexShape[axis])")
      }
    }
    let entries = lut.shape[rank]
    guard entries == 1 << indexType.bits else {
      throw WeightKernelsError.invalidShape(
        "lut: \(entries) entries, \(indexType) \(indexName) need \(1 << indexType.bits)")
    }
    let vectorSize = lut.shape[rank + 1]
    guard vectorSize >= 1 else {
      throw WeightKernelsError.invalidShape("lut: vector size 0")
    }
    if let axis = vectorAxis {
      guard -rank <= axis, axis < rank else {
        throw WeightKernelsError.invalidArgument(
          "vector_axis: \(axis) is outside [\(-rank), \(rank)) for rank-\(rank) \(indexName)")
      }
    } else if vectorSize > 1 {
      throw WeightKernelsError.invalidArgument("vector_axis: required when the LUT vector size is \(vectorSize)")
    }

    self.indexShape = indexShape
    self.groups = Array(lut.shape[0..<rank])
    self.entries = entries
    self.vectorSize = vectorSize
    if vectorSize > 1, let axis = vectorAxis {
      let normalised = axis < 0 ? axis + rank : axis
      self.vectorAxis = normalised
      var shape = indexShape
      shape[normalised] *= vectorSize
      self.outputShape = shape
    } else {
      self.vectorAxis = nil
      self.outputShape = indexShape
    }
  }

  /// LUT lookups of a dense index tensor (shape I) into the output tensor's element fields.
  func gather(indexValues: [Int], table: [Int]) -> [Int] {
    var output = [Int](repeating: 0, count: outputShape.reduce(1, *))
    let outputStrides = RowMajor.strides(outputShape)
    RowMajor.forEach(indexShape) { j, coordinates in
      // Groups are counted on the index (compressed) shape, not on the output shape.
      let group = RowMajor.blockIndex(coordinates, shape: indexShape, grid: groups)
      let entry = (group * entries + indexValues[j]) * vectorSize
      guard let axis = vectorAxis else {
        output[j] = table[entry]
        return
      }
      // The V values of one entry land on consecutive positions along the vector axis.
      var target = coordinates
      for v in 0..<vectorSize {
        target[axis] = coordinates[axis] * vectorSize + v
        output[RowMajor.linear(target, strides: outputStrides)] = table[entry + v]
      }
    }
    return output
  }

  /// Repeats every element of a tensor of shape I V times consecutively along the vector axis
  /// (`np.repeat`), giving the output shape; identity when V = 1.
  func expand(_ fields: [Int]) -> [Int] {
    guard let axis = vectorAxis else { return fields }
    var output = [Int](repeating: 0, count: outputShape.reduce(1, *))
    let sourceStrides = RowMajor.strides(indexShape)
    RowMajor.forEach(outputShape) { o, coordinates in
      var source = coordinates
      source[axis] /= vectorSize
      output[o] = fields[RowMajor.linear(source, strides: sourceStrides)]
    }
    return output
  }
}
