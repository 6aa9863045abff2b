// C ABI of the Core ML model reader: opening (package.cc, program.cc), the inventory, a weight's
// chain run through the library's decompression ops, and the chains a fused matrix covers.
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"
#include "include/weightkernels.h"
#include "model/model.h"

namespace wk {
namespace model {
namespace {

// ---- decompression ----------------------------------------------------------------------------

struct Result {
  wk_tensor t[2] = {};
  std::vector<uint8_t> own[2];
};

// Runs a weight's graph bottom-up; each op's output lives until the weight is written.
class Evaluator {
 public:
  Evaluator(const Model& m, const Weight& w, wk_context* ctx) : m_(m), w_(w), ctx_(ctx) {
    wk_context_init(&local_);
    if (ctx != nullptr) {
      local_.target = ctx->target;
      local_.threads = ctx->threads;
      local_.parallel_for = ctx->parallel_for;
      local_.parallel_for_pool = ctx->parallel_for_pool;
    }
  }

  wk_status Run(const wk_buffer* out) {
    wk_tensor t;
    WK_TRY(Get(w_.root, &t));
    const OutType& want = m_.nodes[w_.root.node].out[w_.root.output];
    bool same = t.dtype == want.dtype && t.rank == want.rank;
    for (uint32_t d = 0; same && d < t.rank; ++d) same = t.shape[d] == want.shape[d];
    if (!same)
      return Fail(ctx_, WK_ERROR_INVALID_MODEL, "weight '%.64s': the chain yields %s rank %u, declared %s",
                  w_.name.c_str(), wk_dtype_name(t.dtype), t.rank, wk_dtype_name(want.dtype));
    WK_TRY(CheckOutput(out, t.nbytes, "out", ctx_));
    if (t.nbytes > 0) std::memcpy(out->data, t.data, t.nbytes);
    if (ctx_ != nullptr) ctx_->used_target = local_.used_target;
    return WK_OK;
  }

 private:
  wk_status Get(const Ref& r, wk_tensor* t) {
    const Node& n = m_.nodes[r.node];
    if (n.kind == OpKind::kStored) {
      *t = n.value;
      return WK_OK;
    }
    auto it = memo_.find(r.node);
    if (it == memo_.end()) {
      Result& res = memo_[r.node];
      WK_TRY(Run(n, &res));
      it = memo_.find(r.node);
    }
    *t = it->second.t[r.output];
    return WK_OK;
  }

  // Operand i of n, or NULL when absent.
  wk_status Operand(const Node& n, int i, wk_tensor* storage, const wk_tensor** t) {
    *t = nullptr;
    if (n.in[i].node < 0) return WK_OK;
    WK_TRY(Get(n.in[i], storage));
    *t = storage;
    return WK_OK;
  }

  static void Take(const wk_tensor_info& info, std::vector<uint8_t>* own, wk_tensor* t,
                   wk_buffer* buf) {
    own->assign(info.nbytes, 0);
    t->data = own->data();
    t->nbytes = info.nbytes;
    t->dtype = info.dtype;
    t->rank = info.rank;
    std::memcpy(t->shape, info.shape, sizeof(t->shape));
    buf->data = own->data();
    buf->nbytes = info.nbytes;
  }

  wk_status Run(const Node& n, Result* res) {
    wk_tensor s[kMaxOperands];
    const wk_tensor* in[kMaxOperands];
    for (int i = 0; i < kMaxOperands; ++i) WK_TRY(Operand(n, i, &s[i], &in[i]));
    const int32_t* va = n.has_vector_axis ? &n.vector_axis : nullptr;
    wk_context* c = &local_;
    wk_tensor_info info, info2;
    wk_buffer out, out2;
    wk_status st = WK_OK;
    // Shape inference first (out = NULL), then the run into a buffer of that size.
    for (int pass = 0; pass < 2 && st == WK_OK; ++pass) {
      wk_buffer* o = pass == 0 ? nullptr : &out;
      wk_buffer* o2 = pass == 0 ? nullptr : &out2;
      switch (n.kind) {
        case OpKind::kLutToDense16: st = wk_lut_to_dense_ios16(in[0], in[1], in[2], o, &info, c); break;
        case OpKind::kLutToDense18: st = wk_lut_to_dense_ios18(in[0], in[1], va, o, &info, c); break;
        case OpKind::kSparseToDense16: st = wk_sparse_to_dense_ios16(in[0], in[1], in[2], o, &info, c); break;
        case OpKind::kSparseToDense18: st = wk_sparse_to_dense_ios18(in[0], in[1], o, &info, c); break;
        case OpKind::kAffine: st = wk_affine_dequantize(in[0], in[1], in[2], n.axis, o, &info, c); break;
        case OpKind::kCast: st = wk_cast(in[0], WK_DTYPE_FP32, o, &info, c); break;
        case OpKind::kShiftScale: st = wk_blockwise_shift_scale(in[0], in[1], in[2], o, &info, c); break;
        case OpKind::kLutToSparse:
          st = wk_lut_to_sparse(in[0], in[1], in[2], va, o, o2, &info, &info2, c);
          break;
        case OpKind::kSparseShiftScale:
          st = wk_sparse_blockwise_shift_scale(in[0], in[1], in[2], in[3], o, o2, &info, &info2, c);
          break;
        case OpKind::kStored: break;
      }
      if (st == WK_OK && pass == 0) {
        Take(info, &res->own[0], &res->t[0], &out);
        if (n.outputs == 2) Take(info2, &res->own[1], &res->t[1], &out2);
      }
    }
    if (st == WK_OK) return WK_OK;
    // An op rejecting the operands the file holds: the model is malformed.
    const wk_status status =
        st == WK_ERROR_OUT_OF_MEMORY || st == WK_ERROR_UNSUPPORTED || st == WK_ERROR_UNSUPPORTED_TARGET
            ? st
            : WK_ERROR_INVALID_MODEL;
    return Fail(ctx_, status, "weight '%.64s': %.40s '%.48s': %s", w_.name.c_str(), n.type.c_str(),
                n.name.c_str(), local_.message);
  }

  const Model& m_;
  const Weight& w_;
  wk_context* ctx_;
  wk_context local_;
  std::map<int, Result> memo_;
};

// ---- matrices ---------------------------------------------------------------------------------

// Collapses the grid of a parameter over axes 1..K-1 of `extent` into one grid extent over the
// flattened columns: possible when the blocks are contiguous runs of the flattened axis, i.e.
// axes before the first blocked axis j have one block per element and axes after j one block.
bool CollapseColumns(const int64_t* extent, const int64_t* grid, uint32_t k, int64_t* cols) {
  uint32_t j = k;
  for (uint32_t d = 1; d < k; ++d) {
    if (grid[d] < 1 || extent[d] % grid[d] != 0) return false;
    if (j == k && extent[d] / grid[d] != 1) j = d;
  }
  int64_t g = 1;
  for (uint32_t d = 1; d < k; ++d) {
    if (d > j && grid[d] != 1) return false;
    g *= grid[d];
  }
  *cols = g;
  return true;
}

struct MatrixBuilder {
  const Model& m;
  const Weight& w;
  wk_context* ctx;
  bool create;
  wk_matrix** matrix;

  const Node& N(const Ref& r) const { return m.nodes[r.node]; }
  bool Stored(const Ref& r) const { return r.node >= 0 && N(r).kind == OpKind::kStored; }

  wk_status No(const char* why) const {
    return Fail(ctx, WK_ERROR_UNSUPPORTED, "weight '%.64s': no fused matrix: %s", w.name.c_str(), why);
  }

  // A stored tensor viewed as [shape0, prod(rest)].
  static wk_tensor Matrix2D(const wk_tensor& t) {
    wk_tensor v = t;
    int64_t cols = 1;
    for (uint32_t d = 1; d < t.rank; ++d) cols *= t.shape[d];
    v.rank = 2;
    v.shape[1] = cols;
    for (int d = 2; d < WK_MAX_RANK; ++d) v.shape[d] = 0;
    return v;
  }

  // A grid parameter p (rank k + extra trailing axes) over data extents: rank 2 + extra.
  static bool Grid2D(const wk_tensor& p, const int64_t* extent, uint32_t k, wk_tensor* out) {
    if (p.rank < k) return false;
    int64_t cols;
    if (!CollapseColumns(extent, p.shape, k, &cols)) return false;
    *out = p;
    out->shape[1] = cols;
    const uint32_t extra = p.rank - k;
    for (uint32_t e = 0; e < extra; ++e) out->shape[2 + e] = p.shape[k + e];
    out->rank = 2 + extra;
    for (uint32_t d = out->rank; d < WK_MAX_RANK; ++d) out->shape[d] = 0;
    return true;
  }

  bool SameBytes(const Ref& a, const Ref& b) const {
    const wk_tensor& x = N(a).value;
    const wk_tensor& y = N(b).value;
    return x.nbytes == y.nbytes && (x.nbytes == 0 || std::memcmp(x.data, y.data, x.nbytes) == 0);
  }

  wk_status Dense(const wk_tensor& t) {
    if (!IsFloatDType(t.dtype)) return No("not a float tensor");
    const wk_tensor v = Matrix2D(t);
    return create ? wk_dense_matrix_create(&v, matrix, ctx) : WK_OK;
  }

  // lut_to_dense (iOS18) with a stored or shift-scaled LUT, optionally followed by a scale.
  wk_status Lut18(const Node& lut_op, const Ref* post_scale) {
    if (lut_op.has_vector_axis && N(lut_op.in[1]).out[lut_op.in[1].output].shape
                                      [N(lut_op.in[1]).out[lut_op.in[1].output].rank - 1] != 1)
      return No("vector palettization has no fused kernel (decompress it)");
    if (!Stored(lut_op.in[0])) return No("indices are not stored");
    const wk_tensor& idx = N(lut_op.in[0]).value;
    const uint32_t k = idx.rank;
    wk_tensor indices = Matrix2D(idx), lut, lut_scale, lut_offset, scale;
    const wk_tensor *ls = nullptr, *lo = nullptr, *sc = nullptr;
    const Node& l = N(lut_op.in[1]);
    const wk_tensor* lut_source;
    if (l.kind == OpKind::kStored) {
      lut_source = &l.value;
      if (!IsFloatDType(lut_source->dtype)) return No("integer LUT without a scale");
    } else if (l.kind == OpKind::kShiftScale && Stored(l.in[0]) && Stored(l.in[1]) &&
               (l.in[2].node < 0 || Stored(l.in[2]))) {
      lut_source = &N(l.in[0]).value;
      // The LUT's scale grid is over the LUT's own group axes.
      if (!Grid2D(N(l.in[1]).value, lut_source->shape, k, &lut_scale)) return No("LUT scale grid");
      ls = &lut_scale;
      if (l.in[2].node >= 0) {
        if (!Grid2D(N(l.in[2]).value, lut_source->shape, k, &lut_offset)) return No("LUT offset grid");
        lo = &lut_offset;
      }
    } else {
      return No("LUT is neither stored nor a shift-scale of a stored LUT");
    }
    if (!Grid2D(*lut_source, idx.shape, k, &lut)) return No("LUT groups are not contiguous columns");
    if (post_scale != nullptr) {
      const OutType& dense = N(w.root).out[0];
      if (!Grid2D(N(*post_scale).value, dense.shape, k, &scale)) return No("scale grid");
      sc = &scale;
    }
    const wk_lut_matrix_desc desc = {&indices, &lut, ls, lo, sc};
    return create ? wk_lut_matrix_create(&desc, matrix, ctx) : WK_OK;
  }

  wk_status Run() {
    const Node& root = N(w.root);
    const OutType& t = root.out[w.root.output];
    if (t.rank < 2) return No("rank below 2");
    switch (root.kind) {
      case OpKind::kStored:
        return Dense(root.value);
      case OpKind::kLutToDense18:
        return Lut18(root, nullptr);
      case OpKind::kLutToDense16: {
        if (!Stored(root.in[0]) || !Stored(root.in[1])) return No("operands are not stored");
        const wk_tensor& lut = N(root.in[1]).value;
        if (!IsFloatDType(lut.dtype)) return No("integer LUT");
        uint32_t bits = 0;
        while (bits < 8 && (int64_t{1} << bits) < lut.shape[0]) ++bits;
        static const int32_t kIndexDType[9] = {0, WK_DTYPE_UINT1, WK_DTYPE_UINT2, 0, WK_DTYPE_UINT4,
                                               0, WK_DTYPE_UINT6, 0, WK_DTYPE_UINT8};
        wk_tensor indices = N(root.in[0]).value;
        indices.dtype = kIndexDType[bits];
        indices.rank = t.rank;
        std::memcpy(indices.shape, t.shape, sizeof(indices.shape));
        indices = Matrix2D(indices);
        wk_tensor l = lut;
        l.rank = 4;
        l.shape[0] = 1;
        l.shape[1] = 1;
        l.shape[2] = lut.shape[0];
        l.shape[3] = 1;
        const wk_lut_matrix_desc desc = {&indices, &l, nullptr, nullptr, nullptr};
        return create ? wk_lut_matrix_create(&desc, matrix, ctx) : WK_OK;
      }
      case OpKind::kShiftScale: {
        if (!Stored(root.in[1]) || (root.in[2].node >= 0 && !Stored(root.in[2])))
          return No("scale or offset not stored");
        const Node& data = N(root.in[0]);
        if (data.kind == OpKind::kLutToDense18 && root.in[2].node < 0) return Lut18(data, &root.in[1]);
        if (data.kind != OpKind::kStored || !IsQuantizedDType(data.value.dtype))
          return No("shift-scale of neither stored integers nor a LUT");
        const uint32_t k = data.value.rank;
        wk_tensor d = Matrix2D(data.value), scale, offset;
        if (!Grid2D(N(root.in[1]).value, data.value.shape, k, &scale)) return No("scale grid");
        const wk_tensor* off = nullptr;
        if (root.in[2].node >= 0) {
          if (!Grid2D(N(root.in[2]).value, data.value.shape, k, &offset)) return No("offset grid");
          off = &offset;
        }
        const wk_quant_matrix_desc desc = {&d, &scale, off};
        return create ? wk_quant_matrix_create(&desc, matrix, ctx) : WK_OK;
      }
      case OpKind::kAffine:
        return Affine(root, t);
      case OpKind::kSparseToDense16:
      case OpKind::kSparseToDense18:
        return Sparse(root, t);
      default:
        return No("this chain has no fused kernel (decompress it)");
    }
  }

  // iOS16 affine_dequantize with an integer zero point is blockwise_shift_scale with that offset:
  // d = q - zp is exact, and RN_T(d * scale) is the one rounding both define (docs/ARITHMETIC.md).
  // Its per-axis scale and zero point become a [rows, 1] or [1, cols] grid.
  wk_status Affine(const Node& root, const OutType& t) {
    for (int i = 0; i < 3; ++i) {
      if (!Stored(root.in[i])) return No("operands are not stored");
    }
    const wk_tensor& q = N(root.in[0]).value;
    const wk_tensor& zp = N(root.in[1]).value;
    const wk_tensor& sc = N(root.in[2]).value;
    if (zp.dtype != q.dtype) return No("a float zero point rounds twice");
    const int32_t axis = root.axis < 0 ? root.axis + static_cast<int32_t>(t.rank) : root.axis;
    const auto count = [](const wk_tensor& v) {
      int64_t n = 1;
      for (uint32_t d = 0; d < v.rank; ++d) n *= v.shape[d];
      return n;
    };
    const int64_t n = count(sc);
    if (count(zp) != n) return No("zero point and scale differ in size");
    wk_tensor data = Matrix2D(q), scale = sc, offset = zp;
    int64_t grid[2];
    if (n == 1) {
      grid[0] = 1;
      grid[1] = 1;
    } else if (axis == 0 && n == t.shape[0]) {
      grid[0] = n;
      grid[1] = 1;
    } else if (t.rank == 2 && axis == 1 && n == t.shape[1]) {
      grid[0] = 1;
      grid[1] = n;
    } else {
      return No("the scale's axis is not a row or column axis");
    }
    for (wk_tensor* g : {&scale, &offset}) {
      g->rank = 2;
      g->shape[0] = grid[0];
      g->shape[1] = grid[1];
      for (int d = 2; d < WK_MAX_RANK; ++d) g->shape[d] = 0;
    }
    const wk_quant_matrix_desc desc = {&data, &scale, &offset};
    return create ? wk_quant_matrix_create(&desc, matrix, ctx) : WK_OK;
  }

  wk_status Sparse(const Node& root, const OutType& t) {
    const Ref& nz = root.in[0];
    const Ref& mask_ref = root.in[1];
    wk_tensor mask, values, lut, scale, offset;
    const wk_tensor *l = nullptr, *sc = nullptr, *off = nullptr;
    const Node& v = N(nz);
    Ref source_mask;
    if (v.kind == OpKind::kStored) {
      if (!IsFloatDType(v.value.dtype)) return No("integer non-zeros");
      if (!Stored(mask_ref)) return No("mask is not stored");
      values = v.value;
      source_mask = mask_ref;
    } else if ((v.kind == OpKind::kLutToSparse || v.kind == OpKind::kSparseShiftScale) &&
               nz.output == 1) {
      for (int i = 0; i < kMaxOperands; ++i)
        if (v.in[i].node >= 0 && !Stored(v.in[i])) return No("operands are not stored");
      // The sparse op's mask must be the producer's own (its output 0, or the same bytes).
      const bool own = mask_ref.node == nz.node && mask_ref.output == 0;
      if (!own && !(Stored(mask_ref) && SameBytes(mask_ref, v.in[0])))
        return No("the mask differs from the one of the non-zeros");
      source_mask = v.in[0];
      values = N(v.in[1]).value;
      const uint32_t k = N(v.in[0]).value.rank;
      const int64_t* s = N(v.in[0]).value.shape;
      if (v.kind == OpKind::kLutToSparse) {
        const wk_tensor& lt = N(v.in[2]).value;
        if (lt.rank != k + 2 || lt.shape[k + 1] != 1) return No("vector palettization has no fused kernel");
        if (!IsFloatDType(lt.dtype)) return No("integer LUT");
        if (!Grid2D(lt, s, k, &lut)) return No("LUT groups are not contiguous columns");
        l = &lut;
      } else {
        if (!IsQuantizedDType(values.dtype)) return No("float non-zeros with a scale");
        if (!Grid2D(N(v.in[2]).value, s, k, &scale)) return No("scale grid");
        sc = &scale;
        if (v.in[3].node >= 0) {
          if (!Grid2D(N(v.in[3]).value, s, k, &offset)) return No("offset grid");
          off = &offset;
        }
      }
    } else {
      return No("non-zeros from an op without a fused kernel");
    }
    mask = N(source_mask).value;
    // iOS16 masks are uint8 byte streams of the same bits.
    mask.dtype = WK_DTYPE_UINT1;
    mask.rank = t.rank;
    std::memcpy(mask.shape, t.shape, sizeof(mask.shape));
    if (PackedBytes(WK_DTYPE_UINT1, ShapeCount(t.rank, t.shape)) != mask.nbytes)
      return No("mask size");
    mask = Matrix2D(mask);
    const wk_sparse_matrix_desc desc = {&mask, &values, l, sc, off};
    return create ? wk_sparse_matrix_create(&desc, matrix, ctx) : WK_OK;
  }
};

}  // namespace

wk_status WeightMatrix(const Model& model, const Weight& w, bool create, wk_matrix** matrix,
                       wk_context* ctx) {
  MatrixBuilder b{model, w, ctx, create, matrix};
  return b.Run();
}

wk_status Decompress(const Model& model, const Weight& w, const wk_buffer* out, wk_context* ctx) {
  Evaluator e(model, w, ctx);
  return e.Run(out);
}

}  // namespace model
}  // namespace wk

using wk::Fail;

namespace {

wk_status Finish(wk_model* model, wk_model** out, wk_context* ctx) {
  wk_status st;
  try {
    st = wk::model::ReadProgram(&model->m, ctx);
    if (st == WK_OK) {
      for (auto& w : model->m.list)
        w.matrix = wk::model::WeightMatrix(model->m, w, false, nullptr, nullptr) == WK_OK;
    }
  } catch (const std::bad_alloc&) {
    st = Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "model: out of memory");
  }
  if (st != WK_OK) {
    wk_model_close(model);
    return st;
  }
  *out = model;
  return WK_OK;
}

const wk::model::Weight* At(const wk_model* model, size_t index) {
  return model != nullptr && index < model->m.list.size() ? &model->m.list[index] : nullptr;
}

}  // namespace

extern "C" {

wk_status wk_model_open(const char* mlpackage_dir, wk_model** model, wk_context* ctx) {
  if (model != nullptr) *model = nullptr;
  if (mlpackage_dir == nullptr || model == nullptr)
    return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "model: NULL argument");
  wk_model* m = new (std::nothrow) wk_model;
  if (m == nullptr) return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "model: out of memory");
  wk_status st;
  try {
    st = wk::model::OpenPackage(mlpackage_dir, &m->m, ctx);
  } catch (const std::bad_alloc&) {
    st = Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "model: out of memory");
  }
  if (st != WK_OK) {
    wk_model_close(m);
    return st;
  }
  return Finish(m, model, ctx);
}

wk_status wk_model_open_memory(const void* program, size_t program_bytes, const void* weights,
                               size_t weights_bytes, wk_model** model, wk_context* ctx) {
  if (model != nullptr) *model = nullptr;
  if (model == nullptr || (program == nullptr && program_bytes > 0) ||
      (weights == nullptr && weights_bytes > 0))
    return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "model: NULL argument");
  wk_model* m = new (std::nothrow) wk_model;
  if (m == nullptr) return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "model: out of memory");
  m->m.program = wk::model::Span{static_cast<const uint8_t*>(program), program_bytes};
  m->m.weights = wk::model::Span{static_cast<const uint8_t*>(weights), weights_bytes};
  return Finish(m, model, ctx);
}

void wk_model_close(wk_model* model) {
  if (model == nullptr) return;
  wk::model::UnmapPackage(&model->m);
  delete model;
}

size_t wk_model_weight_count(const wk_model* model) {
  return model == nullptr ? 0 : model->m.list.size();
}

uint64_t wk_model_blob_bytes(const wk_model* model) {
  return model == nullptr ? 0 : model->m.blob_bytes;
}

wk_status wk_model_get_weight(const wk_model* model, size_t index, wk_model_weight_info* info) {
  if (model == nullptr || info == nullptr) return WK_ERROR_NULL_ARGUMENT;
  const wk::model::Weight* w = At(model, index);
  if (w == nullptr) return WK_ERROR_INVALID_ARGUMENT;
  const wk::model::OutType& t = model->m.nodes[w->root.node].out[w->root.output];
  wk_model_weight_info i = {};
  i.name = w->name.c_str();
  i.function = w->function.c_str();
  i.consumer_op = w->consumer_op.c_str();
  i.consumer_input = w->consumer_input.c_str();
  i.op_chain = w->op_chain.c_str();
  i.scheme = w->scheme.c_str();
  i.dtype = t.dtype;
  i.rank = static_cast<int32_t>(t.rank);
  std::memcpy(i.shape, t.shape, sizeof(i.shape));
  i.nbits = w->nbits;
  i.vector_size = w->vector_size;
  i.sparse = w->sparse;
  i.nonzeros = w->nonzeros;
  i.blob_bytes = w->blob_bytes;
  i.immediate_bytes = w->immediate_bytes;
  i.dense_fp16_bytes = 2 * wk::ShapeCount(t.rank, t.shape);
  i.matrix = w->matrix;
  *info = i;
  return WK_OK;
}

wk_status wk_model_weight_matrix(const wk_model* model, size_t index, wk_matrix** matrix,
                                 wk_context* ctx) {
  if (matrix != nullptr) *matrix = nullptr;
  if (model == nullptr || matrix == nullptr)
    return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "model: NULL argument");
  const wk::model::Weight* w = At(model, index);
  if (w == nullptr)
    return Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "model: weight index %zu out of range", index);
  try {
    return wk::model::WeightMatrix(model->m, *w, true, matrix, ctx);
  } catch (const std::bad_alloc&) {
    return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "model: out of memory");
  }
}

wk_status wk_model_weight_decompress(const wk_model* model, size_t index, const wk_buffer* out,
                                     wk_context* ctx) {
  if (model == nullptr || out == nullptr)
    return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "model: NULL argument");
  const wk::model::Weight* w = At(model, index);
  if (w == nullptr)
    return Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "model: weight index %zu out of range", index);
  try {
    return wk::model::Decompress(model->m, *w, out, ctx);
  } catch (const std::bad_alloc&) {
    return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "model: out of memory");
  }
}

}  // extern "C"
