// Internal: the parsed model — the constexpr graph of every weight, built once by ReadProgram
// (program.cc) and used by the C ABI (model_api.cc) to describe, decompress and wrap weights.
#ifndef WK_MODEL_MODEL_H_
#define WK_MODEL_MODEL_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "include/weightkernels.h"
#include "model/wire.h"

namespace wk {
namespace model {

enum class OpKind {
  kStored,            // a value held by the program or weight.bin (const op or inline operand)
  kLutToDense16,      // operands: indices, lut, shape
  kLutToDense18,      // indices, lut (+ vector_axis)
  kSparseToDense16,   // nonzero_data, mask, shape
  kSparseToDense18,   // nonzero_data, mask
  kAffine,            // quantized_data, zero_point, scale (+ axis)
  kCast,              // source_val (+ output_dtype)
  kShiftScale,        // data, scale, offset?
  kLutToSparse,       // indices_mask, indices_nonzero_data, lut (+ vector_axis); two outputs
  kSparseShiftScale,  // data_mask, nonzero_data, scale, offset?; two outputs
};

constexpr int kMaxOperands = 4;

// An output of a node.
struct Ref {
  int node = -1;
  int output = 0;
};

struct OutType {
  int32_t dtype = 0;  // wk_dtype
  uint32_t rank = 0;
  int64_t shape[WK_MAX_RANK] = {};
};

struct Node {
  OpKind kind = OpKind::kStored;
  std::string type;  // the op type in the program ("const" for stored values)
  std::string name;  // first output name, or "<op>.<param>" of an inline operand
  Ref in[kMaxOperands];  // operands in the order listed at OpKind; node -1 when absent
  bool has_vector_axis = false;
  int32_t vector_axis = 0;
  int32_t axis = 0;
  // kStored: the value (data into weight.bin, the program bytes or Model::owned).
  wk_tensor value = {};
  bool blob = false;
  uint64_t blob_offset = 0;
  // Inferred outputs (kStored: out[0] describes value).
  int outputs = 1;
  OutType out[2];
};

struct Weight {
  std::string name, function, consumer_op, consumer_input, op_chain, scheme;
  Ref root;
  int32_t nbits = 0, vector_size = 1, sparse = 0, matrix = 0;
  uint64_t nonzeros = 0, blob_bytes = 0, immediate_bytes = 0;
};

struct Model {
  Span program;
  Span weights;
  std::vector<uint8_t> program_copy;  // the file's bytes (wk_model_open)
  void* mapping = nullptr;            // weight.bin mapping (wk_model_open)
  size_t mapping_size = 0;
  std::vector<Node> nodes;
  std::vector<Weight> list;
  uint64_t blob_bytes = 0;  // payload bytes of the distinct blobs all weights read
  std::deque<std::vector<uint8_t>> owned;  // immediate values re-encoded (varint lists)
};

// Reads an .mlpackage directory: program bytes into program_copy, weight.bin mapped (or absent).
wk_status OpenPackage(const char* dir, Model* model, wk_context* ctx);
void UnmapPackage(Model* model);

// Parses model->program against model->weights and fills nodes and list.
wk_status ReadProgram(Model* model, wk_context* ctx);

// Pattern of a weight that a fused matrix covers, with the operands viewed as 2-D. Returns
// WK_OK and, with create = true, *matrix; otherwise WK_ERROR_UNSUPPORTED with a reason.
wk_status WeightMatrix(const Model& model, const Weight& w, bool create, wk_matrix** matrix,
                       wk_context* ctx);

// Writes w dense (its dtype) by running its ops; out must hold it.
wk_status Decompress(const Model& model, const Weight& w, const wk_buffer* out, wk_context* ctx);

}  // namespace model
}  // namespace wk

struct wk_model {
  wk::model::Model m;
};

#endif  // WK_MODEL_MODEL_H_
