// The coremltools reference vectors (FORMATS.md §12) replayed through the C ABI: the C twin of
// Sources/CoreMLVectors/VectorRunner.swift, for builds without Swift (cross-compiled for Arm).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "driver.h"
#include "include/weightkernels.h"

namespace wk_driver {
namespace {

using nlohmann::json;

// A tensor read from a case file or produced by a step.
struct Tensor {
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  wk_tensor View() const {
    wk_tensor t{};
    t.data = bytes.data();
    t.nbytes = bytes.size();
    t.dtype = dtype;
    t.rank = static_cast<uint32_t>(shape.size());
    for (size_t d = 0; d < shape.size() && d < WK_MAX_RANK; ++d) t.shape[d] = shape[d];
    return t;
  }
};

// A problem of the manifest or the files, not of the library: fails the case whatever it expects.
struct SuiteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A step the library rejected: the status and its message.
struct Rejected {
  std::string what;
};

// dtype code of a manifest name, 0 when the library has no such dtype.
int32_t DtypeCode(const std::string& name) {
  for (int32_t code = 1; code < 32; ++code) {
    if (wk_dtype_bits(code) != 0 && name == wk_dtype_name(code)) return code;
  }
  return 0;
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SuiteError("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<int64_t> OptionalInt(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return it->get<int64_t>();
}

// Value of a one-element integer tensor (a scalar operand such as vector_axis).
int64_t ScalarInteger(const Tensor& t) {
  const uint32_t bits = wk_dtype_bits(t.dtype);
  if (t.dtype == WK_DTYPE_FP16 || t.dtype == WK_DTYPE_FP32 || bits < 8 || t.bytes.size() != bits / 8) {
    throw SuiteError("scalar operand is not one integer");
  }
  uint32_t raw = 0;
  std::memcpy(&raw, t.bytes.data(), bits / 8);
  const bool is_signed = t.dtype == WK_DTYPE_INT8 || t.dtype == WK_DTYPE_INT16 || t.dtype == WK_DTYPE_INT32;
  if (is_signed && bits < 32 && (raw >> (bits - 1)) & 1u) return static_cast<int64_t>(raw) - (int64_t{1} << bits);
  return is_signed ? static_cast<int32_t>(raw) : static_cast<int64_t>(raw);
}

class CaseRunner {
 public:
  CaseRunner(const json& c, const std::string& directory, uint64_t target)
      : case_(c), folder_(directory + "/" + c.at("dir").get<std::string>()), target_(target) {
    const std::string opset = c.at("opset").get<std::string>();
    if (opset.rfind("iOS", 0) == 0) {
      ios16_ops_ = std::stoi(opset.substr(3)) < 18;
    } else if (const auto spec = OptionalInt(c, "spec_version")) {
      ios16_ops_ = *spec < 9;
    }
  }

  // "" when the case passes, else why not.
  std::string Run() {
    const bool expect_error = case_.at("expected_error").get<bool>();
    std::vector<std::pair<std::string, Tensor>> outputs;
    try {
      for (const json& step : case_.at("steps")) {
        std::vector<Tensor> results = Perform(step);
        const json& ids = step.at("outputs");
        if (!ids.empty() && ids.size() != results.size()) throw SuiteError("step output count differs from the op's");
        for (size_t i = 0; i < ids.size(); ++i) {
          bound_[ids[i].get<std::string>()] = results[i];
          outputs.emplace_back(ids[i].get<std::string>(), results[i]);
        }
      }
    } catch (const Rejected& r) {
      return expect_error ? "" : "the library rejected a valid case: " + r.what;
    } catch (const SuiteError& e) {
      return std::string("suite: ") + e.what();
    }
    if (expect_error) return "coremltools rejected the case, the library accepted every step";
    std::map<std::string, bool> produced;
    for (const auto& [id, tensor] : outputs) {
      produced[id] = true;
      const json* spec = Spec(id);
      if (spec == nullptr || !Compared(*spec)) continue;
      const std::string difference = Compare(tensor, *spec);
      if (!difference.empty()) return "tensor " + id + ": " + difference;
    }
    for (const json& spec : case_.at("tensors")) {
      if (Compared(spec) && !produced.count(spec.at("id").get<std::string>())) {
        return "no step produced " + spec.at("id").get<std::string>();
      }
    }
    return "";
  }

 private:
  static bool Compared(const json& spec) {
    const std::string role = spec.at("role").get<std::string>();
    return role == "intermediate" || role == "expected";
  }

  const json* Spec(const std::string& id) const {
    for (const json& t : case_.at("tensors")) {
      if (t.at("id").get<std::string>() == id) return &t;
    }
    return nullptr;
  }

  // An operand: an earlier step's output, else the tensor's file. An unknown dtype is rejected
  // as the library would reject it.
  const Tensor* Operand(const json& step, const char* param) {
    for (const json& input : step.at("inputs")) {
      if (input.at("param").get<std::string>() != param) continue;
      const std::string id = input.at("tensor").get<std::string>();
      if (const auto it = bound_.find(id); it != bound_.end()) return &it->second;
      const json* spec = Spec(id);
      if (spec == nullptr) throw SuiteError("input " + id + " is neither a listed tensor nor an earlier output");
      Tensor t;
      t.dtype = DtypeCode(spec->at("dtype").get<std::string>());
      if (t.dtype == 0) throw Rejected{"operand " + id + ": unknown dtype"};
      t.shape = spec->at("shape").get<std::vector<int64_t>>();
      if (t.shape.size() > WK_MAX_RANK) throw Rejected{"operand " + id + ": rank above WK_MAX_RANK"};
      t.bytes = ReadFile(folder_ + "/" + spec->at("file").get<std::string>());
      return &(bound_[id] = std::move(t));
    }
    return nullptr;
  }

  const Tensor& Required(const json& step, const char* param) {
    const Tensor* t = Operand(step, param);
    if (t == nullptr) throw SuiteError(step.at("op").get<std::string>() + " has no input " + param);
    return *t;
  }

  // A scalar argument: a tensor operand, else the step's field.
  std::optional<int64_t> Integer(const json& step, const char* param) {
    if (const Tensor* t = Operand(step, param)) return ScalarInteger(*t);
    return OptionalInt(step, param);
  }

  // `ran`: the call wrote its outputs, so it reports the target it ran on.
  void Check(wk_status status, const wk_context& ctx, const json& step, bool ran) const {
    if (status != WK_OK) {
      throw Rejected{step.at("op").get<std::string>() + ": " + wk_status_name(status) + ": " + ctx.message};
    }
    if (ran && ctx.used_target != target_) throw SuiteError("used_target is not the requested target");
  }

  static Tensor Output(const wk_tensor_info& info) {
    Tensor t;
    t.dtype = info.dtype;
    t.shape.assign(info.shape, info.shape + info.rank);
    t.bytes.assign(info.nbytes, 0xA5);
    return t;
  }

  // A one-output op: `call(out, info, ctx)` with out NULL (shape inference), then for real.
  template <class Call>
  std::vector<Tensor> One(const json& step, const Call& call) {
    wk_context ctx;
    wk_context_init(&ctx);
    ctx.target = target_;
    wk_tensor_info info{};
    Check(call(nullptr, &info, &ctx), ctx, step, false);
    Tensor out = Output(info);
    wk_buffer buffer{out.bytes.data(), out.bytes.size()};
    wk_tensor_info again{};
    Check(call(&buffer, &again, &ctx), ctx, step, true);
    return {std::move(out)};
  }

  // A two-output op (mask, values), the same way.
  template <class Call>
  std::vector<Tensor> Two(const json& step, const Call& call) {
    wk_context ctx;
    wk_context_init(&ctx);
    ctx.target = target_;
    wk_tensor_info mask_info{}, values_info{};
    Check(call(nullptr, nullptr, &mask_info, &values_info, &ctx), ctx, step, false);
    Tensor mask = Output(mask_info), values = Output(values_info);
    wk_buffer mask_buffer{mask.bytes.data(), mask.bytes.size()};
    wk_buffer values_buffer{values.bytes.data(), values.bytes.size()};
    Check(call(&mask_buffer, &values_buffer, &mask_info, &values_info, &ctx), ctx, step, true);
    return {std::move(mask), std::move(values)};
  }

  std::vector<Tensor> Perform(const json& step) {
    const std::string op = step.at("op").get<std::string>();
    bool has_shape = false;
    for (const json& input : step.at("inputs")) has_shape |= input.at("param").get<std::string>() == "shape";
    const bool ios16 = has_shape || ios16_ops_;
    if (op == "constexpr_lut_to_dense") {
      const wk_tensor indices = Required(step, "indices").View(), lut = Required(step, "lut").View();
      if (ios16) {
        const wk_tensor shape = Required(step, "shape").View();
        return One(step, [&](const wk_buffer* o, wk_tensor_info* i, wk_context* c) {
          return wk_lut_to_dense_ios16(&indices, &lut, &shape, o, i, c);
        });
      }
      const std::optional<int64_t> axis = Integer(step, "vector_axis");
      const int32_t axis32 = static_cast<int32_t>(axis.value_or(0));
      return One(step, [&](const wk_buffer* o, wk_tensor_info* i, wk_context* c) {
        return wk_lut_to_dense_ios18(&indices, &lut, axis ? &axis32 : nullptr, o, i, c);
      });
    }
    if (op == "constexpr_sparse_to_dense") {
      const wk_tensor data = Required(step, "nonzero_data").View(), mask = Required(step, "mask").View();
      if (ios16) {
        const wk_tensor shape = Required(step, "shape").View();
        return One(step, [&](const wk_buffer* o, wk_tensor_info* i, wk_context* c) {
          return wk_sparse_to_dense_ios16(&data, &mask, &shape, o, i, c);
        });
      }
      return One(step, [&](const wk_buffer* o, wk_tensor_info* i, wk_context* c) {
        return wk_sparse_to_dense_ios18(&data, &mask, o, i, c);
      });
    }
    if (op == "constexpr_cast") {
      const auto it = step.find("output_dtype");
      if (it == step.end() || it->is_null()) throw SuiteError("constexpr_cast without output_dtype");
      const int32_t output = DtypeCode(it->get<std::string>());
      if (output == 0) throw Rejected{"output_dtype: unknown dtype " + it->get<std::string>()};
      const wk_tensor source = Required(step, "source_val").View();
      return One(step, [&](const wk_buffer* o, wk_tensor_info* i, wk_context* c) {
        return wk_cast(&source, output, o, i, c);
      });
    }
    if (op == "constexpr_affine_dequantize") {
      const std::optional<int64_t> axis = Integer(step, "axis");
      if (!axis) throw SuiteError("constexpr_affine_dequantize without axis");
      const wk_tensor q = Required(step, "quantized_data").View(), zp = Required(step, "zero_point").View(),
                      scale = Required(step, "scale").View();
      return One(step, [&](const wk_buffer* o, wk_tensor_info* i, wk_context* c) {
        return wk_affine_dequantize(&q, &zp, &scale, static_cast<int32_t>(*axis), o, i, c);
      });
    }
    if (op == "constexpr_blockwise_shift_scale") {
      const wk_tensor data = Required(step, "data").View(), scale = Required(step, "scale").View();
      const Tensor* offset = Operand(step, "offset");
      const wk_tensor offset_view = offset ? offset->View() : wk_tensor{};
      return One(step, [&](const wk_buffer* o, wk_tensor_info* i, wk_context* c) {
        return wk_blockwise_shift_scale(&data, &scale, offset ? &offset_view : nullptr, o, i, c);
      });
    }
    if (op == "constexpr_lut_to_sparse") {
      const wk_tensor mask = Required(step, "indices_mask").View(),
                      data = Required(step, "indices_nonzero_data").View(), lut = Required(step, "lut").View();
      const std::optional<int64_t> axis = Integer(step, "vector_axis");
      const int32_t axis32 = static_cast<int32_t>(axis.value_or(0));
      return Two(step, [&](const wk_buffer* om, const wk_buffer* ov, wk_tensor_info* im, wk_tensor_info* iv,
                           wk_context* c) {
        return wk_lut_to_sparse(&mask, &data, &lut, axis ? &axis32 : nullptr, om, ov, im, iv, c);
      });
    }
    if (op == "constexpr_sparse_blockwise_shift_scale") {
      const wk_tensor mask = Required(step, "data_mask").View(), data = Required(step, "nonzero_data").View(),
                      scale = Required(step, "scale").View();
      const Tensor* offset = Operand(step, "offset");
      const wk_tensor offset_view = offset ? offset->View() : wk_tensor{};
      return Two(step, [&](const wk_buffer* om, const wk_buffer* ov, wk_tensor_info* im, wk_tensor_info* iv,
                           wk_context* c) {
        return wk_sparse_blockwise_shift_scale(&mask, &data, &scale, offset ? &offset_view : nullptr, om, ov, im, iv,
                                               c);
      });
    }
    throw SuiteError("unknown op " + op);
  }

  // "" when `actual` equals the expected file bit for bit (dtype and shape too).
  std::string Compare(const Tensor& actual, const json& spec) const {
    const int32_t dtype = DtypeCode(spec.at("dtype").get<std::string>());
    if (actual.dtype != dtype) {
      return std::string("dtype ") + wk_dtype_name(actual.dtype) + ", expected " + spec.at("dtype").get<std::string>();
    }
    if (actual.shape != spec.at("shape").get<std::vector<int64_t>>()) return "shape differs";
    const std::vector<uint8_t> expected = ReadFile(folder_ + "/" + spec.at("file").get<std::string>());
    if (expected.size() != actual.bytes.size()) return "byte count differs";
    for (size_t i = 0; i < expected.size(); ++i) {
      if (expected[i] != actual.bytes[i]) {
        char text[96];
        std::snprintf(text, sizeof(text), "first difference at byte %zu: got 0x%02X, expected 0x%02X", i,
                      actual.bytes[i], expected[i]);
        return text;
      }
    }
    return "";
  }

  const json& case_;
  std::string folder_;
  uint64_t target_;
  bool ios16_ops_ = false;
  std::map<std::string, Tensor> bound_;
};

}  // namespace

Tally RunVectors(const std::string& directory, const std::vector<uint64_t>& targets, bool verbose) {
  Tally tally;
  json manifest;
  try {
    std::ifstream in(directory + "/manifest.json");
    if (!in) throw SuiteError("no manifest.json in " + directory);
    manifest = json::parse(in);
  } catch (const std::exception& e) {
    std::printf("FAILED: vectors: %s\n", e.what());
    ++tally.failed;
    return tally;
  }
  for (const json& c : manifest.at("cases")) {
    for (uint64_t target : targets) {
      if (verbose) std::fprintf(stderr, "vector %s on %s\n", c.at("name").get<std::string>().c_str(), wk_target_name(target));
      std::string failure;
      try {
        failure = CaseRunner(c, directory, target).Run();
      } catch (const std::exception& e) {
        failure = std::string("suite: ") + e.what();
      }
      if (failure.empty()) {
        ++tally.passed;
      } else {
        ++tally.failed;
        std::printf("FAILED: vector %s on %s: %s\n", c.at("name").get<std::string>().c_str(),
                    wk_target_name(target), failure.c_str());
      }
    }
  }
  return tally;
}

}  // namespace wk_driver
