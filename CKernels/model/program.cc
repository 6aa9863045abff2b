// The ML program reader: protobuf (FORMATS.md §8.1) -> per function the ops of every block
// (nested too) -> for each weight its constexpr graph with every operand resolved (inline value,
// blob of weight.bin checked against its metadata per §8.2, or a name bound to another const /
// constexpr op) and every output type inferred and checked against the program's declaration.
// A wire-format reader rather than generated protobuf code: the reader needs a dozen fields of
// eight messages, and a hand-written bounds-checked walk keeps every limit explicit.
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "common/status.h"
#include "common/tensor.h"
#include "model/model.h"

namespace wk {
namespace model {
namespace {

constexpr int kMaxBlockDepth = 32;  // nested blocks (cond / while bodies)
constexpr int kMaxChainDepth = 16;  // constexpr ops from storage to a weight
constexpr uint32_t kBlobSentinel = 0xDEADBEEFu;
constexpr uint64_t kBlobMetadataBytes = 64;
const char kWeightFile[] = "@model_path/weights/weight.bin";

struct Binding {
  bool is_name = false;
  std::string name;
  Span value;  // Value message
};

struct ParsedOp {
  std::string type;
  std::vector<std::pair<std::string, std::vector<Binding>>> inputs;
  std::vector<std::pair<std::string, Span>> outputs;     // name, ValueType
  std::vector<std::pair<std::string, Span>> attributes;  // name, Value
};

struct Function {
  std::string name;
  std::vector<ParsedOp> ops;
  std::unordered_map<std::string, std::pair<int, int>> producers;  // name -> (op, output)
};

// A TensorType of the program.
struct TType {
  uint64_t code = 0;
  uint32_t rank = 0;
  int64_t shape[WK_MAX_RANK] = {};
};

struct ValueInfo {
  TType type;
  bool has_type = false;
  bool blob = false;
  bool immediate = false;
  Span tensor;  // TensorValue of an immediate
  std::string file;
  uint64_t offset = 0;
};

// Program DataType code (FORMATS.md §8.1) -> wk_dtype, 0 when there is none.
int32_t DTypeOfCode(uint64_t code) {
  switch (code) {
    case 10: return WK_DTYPE_FP16;
    case 11: return WK_DTYPE_FP32;
    case 21: return WK_DTYPE_INT8;
    case 22: return WK_DTYPE_INT16;
    case 23: return WK_DTYPE_INT32;
    case 25: return WK_DTYPE_INT4;
    case 31: return WK_DTYPE_UINT8;
    case 32: return WK_DTYPE_UINT16;
    case 33: return WK_DTYPE_UINT32;
    case 35: return WK_DTYPE_UINT4;
    case 36: return WK_DTYPE_UINT2;
    case 37: return WK_DTYPE_UINT1;
    case 38: return WK_DTYPE_UINT6;
    case 39: return WK_DTYPE_UINT3;
    default: return 0;
  }
}

bool IsFloatCode(uint64_t code) { return code == 10 || code == 11 || code == 13; }

// Element count of a shape, false on overflow past kMaxElements.
bool CountOf(uint32_t rank, const int64_t* shape, uint64_t* count) {
  uint64_t n = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    if (shape[d] < 0) return false;
    const uint64_t e = static_cast<uint64_t>(shape[d]);
    if (e != 0 && n > kMaxElements / e) return false;
    n *= e;
  }
  *count = n;
  return n <= kMaxElements;
}

std::string ShapeText(uint32_t rank, const int64_t* shape) {
  std::string s = "[";
  for (uint32_t d = 0; d < rank; ++d) {
    if (d) s += ",";
    s += std::to_string(shape[d]);
  }
  return s + "]";
}

uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
uint64_t Load64(const uint8_t* p) { return uint64_t{Load32(p)} | uint64_t{Load32(p + 4)} << 32; }

class Reader {
 public:
  Reader(Model* m, wk_context* ctx) : m_(m), ctx_(ctx) {}

  wk_status Run() {
    Span program;
    WK_TRY(FindProgram(&program));
    WK_TRY(ParseProgram(program));
    for (size_t f = 0; f < functions_.size(); ++f) WK_TRY(FindWeights(static_cast<int>(f)));
    return WK_OK;
  }

 private:
  wk_status Invalid(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    char text[WK_MESSAGE_CAPACITY];
    va_list args;
    va_start(args, format);
    std::vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    return Fail(ctx_, WK_ERROR_INVALID_MODEL, "%s", text);
  }

  // ---- protobuf structure ----------------------------------------------------------------

  wk_status Malformed(const char* part) {
    return Invalid("model.mlmodel: malformed protobuf in %s", part);
  }

  static bool MapEntry(Span entry, std::string* key, Span* value) {
    WireReader r(entry);
    Field f;
    while (r.Next(&f)) {
      if (f.number == 1 && f.type == kLengthDelimited) *key = f.bytes.str();
      if (f.number == 2 && f.type == kLengthDelimited) *value = f.bytes;
    }
    return !r.failed();
  }

  wk_status FindProgram(Span* program) {
    WireReader r(m_->program);
    Field f;
    bool found = false;
    while (r.Next(&f)) {
      if (f.number == 502 && f.type == kLengthDelimited) {
        *program = f.bytes;
        found = true;
      }
    }
    if (r.failed()) return Malformed("Model");
    if (!found) return Invalid("model.mlmodel: no ML program (Model field 502)");
    return WK_OK;
  }

  wk_status ParseProgram(Span program) {
    WireReader r(program);
    Field f;
    while (r.Next(&f)) {
      if (f.number != 2 || f.type != kLengthDelimited) continue;
      Function fn;
      Span body;
      if (!MapEntry(f.bytes, &fn.name, &body)) return Malformed("Program.functions");
      WK_TRY(ParseFunction(body, &fn));
      functions_.push_back(std::move(fn));
    }
    if (r.failed()) return Malformed("Program");
    return WK_OK;
  }

  wk_status ParseFunction(Span body, Function* fn) {
    WireReader r(body);
    Field f;
    std::string opset;
    std::vector<std::pair<std::string, Span>> blocks;
    while (r.Next(&f)) {
      if (f.type != kLengthDelimited) continue;
      if (f.number == 2) opset = f.bytes.str();
      if (f.number == 3) {
        std::pair<std::string, Span> b;
        if (!MapEntry(f.bytes, &b.first, &b.second)) return Malformed("Function.block_specializations");
        blocks.push_back(b);
      }
    }
    if (r.failed()) return Malformed("Function");
    for (const auto& b : blocks) {
      if (b.first == opset) return ParseBlock(b.second, 0, fn);
    }
    return Invalid("model.mlmodel: function '%.64s': no block for its opset '%.32s'",
                   fn->name.c_str(), opset.c_str());
  }

  wk_status ParseBlock(Span block, int depth, Function* fn) {
    if (depth > kMaxBlockDepth)
      return Invalid("model.mlmodel: function '%.64s': blocks nested deeper than %d",
                     fn->name.c_str(), kMaxBlockDepth);
    WireReader r(block);
    Field f;
    while (r.Next(&f)) {
      if (f.number == 3 && f.type == kLengthDelimited) WK_TRY(ParseOp(f.bytes, depth, fn));
    }
    if (r.failed()) return Malformed("Block");
    return WK_OK;
  }

  wk_status ParseOp(Span body, int depth, Function* fn) {
    ParsedOp op;
    std::vector<Span> nested;
    WireReader r(body);
    Field f;
    while (r.Next(&f)) {
      if (f.type != kLengthDelimited) continue;
      switch (f.number) {
        case 1: op.type = f.bytes.str(); break;
        case 2: {
          std::string key;
          Span arg;
          if (!MapEntry(f.bytes, &key, &arg)) return Malformed("Operation.inputs");
          std::vector<Binding> bindings;
          WireReader ar(arg);
          Field af;
          while (ar.Next(&af)) {
            if (af.number != 1 || af.type != kLengthDelimited) continue;
            Binding b;
            WireReader br(af.bytes);
            Field bf;
            while (br.Next(&bf)) {
              if (bf.type != kLengthDelimited) continue;
              if (bf.number == 1) { b.is_name = true; b.name = bf.bytes.str(); }
              if (bf.number == 2) { b.is_name = false; b.value = bf.bytes; }
            }
            if (br.failed()) return Malformed("Argument.Binding");
            bindings.push_back(std::move(b));
          }
          if (ar.failed()) return Malformed("Argument");
          op.inputs.emplace_back(std::move(key), std::move(bindings));
          break;
        }
        case 3: {
          std::pair<std::string, Span> out;
          WireReader nr(f.bytes);
          Field nf;
          while (nr.Next(&nf)) {
            if (nf.type != kLengthDelimited) continue;
            if (nf.number == 1) out.first = nf.bytes.str();
            if (nf.number == 2) out.second = nf.bytes;
          }
          if (nr.failed()) return Malformed("NamedValueType");
          op.outputs.push_back(std::move(out));
          break;
        }
        case 4: nested.push_back(f.bytes); break;
        case 5: {
          std::pair<std::string, Span> attr;
          if (!MapEntry(f.bytes, &attr.first, &attr.second)) return Malformed("Operation.attributes");
          op.attributes.push_back(std::move(attr));
          break;
        }
        default: break;
      }
    }
    if (r.failed()) return Malformed("Operation");
    const int index = static_cast<int>(fn->ops.size());
    for (size_t o = 0; o < op.outputs.size(); ++o) {
      if (!fn->producers.emplace(op.outputs[o].first, std::make_pair(index, static_cast<int>(o))).second)
        return Invalid("model.mlmodel: function '%.64s': name '%.64s' defined twice",
                       fn->name.c_str(), op.outputs[o].first.c_str());
    }
    fn->ops.push_back(std::move(op));
    for (Span b : nested) WK_TRY(ParseBlock(b, depth + 1, fn));
    return WK_OK;
  }

  // ValueType -> TensorType. Non-tensor types (lists, dictionaries, states) have no tensor.
  bool ParseType(Span value_type, TType* t) {
    WireReader r(value_type);
    Field f;
    Span tensor;
    bool found = false;
    while (r.Next(&f)) {
      if (f.number == 1 && f.type == kLengthDelimited) { tensor = f.bytes; found = true; }
    }
    if (r.failed() || !found) return false;
    WireReader tr(tensor);
    uint64_t rank = 0;
    uint32_t dims = 0;
    *t = TType();
    while (tr.Next(&f)) {
      if (f.number == 1 && f.type == kVarint) t->code = f.value;
      if (f.number == 2 && f.type == kVarint) rank = f.value;
      if (f.number == 3 && f.type == kLengthDelimited) {
        if (dims >= WK_MAX_RANK) return false;
        WireReader dr(f.bytes);
        Field df;
        bool constant = false;
        uint64_t size = 0;
        while (dr.Next(&df)) {
          if (df.number == 1 && df.type == kLengthDelimited) {
            constant = true;
            WireReader sr(df.bytes);
            Field sf;
            while (sr.Next(&sf)) {
              if (sf.number == 1 && sf.type == kVarint) size = sf.value;
            }
            if (sr.failed()) return false;
          }
        }
        if (dr.failed() || !constant || size > kMaxElements) return false;
        t->shape[dims++] = static_cast<int64_t>(size);
      }
    }
    if (tr.failed() || rank != dims) return false;
    t->rank = dims;
    return true;
  }

  wk_status ParseValue(Span value, const std::string& what, ValueInfo* v) {
    WireReader r(value);
    Field f;
    while (r.Next(&f)) {
      if (f.type != kLengthDelimited) continue;
      if (f.number == 2) {
        if (!ParseType(f.bytes, &v->type))
          return Invalid("%.120s: type is not a tensor of constant shape and rank <= %d",
                         what.c_str(), WK_MAX_RANK);
        v->has_type = true;
      }
      if (f.number == 3) {
        WireReader ir(f.bytes);
        Field imf;
        v->immediate = true;
        while (ir.Next(&imf)) {
          if (imf.number == 1 && imf.type == kLengthDelimited) v->tensor = imf.bytes;
        }
        if (ir.failed()) return Malformed("ImmediateValue");
      }
      if (f.number == 5) {
        WireReader br(f.bytes);
        Field bf;
        v->blob = true;
        while (br.Next(&bf)) {
          if (bf.number == 1 && bf.type == kLengthDelimited) v->file = bf.bytes.str();
          if (bf.number == 2 && bf.type == kVarint) v->offset = bf.value;
        }
        if (br.failed()) return Malformed("BlobFileValue");
      }
    }
    if (r.failed()) return Malformed("Value");
    if (!v->has_type) return Invalid("%.120s: value without a type", what.c_str());
    if (v->blob == v->immediate) return Invalid("%.120s: value is neither immediate nor blob", what.c_str());
    return WK_OK;
  }

  // The payload of TensorValue field `kind` (its RepeatedX.values = 1), concatenated when a
  // writer split it; packed scalars arrive as one length-delimited field.
  static bool TensorPayload(Span tensor, uint32_t* kind, std::vector<Field>* values) {
    WireReader r(tensor);
    Field f;
    *kind = 0;
    while (r.Next(&f)) {
      if (f.type != kLengthDelimited || f.number < 1 || f.number > 7) continue;
      *kind = f.number;
      values->clear();
      WireReader vr(f.bytes);
      Field vf;
      while (vr.Next(&vf)) {
        if (vf.number == 1) values->push_back(vf);
      }
      if (vr.failed()) return false;
    }
    return !r.failed();
  }

  // A tensor value (inline or blob) as a stored node.
  wk_status StoredNode(const ValueInfo& v, const std::string& what, int* node_index) {
    Node node;
    node.kind = OpKind::kStored;
    node.type = "const";
    node.name = what;
    const int32_t dtype = DTypeOfCode(v.type.code);
    if (dtype == 0) {
      if (v.type.code == 13)
        return Fail(ctx_, WK_ERROR_UNSUPPORTED, "%.120s: bf16 values are not supported", what.c_str());
      return Invalid("%.120s: dtype code %llu is not a numeric tensor type", what.c_str(),
                     static_cast<unsigned long long>(v.type.code));
    }
    uint64_t count;
    if (!CountOf(v.type.rank, v.type.shape, &count))
      return Invalid("%.120s: shape %s too large", what.c_str(),
                     ShapeText(v.type.rank, v.type.shape).c_str());
    const uint64_t need = PackedBytes(dtype, count);
    node.value.dtype = dtype;
    node.value.rank = v.type.rank;
    std::memcpy(node.value.shape, v.type.shape, sizeof(node.value.shape));
    node.out[0].dtype = dtype;
    node.out[0].rank = v.type.rank;
    std::memcpy(node.out[0].shape, v.type.shape, sizeof(node.out[0].shape));
    if (v.blob) {
      WK_TRY(BlobData(v, what, dtype, need, &node));
    } else {
      WK_TRY(ImmediateData(v, what, dtype, count, need, &node));
    }
    *node_index = static_cast<int>(m_->nodes.size());
    m_->nodes.push_back(std::move(node));
    return WK_OK;
  }

  wk_status BlobData(const ValueInfo& v, const std::string& what, int32_t dtype, uint64_t need,
                     Node* node) {
    if (v.file != kWeightFile)
      return Invalid("%.120s: blob file '%.64s', expected '%s'", what.c_str(), v.file.c_str(),
                     kWeightFile);
    const uint64_t size = m_->weights.size;
    const uint64_t off = v.offset;
    if (size == 0)
      return Invalid("%.120s: blob at offset %llu but weight.bin is absent or empty", what.c_str(),
                     static_cast<unsigned long long>(off));
    if (off > size || size - off < kBlobMetadataBytes)
      return Invalid("%.120s: blob metadata at offset %llu past the end of weight.bin (%llu bytes)",
                     what.c_str(), static_cast<unsigned long long>(off),
                     static_cast<unsigned long long>(size));
    const uint8_t* meta = m_->weights.data + off;
    const uint32_t sentinel = Load32(meta);
    const uint32_t code = Load32(meta + 4);
    const uint64_t bytes = Load64(meta + 8);
    const uint64_t data_offset = Load64(meta + 16);
    if (sentinel != kBlobSentinel)
      return Invalid("%.120s: blob at offset %llu: sentinel 0x%x, expected 0xdeadbeef", what.c_str(),
                     static_cast<unsigned long long>(off), sentinel);
    if (static_cast<int64_t>(code) != dtype)
      return Invalid("%.120s: blob at offset %llu: dtype code %u, expected %d (%s)", what.c_str(),
                     static_cast<unsigned long long>(off), code, dtype, wk_dtype_name(dtype));
    if (bytes != need)
      return Invalid("%.120s: blob at offset %llu: %llu bytes, expected %llu for %s %s",
                     what.c_str(), static_cast<unsigned long long>(off),
                     static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(need),
                     wk_dtype_name(dtype), ShapeText(node->value.rank, node->value.shape).c_str());
    if (data_offset != off + kBlobMetadataBytes)
      return Invalid("%.120s: blob at offset %llu: data offset %llu, expected %llu", what.c_str(),
                     static_cast<unsigned long long>(off),
                     static_cast<unsigned long long>(data_offset),
                     static_cast<unsigned long long>(off + kBlobMetadataBytes));
    if (size - data_offset < bytes)
      return Invalid("%.120s: blob at offset %llu: %llu bytes past the end of weight.bin (%llu bytes)",
                     what.c_str(), static_cast<unsigned long long>(off),
                     static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(size));
    node->value.data = m_->weights.data + data_offset;
    node->value.nbytes = static_cast<size_t>(bytes);
    node->blob = true;
    node->blob_offset = off;
    return WK_OK;
  }

  wk_status ImmediateData(const ValueInfo& v, const std::string& what, int32_t dtype,
                          uint64_t count, uint64_t need, Node* node) {
    uint32_t kind;
    std::vector<Field> values;
    if (!TensorPayload(v.tensor, &kind, &values)) return Malformed("TensorValue");
    if (count == 0) {  // empty tensors carry no data
      node->value.data = nullptr;
      node->value.nbytes = 0;
      return WK_OK;
    }
    if (kind == 7) {  // bytes: the packed encoding itself
      if (values.size() != 1 || values[0].type != kLengthDelimited || values[0].bytes.size != need)
        return Invalid("%.120s: immediate bytes: %llu, expected %llu for %s %s", what.c_str(),
                       static_cast<unsigned long long>(values.empty() ? 0 : values[0].bytes.size),
                       static_cast<unsigned long long>(need), wk_dtype_name(dtype),
                       ShapeText(node->value.rank, node->value.shape).c_str());
      node->value.data = values[0].bytes.data;
      node->value.nbytes = static_cast<size_t>(need);
      return WK_OK;
    }
    if (kind == 1 && dtype == WK_DTYPE_FP32) {  // floats: packed little-endian fp32
      if (values.size() == 1 && values[0].type == kLengthDelimited && values[0].bytes.size == need) {
        node->value.data = values[0].bytes.data;
        node->value.nbytes = static_cast<size_t>(need);
        return WK_OK;
      }
      std::vector<uint8_t> bytes;
      for (const Field& f : values) {
        if (f.type != kFixed32 || bytes.size() >= need) return BadList(what, count);
        for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(f.value >> (8 * i)));
      }
      return Own(std::move(bytes), need, what, count, node);
    }
    if (kind == 2 && (dtype == WK_DTYPE_INT32 || dtype == WK_DTYPE_UINT32)) {  // ints: varints
      std::vector<uint8_t> bytes;
      for (const Field& f : values) {
        std::vector<uint64_t> ints;
        if (f.type == kVarint) {
          ints.push_back(f.value);
        } else if (f.type == kLengthDelimited) {
          WireReader pr(f.bytes);
          uint64_t x;
          while (!pr.AtEnd()) {
            if (!pr.Varint(&x)) return Malformed("TensorValue.ints");
            ints.push_back(x);
          }
        } else {
          return BadList(what, count);
        }
        for (uint64_t x : ints) {
          if (bytes.size() >= need) return BadList(what, count);
          for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(x >> (8 * i)));
        }
      }
      return Own(std::move(bytes), need, what, count, node);
    }
    return Invalid("%.120s: immediate value of kind %u cannot hold %s", what.c_str(), kind,
                   wk_dtype_name(dtype));
  }

  wk_status BadList(const std::string& what, uint64_t count) {
    return Invalid("%.120s: immediate list does not hold %llu values", what.c_str(),
                   static_cast<unsigned long long>(count));
  }

  wk_status Own(std::vector<uint8_t> bytes, uint64_t need, const std::string& what, uint64_t count,
                Node* node) {
    if (bytes.size() != need) return BadList(what, count);
    m_->owned.push_back(std::move(bytes));
    node->value.data = m_->owned.back().data();
    node->value.nbytes = static_cast<size_t>(need);
    return WK_OK;
  }

  // ---- constexpr graphs --------------------------------------------------------------------

  // The Value of a name bound to a const op, or the inline value.
  wk_status ScalarValue(int fn, const Binding& b, const std::string& what, ValueInfo* v) {
    Span value = b.value;
    if (b.is_name) {
      const auto it = functions_[fn].producers.find(b.name);
      if (it == functions_[fn].producers.end())
        return Invalid("%.120s: dangling binding '%.64s'", what.c_str(), b.name.c_str());
      const ParsedOp& op = functions_[fn].ops[it->second.first];
      const Span* val = Attribute(op, "val");
      if (op.type != "const" || val == nullptr)
        return Invalid("%.120s: '%.64s' is not a const", what.c_str(), b.name.c_str());
      value = *val;
    }
    return ParseValue(value, what, v);
  }

  wk_status ScalarInt(int fn, const Binding& b, const std::string& what, int32_t* out) {
    ValueInfo v;
    WK_TRY(ScalarValue(fn, b, what, &v));
    int node;
    WK_TRY(StoredNode(v, what, &node));
    const wk_tensor& t = m_->nodes[node].value;
    m_->nodes.pop_back();  // read once, not a graph node
    if (t.dtype != WK_DTYPE_INT32 || t.nbytes != 4)
      return Invalid("%.120s: expected an int32 scalar", what.c_str());
    *out = static_cast<int32_t>(Load32(static_cast<const uint8_t*>(t.data)));
    return WK_OK;
  }

  wk_status ScalarString(int fn, const Binding& b, const std::string& what, std::string* out) {
    ValueInfo v;
    WK_TRY(ScalarValue(fn, b, what, &v));
    uint32_t kind;
    std::vector<Field> values;
    if (!v.immediate || !TensorPayload(v.tensor, &kind, &values)) return Malformed("TensorValue");
    if (kind != 4 || values.size() != 1 || values[0].type != kLengthDelimited)
      return Invalid("%.120s: expected a string", what.c_str());
    *out = values[0].bytes.str();
    return WK_OK;
  }

  static const Span* Attribute(const ParsedOp& op, const char* name) {
    for (const auto& a : op.attributes)
      if (a.first == name) return &a.second;
    return nullptr;
  }

  // The operand `param` of op: an input argument (iOS18) or an attribute (iOS16 / iOS17).
  wk_status Operand(const ParsedOp& op, const char* param, const std::string& what, Binding* b,
                    bool* found) {
    *found = false;
    for (const auto& in : op.inputs) {
      if (in.first != param) continue;
      if (in.second.size() != 1)
        return Invalid("%.120s: operand '%s' has %zu bindings, expected 1", what.c_str(), param,
                       in.second.size());
      *b = in.second[0];
      *found = true;
      return WK_OK;
    }
    if (const Span* a = Attribute(op, param)) {
      b->is_name = false;
      b->value = *a;
      *found = true;
    }
    return WK_OK;
  }

  wk_status Resolve(int fn, const Binding& b, const std::string& what, int depth, Ref* ref) {
    if (!b.is_name) {
      ValueInfo v;
      WK_TRY(ParseValue(b.value, what, &v));
      ref->output = 0;
      return StoredNode(v, what, &ref->node);
    }
    return Output(fn, b.name, depth, what, ref);
  }

  // The node producing `name` in function fn (built once, memoised).
  wk_status Output(int fn, const std::string& name, int depth, const std::string& what, Ref* ref) {
    const Function& f = functions_[fn];
    const auto it = f.producers.find(name);
    if (it == f.producers.end())
      return Invalid("%.120s: dangling binding '%.64s'", what.c_str(), name.c_str());
    const int op_index = it->second.first;
    ref->output = it->second.second;
    const auto key = std::make_pair(fn, op_index);
    const auto memo = built_.find(key);
    if (memo != built_.end()) {
      ref->node = memo->second;
      return WK_OK;
    }
    if (!visiting_.insert(key).second)
      return Invalid("%.120s: cyclic binding through '%.64s'", what.c_str(), name.c_str());
    if (depth > kMaxChainDepth)
      return Invalid("%.120s: chain deeper than %d ops at '%.64s'", what.c_str(), kMaxChainDepth,
                     name.c_str());
    const wk_status st = Build(fn, op_index, depth, &ref->node);
    visiting_.erase(key);
    if (st != WK_OK) return st;
    built_[key] = ref->node;
    if (ref->output >= m_->nodes[ref->node].outputs)
      return Invalid("%.120s: '%.64s' is output %d of an op with %d", what.c_str(), name.c_str(),
                     ref->output, m_->nodes[ref->node].outputs);
    return WK_OK;
  }

  wk_status Build(int fn, int op_index, int depth, int* node_index) {
    const ParsedOp& op = functions_[fn].ops[op_index];
    const std::string first = op.outputs.empty() ? std::string() : op.outputs[0].first;
    const std::string what = "weight '" + weight_ + "': op '" + first + "'";
    if (op.type == "const") {
      const Span* val = Attribute(op, "val");
      if (val == nullptr) return Invalid("%.160s: const without 'val'", what.c_str());
      ValueInfo v;
      WK_TRY(ParseValue(*val, what, &v));
      WK_TRY(StoredNode(v, what, node_index));
      Node& node = m_->nodes[*node_index];
      node.name = first;
      return CheckDeclared(op, node, what);
    }
    Node node;
    node.type = op.type;
    node.name = first;
    static const struct {
      const char* type;
      OpKind kind;
      const char* params[kMaxOperands];
      int required;  // leading params that must be present
    } kOps[] = {
        {"constexpr_lut_to_dense", OpKind::kLutToDense18, {"indices", "lut"}, 2},
        {"constexpr_sparse_to_dense", OpKind::kSparseToDense18, {"nonzero_data", "mask"}, 2},
        {"constexpr_affine_dequantize", OpKind::kAffine, {"quantized_data", "zero_point", "scale"}, 3},
        {"constexpr_cast", OpKind::kCast, {"source_val"}, 1},
        {"constexpr_blockwise_shift_scale", OpKind::kShiftScale, {"data", "scale", "offset"}, 2},
        {"constexpr_lut_to_sparse", OpKind::kLutToSparse,
         {"indices_mask", "indices_nonzero_data", "lut"}, 3},
        {"constexpr_sparse_blockwise_shift_scale", OpKind::kSparseShiftScale,
         {"data_mask", "nonzero_data", "scale", "offset"}, 3},
    };
    int entry = -1;
    for (int i = 0; i < static_cast<int>(sizeof(kOps) / sizeof(kOps[0])); ++i)
      if (op.type == kOps[i].type) entry = i;
    if (entry < 0)
      return Invalid("%.160s: op type '%.48s' is not a constexpr op this reader knows",
                     what.c_str(), op.type.c_str());
    node.kind = kOps[entry].kind;
    Binding b;
    bool found;
    // iOS16 lut_to_dense / sparse_to_dense carry an output `shape` operand.
    WK_TRY(Operand(op, "shape", what, &b, &found));
    const bool ios16 = found;
    if (ios16 && node.kind == OpKind::kLutToDense18) node.kind = OpKind::kLutToDense16;
    if (ios16 && node.kind == OpKind::kSparseToDense18) node.kind = OpKind::kSparseToDense16;
    for (int p = 0; p < kMaxOperands; ++p) {
      const char* param = kOps[entry].params[p];
      if (param == nullptr) {
        if (ios16 && p == 2) WK_TRY(Resolve(fn, b, what + ".shape", depth + 1, &node.in[2]));
        continue;
      }
      Binding pb;
      WK_TRY(Operand(op, param, what, &pb, &found));
      if (!found && p < kOps[entry].required)
        return Invalid("%.160s: operand '%s' missing", what.c_str(), param);
      if (found) WK_TRY(Resolve(fn, pb, what + "." + param, depth + 1, &node.in[p]));
    }
    if (node.kind == OpKind::kLutToDense18 || node.kind == OpKind::kLutToSparse) {
      WK_TRY(Operand(op, "vector_axis", what, &b, &found));
      if (found) {
        WK_TRY(ScalarInt(fn, b, what + ".vector_axis", &node.vector_axis));
        node.has_vector_axis = true;
      }
    }
    if (node.kind == OpKind::kAffine) {
      WK_TRY(Operand(op, "axis", what, &b, &found));
      if (!found) return Invalid("%.160s: operand 'axis' missing", what.c_str());
      WK_TRY(ScalarInt(fn, b, what + ".axis", &node.axis));
    }
    if (node.kind == OpKind::kCast) {
      WK_TRY(Operand(op, "output_dtype", what, &b, &found));
      std::string out;
      if (found) WK_TRY(ScalarString(fn, b, what + ".output_dtype", &out));
      if (out != "fp32")
        return Invalid("%.160s: output_dtype '%.16s', only 'fp32' is defined", what.c_str(),
                       out.c_str());
    }
    WK_TRY(Infer(&node, what));
    *node_index = static_cast<int>(m_->nodes.size());
    m_->nodes.push_back(std::move(node));
    return CheckDeclared(op, m_->nodes[*node_index], what);
  }

  const OutType& TypeOf(const Ref& r) const { return m_->nodes[r.node].out[r.output]; }

  wk_status ShapeOperand(const Ref& r, const std::string& what, OutType* out) {
    const Node& s = m_->nodes[r.node];
    if (s.kind != OpKind::kStored || s.value.dtype != WK_DTYPE_UINT32 || s.value.rank != 1 ||
        s.value.shape[0] > WK_MAX_RANK)
      return Invalid("%.160s: shape must be a stored uint32 vector of at most %d extents",
                     what.c_str(), WK_MAX_RANK);
    out->rank = static_cast<uint32_t>(s.value.shape[0]);
    for (uint32_t d = 0; d < out->rank; ++d)
      out->shape[d] = Load32(static_cast<const uint8_t*>(s.value.data) + 4 * d);
    return WK_OK;
  }

  // Output types from the operand types (the op's remaining rules are checked when it runs).
  wk_status Infer(Node* node, const std::string& what) {
    OutType& out = node->out[0];
    switch (node->kind) {
      case OpKind::kLutToDense18:
      case OpKind::kLutToSparse: {
        const OutType& idx = TypeOf(node->in[0]);
        const OutType& lut = TypeOf(node->in[node->kind == OpKind::kLutToSparse ? 2 : 1]);
        if (idx.rank < 1 || lut.rank != idx.rank + 2)
          return Invalid("%.160s: lut rank %u, expected indices rank %u + 2", what.c_str(), lut.rank,
                         idx.rank);
        const int64_t v = lut.shape[lut.rank - 1];
        out = idx;
        if (v != 1) {
          const int64_t k = idx.rank;
          if (!node->has_vector_axis || node->vector_axis < -k || node->vector_axis >= k)
            return Invalid("%.160s: vector size %lld needs a vector_axis in [-%lld, %lld)",
                           what.c_str(), static_cast<long long>(v), static_cast<long long>(k),
                           static_cast<long long>(k));
          const int64_t a = (node->vector_axis + k) % k;
          if (v <= 0 || out.shape[a] > static_cast<int64_t>(kMaxElements) / v)
            return Invalid("%.160s: output too large", what.c_str());
          out.shape[a] *= v;
        }
        if (node->kind == OpKind::kLutToDense18) {
          out.dtype = lut.dtype;
        } else {
          out.dtype = WK_DTYPE_UINT1;
          const OutType& nz = TypeOf(node->in[1]);
          if (nz.rank != 1) return Invalid("%.160s: indices_nonzero_data must be rank 1", what.c_str());
          node->outputs = 2;
          node->out[1].dtype = lut.dtype;
          node->out[1].rank = 1;
          if (v <= 0 || nz.shape[0] > static_cast<int64_t>(kMaxElements) / v)
            return Invalid("%.160s: output too large", what.c_str());
          node->out[1].shape[0] = nz.shape[0] * v;
        }
        break;
      }
      case OpKind::kLutToDense16:
      case OpKind::kSparseToDense16: {
        WK_TRY(ShapeOperand(node->in[2], what, &out));
        uint64_t n;
        if (!CountOf(out.rank, out.shape, &n)) return Invalid("%.160s: shape too large", what.c_str());
        const bool lut = node->kind == OpKind::kLutToDense16;
        const OutType& packed = TypeOf(node->in[lut ? 0 : 1]);
        const OutType& values = TypeOf(node->in[lut ? 1 : 0]);
        uint32_t bits = 1;
        if (lut) {
          const int64_t p = values.shape[0];
          bits = p == 2 ? 1 : p == 4 ? 2 : p == 16 ? 4 : p == 64 ? 6 : p == 256 ? 8 : 0;
          if (values.rank != 1 || bits == 0)
            return Invalid("%.160s: lut must be rank 1 with 2, 4, 16, 64 or 256 entries", what.c_str());
        }
        if (packed.rank != 1 || packed.dtype != WK_DTYPE_UINT8 ||
            static_cast<uint64_t>(packed.shape[0]) != (bits * n + 7) / 8)
          return Invalid("%.160s: %s must be uint8 [%llu] for shape %s", what.c_str(),
                         lut ? "indices" : "mask", static_cast<unsigned long long>((bits * n + 7) / 8),
                         ShapeText(out.rank, out.shape).c_str());
        out.dtype = values.dtype;
        break;
      }
      case OpKind::kSparseToDense18:
        out = TypeOf(node->in[1]);
        out.dtype = TypeOf(node->in[0]).dtype;
        break;
      case OpKind::kAffine:
        out = TypeOf(node->in[0]);
        out.dtype = TypeOf(node->in[2]).dtype;
        break;
      case OpKind::kCast:
        out = TypeOf(node->in[0]);
        out.dtype = WK_DTYPE_FP32;
        break;
      case OpKind::kShiftScale:
        out = TypeOf(node->in[0]);
        out.dtype = TypeOf(node->in[1]).dtype;
        break;
      case OpKind::kSparseShiftScale: {
        out = TypeOf(node->in[0]);
        const OutType& nz = TypeOf(node->in[1]);
        if (nz.rank != 1) return Invalid("%.160s: nonzero_data must be rank 1", what.c_str());
        node->outputs = 2;
        node->out[1] = nz;
        node->out[1].dtype = TypeOf(node->in[2]).dtype;
        break;
      }
      case OpKind::kStored:
        break;
    }
    for (int o = 0; o < node->outputs; ++o) {
      uint64_t n;
      if (!CountOf(node->out[o].rank, node->out[o].shape, &n))
        return Invalid("%.160s: output too large", what.c_str());
    }
    return WK_OK;
  }

  wk_status CheckDeclared(const ParsedOp& op, const Node& node, const std::string& what) {
    if (static_cast<int>(op.outputs.size()) != node.outputs)
      return Invalid("%.160s: %zu outputs, expected %d", what.c_str(), op.outputs.size(),
                     node.outputs);
    for (int o = 0; o < node.outputs; ++o) {
      TType t;
      if (!ParseType(op.outputs[o].second, &t))
        return Invalid("%.160s: output %d has no tensor type", what.c_str(), o);
      const OutType& x = node.out[o];
      bool same = DTypeOfCode(t.code) == x.dtype && t.rank == x.rank;
      for (uint32_t d = 0; same && d < t.rank; ++d) same = t.shape[d] == x.shape[d];
      if (!same)
        return Invalid("%.120s: output %d declared %s %s, its operands give %s %s", what.c_str(), o,
                       wk_dtype_name(DTypeOfCode(t.code)), ShapeText(t.rank, t.shape).c_str(),
                       wk_dtype_name(x.dtype), ShapeText(x.rank, x.shape).c_str());
    }
    return WK_OK;
  }

  // ---- weights ------------------------------------------------------------------------------

  static bool IsConstant(const std::string& type) {
    return type == "const" || type.compare(0, 10, "constexpr_") == 0;
  }

  wk_status FindWeights(int fn) {
    const Function& f = functions_[fn];
    std::set<std::string> seen;
    for (const ParsedOp& op : f.ops) {
      if (IsConstant(op.type)) continue;
      // Parameters by name: the order does not depend on how a writer orders the map.
      std::vector<const std::pair<std::string, std::vector<Binding>>*> inputs;
      for (const auto& in : op.inputs) inputs.push_back(&in);
      std::sort(inputs.begin(), inputs.end(),
                [](const auto* a, const auto* b) { return a->first < b->first; });
      for (const auto* input : inputs) {
        const auto& in = *input;
        for (const Binding& b : in.second) {
          if (!b.is_name || seen.count(b.name)) continue;
          const auto it = f.producers.find(b.name);
          if (it == f.producers.end()) continue;  // a function input or an outer value
          const ParsedOp& producer = f.ops[it->second.first];
          if (!IsConstant(producer.type)) continue;
          TType t;
          if (!ParseType(producer.outputs[it->second.second].second, &t)) continue;
          if (!IsFloatCode(t.code) || t.rank == 0) continue;
          seen.insert(b.name);
          Weight w;
          w.name = b.name;
          w.function = f.name;
          w.consumer_op = op.type;
          w.consumer_input = in.first;
          weight_ = b.name;
          WK_TRY(Output(fn, b.name, 0, "weight '" + b.name + "'", &w.root));
          Describe(&w);
          m_->list.push_back(std::move(w));
        }
      }
    }
    return WK_OK;
  }

  void Collect(const Ref& r, std::vector<int>* order, std::set<int>* seen) const {
    if (!seen->insert(r.node).second) return;
    const Node& n = m_->nodes[r.node];
    for (const Ref& in : n.in)
      if (in.node >= 0) Collect(in, order, seen);
    order->push_back(r.node);
  }

  void Describe(Weight* w) {
    std::vector<int> order;  // storage first, the weight's op last
    std::set<int> seen;
    Collect(w->root, &order, &seen);
    std::set<uint64_t> blobs;
    std::vector<std::string> chain;
    std::string lut_text, quant_text, tail;
    for (int index : order) {
      const Node& n = m_->nodes[index];
      if (n.kind == OpKind::kStored) {
        if (n.blob) {
          if (blobs.insert(n.blob_offset).second) w->blob_bytes += n.value.nbytes;
          if (model_blobs_.insert(n.blob_offset).second) m_->blob_bytes += n.value.nbytes;
        } else {
          w->immediate_bytes += n.value.nbytes;
        }
        continue;
      }
      bool listed = false;
      for (const auto& c : chain) listed |= c == n.type;
      if (!listed) chain.push_back(n.type);
      switch (n.kind) {
        case OpKind::kLutToDense16:
        case OpKind::kLutToDense18:
        case OpKind::kLutToSparse: {
          const bool ios16 = n.kind == OpKind::kLutToDense16;
          const OutType& lut = TypeOf(n.in[ios16 ? 1 : n.kind == OpKind::kLutToSparse ? 2 : 1]);
          const OutType& idx = TypeOf(n.in[0]);
          int64_t entries = ios16 ? lut.shape[0] : lut.shape[lut.rank - 2];
          int32_t bits = 0;
          while (bits < 8 && (int64_t{1} << bits) < entries) ++bits;
          w->nbits = bits;
          w->vector_size = ios16 ? 1 : static_cast<int32_t>(lut.shape[lut.rank - 1]);
          lut_text = "lut n=" + std::to_string(bits);
          lut_text += ios16 ? std::string(" per-tensor") : Grid(idx, lut.shape, idx.rank, "group");
          if (w->vector_size > 1)
            lut_text += " vector " + std::to_string(w->vector_size) + " axis " +
                        std::to_string(n.vector_axis);
          if (lut.dtype != WK_DTYPE_FP16 && lut.dtype != WK_DTYPE_FP32)
            lut_text += std::string(" ") + wk_dtype_name(lut.dtype) + " lut";
          break;
        }
        case OpKind::kShiftScale:
        case OpKind::kSparseShiftScale:
        case OpKind::kAffine: {
          // data_mask gives the sparse op's data shape, nonzero_data its dtype.
          const OutType& data = TypeOf(n.in[0]);
          const int32_t data_dtype = TypeOf(n.in[n.kind == OpKind::kSparseShiftScale ? 1 : 0]).dtype;
          const int scale = n.kind == OpKind::kShiftScale ? 1 : 2;
          if (IsFloatDType(data_dtype)) {  // a scale applied to a LUT or to palettized weights
            tail += " + scale";
            break;
          }
          w->nbits = static_cast<int32_t>(DTypeBits(data_dtype));
          quant_text = wk_dtype_name(data_dtype);
          if (n.kind == OpKind::kAffine) {
            const OutType& s = TypeOf(n.in[scale]);
            quant_text += s.rank == 1 && s.shape[0] > 1
                              ? " per-channel axis " + std::to_string(n.axis) + " affine"
                              : " per-tensor affine";
          } else {
            quant_text += Grid(data, TypeOf(n.in[scale]).shape, data.rank, "block");
          }
          break;
        }
        case OpKind::kSparseToDense16:
        case OpKind::kSparseToDense18:
          w->sparse = 1;
          break;
        case OpKind::kCast:
          tail += " -> fp32";
          break;
        case OpKind::kStored:
          break;
      }
    }
    const Node& root = m_->nodes[w->root.node];
    const OutType& t = root.out[w->root.output];
    uint64_t count = 0;
    CountOf(t.rank, t.shape, &count);
    w->nonzeros = count;
    if (w->sparse) {
      // The values of the last sparse_to_dense: one per set mask bit.
      for (int index : order) {
        const Node& n = m_->nodes[index];
        if (n.kind == OpKind::kSparseToDense16 || n.kind == OpKind::kSparseToDense18)
          w->nonzeros = static_cast<uint64_t>(TypeOf(n.in[0]).shape[0]);
      }
    }
    std::string scheme;
    if (w->sparse) {
      char pct[32];
      std::snprintf(pct, sizeof(pct), "sparse %.1f%%",
                    count == 0 ? 0.0 : 100.0 * (1.0 - static_cast<double>(w->nonzeros) / count));
      scheme = pct;
    }
    for (const std::string* part : {&lut_text, &quant_text}) {
      if (part->empty()) continue;
      scheme += scheme.empty() ? *part : " + " + *part;
    }
    if (scheme.empty()) scheme = "dense";
    w->scheme = scheme + tail;
    for (size_t i = 0; i < chain.size(); ++i) w->op_chain += (i ? "->" : "") + chain[i];
    if (w->op_chain.empty()) w->op_chain = "const";
  }

  // How a parameter grid divides the data: " per-tensor", or for each axis with one block per
  // element " per-channel" (axis 0) / " per-channel axis d", and for each partly blocked axis
  // " <word> B axis d" (B elements per block).
  static std::string Grid(const OutType& data, const int64_t* grid, uint32_t rank, const char* word) {
    std::string blocks, channels;
    for (uint32_t d = 0; d < rank; ++d) {
      if (grid[d] <= 0 || grid[d] == 1) continue;
      const int64_t b = data.shape[d] / grid[d];
      if (b == 1)
        channels += d == 0 ? " per-channel" : " per-channel axis " + std::to_string(d);
      else
        blocks += std::string(" ") + word + " " + std::to_string(b) + " axis " + std::to_string(d);
    }
    return blocks.empty() && channels.empty() ? " per-tensor" : blocks + channels;
  }

  Model* m_;
  wk_context* ctx_;
  std::set<uint64_t> model_blobs_;  // blob offsets already counted in m_->blob_bytes
  std::vector<Function> functions_;
  std::map<std::pair<int, int>, int> built_;
  std::set<std::pair<int, int>> visiting_;
  std::string weight_;  // the weight whose graph is being built, for messages
};

}  // namespace

wk_status ReadProgram(Model* model, wk_context* ctx) {
  Reader reader(model, ctx);
  return reader.Run();
}

}  // namespace model
}  // namespace wk
