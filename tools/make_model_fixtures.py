#!/usr/bin/env python3
"""Generates the Core ML model fixtures of Tests/WeightKernelsTests/Fixtures/models (issue 11).

    pip install coremltools==9.0 scikit-learn numpy
    python3 tools/make_model_fixtures.py [OUTPUT_DIR]   # default: Tests/WeightKernelsTests/Fixtures/models

Not needed by `make test`: the generated packages and their expected values are committed. Rerun it only
to regenerate them (the output is deterministic for a given coremltools/numpy/scikit-learn version,
except for the packages' random Manifest UUIDs).

Every fixture is one small ML program (iOS18 unless named ios16_*) with the same graph
    x[1,128] -> linear fc1 [64,128] + bias -> relu -> linear fc2 [96,64] -> relu
             -> matmul proj (y [96,48]) -> reshape [1,16,3,1] -> conv [32,16,3,3] (same padding)
converted to fp16 by ct.convert and compressed by the model-level coremltools.optimize.coreml functions,
so the files hold exactly what users get from coremltools 9.0 (FORMATS.md §9, including the default
pipeline's rewrites of §7.6). For each NAME.mlpackage the script writes NAME.expected/:

  * WEIGHT.bin for every weight: coremltools' own decompression of the saved file, raw little-endian in
    the weight's dtype. The saved package is loaded back through coremltools' milproto loader and every
    constexpr op is replaced by its `materialized_val_inference()` (the WeightDecompressor pass behind
    `coremltools.optimize.coreml.decompress_weights`). WEIGHT is the weight's name with every character
    outside [A-Za-z0-9_.-] replaced by '_'.
  * inventory.json: per weight its name, file, shape, dtype, op_chain (storage -> output, joined by "->"),
    consumer op type and input, blob_bytes (payload bytes of the distinct weight.bin blobs the chain reads,
    read from the blob metadata of the saved file), dense_fp16_bytes; and the model totals.

A weight is the value of a `const` or of a chain of constexpr ops that a non-constexpr op consumes, when
it is a floating-point tensor of rank >= 1 (so weights and biases, not shapes, strides or paddings).
"""

import json
import os
import re
import shutil
import struct
import sys
import warnings

import numpy as np

import coremltools as ct
import coremltools.optimize.coreml as cto
from coremltools.converters.mil import Builder as mb
from coremltools.models.utils import _apply_graph_pass
from coremltools.optimize.coreml._quantization_passes import WeightDecompressor

assert ct.__version__ == "9.0", f"coremltools 9.0 expected, found {ct.__version__}"

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "Tests", "WeightKernelsTests", "Fixtures", "models")

# Program DataType codes (FORMATS.md §8.1) of the dtypes a weight can have, with numpy types.
FLOAT_DTYPES = {10: ("fp16", np.float16), 11: ("fp32", np.float32), 13: ("bf16", None)}
WEIGHT_BIN = "@model_path/weights/weight.bin"


def base_model(target):
    rng = np.random.default_rng(11)
    w1 = (rng.standard_normal((64, 128)) * 0.1).astype(np.float32)
    b1 = (rng.standard_normal(64) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((96, 64)) * 0.1).astype(np.float32)
    y3 = (rng.standard_normal((96, 48)) * 0.1).astype(np.float32)
    wc = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 128))], opset_version=target)
    def prog(x):
        h = mb.linear(x=x, weight=w1, bias=b1, name="fc1")
        h = mb.relu(x=h)
        h = mb.linear(x=h, weight=w2, name="fc2")
        h = mb.relu(x=h)
        h = mb.matmul(x=h, y=y3, name="proj")
        h = mb.reshape(x=h, shape=[1, 16, 3, 1])
        return mb.conv(x=h, weight=wc, pad_type="same", name="conv")

    return ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=target,
                      compute_precision=ct.precision.FLOAT16)


def config(op_config):
    # weight_threshold 512: every weight matrix of the small graph qualifies (biases are rank 1, skipped).
    return cto.OptimizationConfig(global_config=op_config)


def pal(**kw):
    return config(cto.OpPalettizerConfig(weight_threshold=512, **kw))


def quant(**kw):
    return config(cto.OpLinearQuantizerConfig(weight_threshold=512, **kw))


def prune(**kw):
    return config(cto.OpMagnitudePrunerConfig(weight_threshold=512, **kw))


def ios16_mixed(model):
    # One model with every iOS16 constexpr op: fc1 and conv palettized, fc2 affine int8, proj sparse.
    names = {op: None for op in ("fc1_weight_0_to_fp16", "fc2_weight_0_to_fp16",
                                  "proj_y_0_to_fp16", "conv_weight_0_to_fp16")}
    def only(name, fn, op_config):
        cfg = cto.OptimizationConfig(op_name_configs=dict(names, **{name: op_config}))
        return fn(model, cfg)
    model = only("fc1_weight_0_to_fp16", cto.palettize_weights,
                 cto.OpPalettizerConfig(nbits=4, mode="kmeans", weight_threshold=512))
    model = only("conv_weight_0_to_fp16", cto.palettize_weights,
                 cto.OpPalettizerConfig(nbits=2, mode="uniform", weight_threshold=512))
    model = only("fc2_weight_0_to_fp16", cto.linear_quantize_weights,
                 cto.OpLinearQuantizerConfig(mode="linear", dtype="uint8", weight_threshold=512))
    return only("proj_y_0_to_fp16", cto.prune_weights,
                cto.OpMagnitudePrunerConfig(target_sparsity=0.5, weight_threshold=512))


# name -> (deployment target, compression applied to the converted fp16 model)
FIXTURES = {
    "fp16": (ct.target.iOS18, lambda m: m),
    "pal4_tensor": (ct.target.iOS18, lambda m: cto.palettize_weights(m, pal(nbits=4, mode="kmeans"))),
    "pal4_group16": (ct.target.iOS18, lambda m: cto.palettize_weights(
        m, pal(nbits=4, mode="kmeans", granularity="per_grouped_channel", group_size=16))),
    "pal3_pcs": (ct.target.iOS18, lambda m: cto.palettize_weights(
        m, pal(nbits=3, mode="kmeans", enable_per_channel_scale=True))),
    "pal8_uniform": (ct.target.iOS18, lambda m: cto.palettize_weights(m, pal(nbits=8, mode="uniform"))),
    "pal2_vector2": (ct.target.iOS18, lambda m: cto.palettize_weights(
        m, pal(nbits=2, mode="kmeans", cluster_dim=2))),
    "prune50": (ct.target.iOS18, lambda m: cto.prune_weights(m, prune(target_sparsity=0.5))),
    "prune_2of4": (ct.target.iOS18, lambda m: cto.prune_weights(m, prune(n_m_ratio=(2, 4)))),
    "prune50_pal4": (ct.target.iOS18, lambda m: cto.palettize_weights(
        cto.prune_weights(m, prune(target_sparsity=0.5)), pal(nbits=4, mode="kmeans"),
        joint_compression=True)),
    "prune50_int8": (ct.target.iOS18, lambda m: cto.linear_quantize_weights(
        cto.prune_weights(m, prune(target_sparsity=0.5)), quant(dtype="int8"), joint_compression=True)),
    "int8_channel": (ct.target.iOS18, lambda m: cto.linear_quantize_weights(
        m, quant(mode="linear", dtype="int8", granularity="per_channel"))),
    "int4_block16": (ct.target.iOS18, lambda m: cto.linear_quantize_weights(
        m, quant(mode="linear", dtype="int4", granularity="per_block", block_size=16))),
    "ios16_mixed": (ct.target.iOS16, ios16_mixed),
}


def file_name(weight_name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", weight_name)


def blob_sizes(weight_bin):
    """Metadata offset -> payload size of every blob in weight.bin (FORMATS.md §8.2)."""
    with open(weight_bin, "rb") as f:
        data = f.read()
    count, version = struct.unpack_from("<II", data, 0)
    assert version == 2, version
    sizes, offset = {}, 64
    for _ in range(count):
        sentinel, _code, size, data_offset = struct.unpack_from("<IIQQ", data, offset)
        assert sentinel == 0xDEADBEEF and data_offset == offset + 64
        sizes[offset] = size
        offset = (data_offset + size + 63) // 64 * 64
    return sizes


def value_blob(value):
    if value.WhichOneof("value") == "blobFileValue":
        assert value.blobFileValue.fileName == WEIGHT_BIN, value.blobFileValue.fileName
        return value.blobFileValue.offset
    return None


def tensor_type(value_type):
    t = value_type.tensorType
    return t.dataType, [d.constant.size for d in t.dimensions]


def inventory(package):
    """Walks the saved program (protobuf) and returns the weights with their chains and blob offsets."""
    spec = ct.utils.load_spec(package)
    sizes = blob_sizes(os.path.join(package, "Data", "com.apple.CoreML", "weights", "weight.bin"))
    weights = []
    for fname, function in spec.mlProgram.functions.items():
        block = function.block_specializations[function.opset]
        producers = {}   # output name -> op
        for op in block.operations:
            for out in op.outputs:
                producers[out.name] = op

        def chain(name):
            """(op types storage -> output, blob offsets) of the constexpr chain producing `name`."""
            op = producers[name]
            types, blobs = [], set()
            if op.type == "const":
                b = value_blob(op.attributes["val"])
                return ["const"], {b} if b is not None else set()
            for value in op.attributes.values():           # iOS16: operands are attributes
                b = value_blob(value)
                if b is not None:
                    blobs.add(b)
            for arg in op.inputs.values():                 # iOS18: inline values or names
                for binding in arg.arguments:
                    kind = binding.WhichOneof("binding")
                    if kind == "value":
                        b = value_blob(binding.value)
                        if b is not None:
                            blobs.add(b)
                    elif kind == "name" and binding.name in producers:
                        sub_types, sub_blobs = chain(binding.name)
                        # A const bound by name adds its blob, not a step.
                        types += [t for t in sub_types if t != "const" and t not in types]
                        blobs |= sub_blobs
            return types + [op.type], blobs

        seen = set()
        for op in block.operations:
            if op.type == "const" or op.type.startswith("constexpr_"):
                continue
            for param, arg in op.inputs.items():
                for binding in arg.arguments:
                    if binding.WhichOneof("binding") != "name" or binding.name not in producers:
                        continue
                    producer = producers[binding.name]
                    if producer.type != "const" and not producer.type.startswith("constexpr_"):
                        continue
                    out = next(o for o in producer.outputs if o.name == binding.name)
                    code, shape = tensor_type(out.type)
                    if code not in FLOAT_DTYPES or len(shape) == 0 or binding.name in seen:
                        continue
                    seen.add(binding.name)
                    types, blobs = chain(binding.name)
                    weights.append({
                        "name": binding.name, "file": file_name(binding.name) + ".bin",
                        "function": fname, "consumer": op.type, "consumer_input": param,
                        "op_chain": "->".join(types), "shape": shape, "dtype": FLOAT_DTYPES[code][0],
                        "blob_offsets": sorted(blobs), "blob_bytes": sum(sizes[b] for b in blobs),
                        "dense_fp16_bytes": 2 * int(np.prod(shape)),
                    })
    return weights


def decompressed(package):
    """Name -> value of every const after coremltools decompresses every constexpr op of the saved file."""
    prog = _apply_graph_pass(ct.models.MLModel(package, skip_model_load=True),
                             WeightDecompressor(op_selector=lambda op: True),
                             skip_model_load=True, return_pymil_prog=True)
    values = {}
    for function in prog.functions.values():
        for op in function.operations:
            if op.op_type == "const":
                values[op.outputs[0].name] = op.outputs[0].val
    return values


def write_fixture(out_dir, name, target, compress):
    package = os.path.join(out_dir, name + ".mlpackage")
    expected = os.path.join(out_dir, name + ".expected")
    for path in (package, expected):
        shutil.rmtree(path, ignore_errors=True)
    compress(base_model(target)).save(package)
    weights = inventory(package)
    values = decompressed(package)
    os.makedirs(expected)
    for w in weights:
        value = np.asarray(values[w["name"]])
        np_type = FLOAT_DTYPES[{"fp16": 10, "fp32": 11, "bf16": 13}[w["dtype"]]][1]
        assert value.dtype == np_type and list(value.shape) == w["shape"], (w, value.dtype, value.shape)
        value.astype(np.dtype(np_type).newbyteorder("<")).tofile(os.path.join(expected, w["file"]))
    all_blobs = sorted({b for w in weights for b in w["blob_offsets"]})
    sizes = blob_sizes(os.path.join(package, "Data", "com.apple.CoreML", "weights", "weight.bin"))
    model = {
        "name": name, "coremltools_version": ct.__version__, "numpy_version": np.__version__,
        "deployment_target": target.name, "weight_count": len(weights),
        "blob_bytes": sum(sizes[b] for b in all_blobs),
        "dense_fp16_bytes": sum(w["dense_fp16_bytes"] for w in weights),
    }
    with open(os.path.join(expected, "inventory.json"), "w") as f:
        json.dump({"model": model, "weights": weights}, f, indent=1)
        f.write("\n")
    print(f"{name}: {len(weights)} weights, {model['blob_bytes']} blob bytes, "
          + ", ".join(f"{w['name']} {w['op_chain']}" for w in weights))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    os.makedirs(out_dir, exist_ok=True)
    warnings.simplefilter("ignore")
    for name, (target, compress) in FIXTURES.items():
        write_fixture(out_dir, name, target, compress)


if __name__ == "__main__":
    main()
