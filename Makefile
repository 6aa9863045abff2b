# WeightKernels — the two commands of the README's quick start are `make bench` and `make test`.
# Both install what they need first (Debian's libhwy-dev); `.ci/run` calls `make test`.

SWIFT ?= swift
# The Swift toolchain's clang ships libFuzzer and the sanitizer runtimes.
CLANGXX ?= clang++
FUZZ_SECONDS ?= 60
# `make test` runs every fuzz target this long.
TEST_FUZZ_SECONDS ?= 30
NPROC := $(shell nproc 2>/dev/null || echo 2)
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps build bench test swift-test verify fuzz fuzz-build clean

all: build

# libhwy-dev from Debian (Highway 1.0.3); apt-get update first, as a fresh machine's lists may be
# empty or stale.
deps:
	@if [ ! -f /usr/include/hwy/highway.h ] || [ ! -e /usr/lib/x86_64-linux-gnu/libhwy.so ] && \
	    ! ldconfig -p | grep -q 'libhwy\.so '; then \
	  echo "installing libhwy-dev"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libhwy-dev; \
	fi

build: deps
	$(SWIFT) build

# The main job: lut4 fused GEMV on the default 4096 x 4096 shape, cold, against this machine's
# streaming bandwidth and dense fp16 GEMV.
bench: deps
	$(SWIFT) build -c release --product kernel-bench
	.build/release/kernel-bench --kernel lut4

# Every test: the Swift suites (XCTest and Swift Testing, every SIMD target the CPU supports),
# the coremltools vectors through kernel-bench verify, the downstream package, the installed
# library's examples, the Arm targets under qemu, then every fuzz target for a short run. Each
# step prints its wall time, so that CI's log shows where the minutes go. The Arm runs and the
# fuzz runs are single-threaded processes: one make runs them with both builds, a process per
# core, the Arm build first: its compiles are the longest, and when a recursive make built it
# (stop 38) it started after most of the fuzzers' objects and ended alone on one core.
# The examples step links the kernel objects swift-test compiled (LIB_SIMD_OBJECTS_FROM in
# mk/install.mk).
TEST_STEPS := swift-test verify downstream examples test-arm-and-fuzz
test: deps
	@set -e; total=$$(date +%s); for step in $(TEST_STEPS); do \
	  start=$$(date +%s); \
	  if [ $$step = examples ]; then \
	    objects="$$($(SWIFT) build --show-bin-path $(SWIFT_TEST_BUILD_FLAGS))/CKernels.build"; \
	    $(MAKE) --no-print-directory $$step LIB_SIMD_OBJECTS_FROM="$$objects"; \
	  else $(MAKE) --no-print-directory $$step; fi; \
	  echo "== make $$step: $$(( $$(date +%s) - start )) s"; \
	done; echo "== make test: $$(( $$(date +%s) - total )) s"

.PHONY: test-arm-and-fuzz
test-arm-and-fuzz: deps-arm
	$(MAKE) --no-print-directory -j$(NPROC) arm-runs fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

# Line tables only for the C++ of the test build (SwiftPM's -g comes after Package.swift's flags,
# -Xcxx after it): with full debug info of the inlined kernels the longest source (then the whole
# of sparse_quant_gemv.cc) took 370-430 s on Zen 3, with line tables 260. verify builds with the
# same flags, so that it reuses these objects.
SWIFT_TEST_BUILD_FLAGS := -Xcxx -gline-tables-only

swift-test:
	$(SWIFT) build --build-tests $(SWIFT_TEST_BUILD_FLAGS)
	$(SWIFT) test --skip-build

# The Swift suites compare the library's decompression of every fixture model with coremltools';
# this checks the CLI end to end: `kernel-bench inspect --json --dump` writes exactly those bytes.
MODEL_FIXTURES := Tests/WeightKernelsTests/Fixtures/models

verify:
	$(SWIFT) build --product kernel-bench $(SWIFT_TEST_BUILD_FLAGS)
	.build/debug/kernel-bench verify Tests/WeightKernelsTests/Fixtures/coremltools
	@set -e; dump=$$(mktemp -d); trap 'rm -rf "$$dump"' EXIT; \
	for model in $(MODEL_FIXTURES)/*.mlpackage; do \
	  name=$$(basename $$model .mlpackage); expected=$(MODEL_FIXTURES)/$$name.expected; \
	  .build/debug/kernel-bench inspect $$model --json --dump $$dump/$$name > $$dump/$$name.json; \
	  for file in $$expected/*.bin; do cmp $$file $$dump/$$name/$$(basename $$file); done; \
	  test $$(ls $$dump/$$name | wc -l) -eq $$(ls $$expected/*.bin | wc -l) || \
	    { echo "$$name: inspect --dump wrote another set of weights than $$expected"; exit 1; }; \
	done; \
	echo "kernel-bench inspect --dump: every weight of every fixture model equals coremltools' decompression"

# ---------------------------------------------------------------------------------------------
# Fuzzing: libFuzzer + ASan + UBSan over the C ABI, every kernel source compiled in directly.

FUZZ_TARGETS := palettization sparsity quantization model
FUZZ_DIR := .build-fuzz
# Slowest compiles first (every build here: the library's, the fuzzers', the Arm one), so that no
# long compile starts late and runs alone on one core at the end of a parallel build, as
# sparse_quant_gemv.cc (last by name) did for ~100 s at the end of the library's build and of the
# Arm build in stop 38's CI. Ordered by their compile times in the three builds (stop 39, Zen 3:
# 662, 417, 394, 382, 346, 340, 197, 193, 186 and 53 s); other sources follow by name.
SLOW_KERNEL_SOURCES := $(addprefix CKernels/,$(addsuffix .cc,sparsity/sparse_quant_gemv \
  sparsity/sparse_quant_decompress quantization/quant_gemv_nibbles sparsity/sparse_kernels \
  palettization/lut_decompress quantization/quant_decompress palettization/lut_gemv_narrow \
  quantization/quant_gemv_bytes palettization/lut_gemv_wide dense/dense_kernels))
KERNEL_SOURCES := $(SLOW_KERNEL_SOURCES) \
  $(filter-out $(SLOW_KERNEL_SOURCES),$(shell find CKernels -name '*.cc' | sort))
KERNEL_HEADERS := $(shell find CKernels -name '*.h')
FUZZ_OBJECTS := $(patsubst CKernels/%.cc,$(FUZZ_DIR)/obj/%.o,$(KERNEL_SOURCES))
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
# Only the SIMD targets this CPU can execute are compiled in: code that cannot run here cannot
# be fuzzed here, and every target costs minutes of sanitized compilation. SSE4 is left out too:
# the kernels take EMU128's branches on it (no native binary16 conversion, no FMA: WK_NATIVE_F16 and
# FusedMulAdd in common/simd-inl.h) at EMU128's width, so ASan sees the same accesses; it was a third
# of this build on an AVX2 CPU. Its arithmetic is checked bit for bit by the test suites. The
# command line replaces hwy_config.h's list, so SSSE3 and RVV are repeated here. Line tables only:
# full debug info of the inlined kernels triples the build time.
FUZZ_DISABLED_TARGETS := $(if $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo y),,HWY_AVX3|HWY_AVX3_DL|)HWY_SSE4|HWY_SSSE3|HWY_SVE|HWY_SVE2|HWY_SVE_256|HWY_SVE2_128|HWY_RVV
FUZZ_CXXFLAGS := -std=c++17 -O1 -gline-tables-only -fno-omit-frame-pointer $(SANITIZE) \
  '-DHWY_DISABLED_TARGETS=($(FUZZ_DISABLED_TARGETS))' -ICKernels -ICKernels/include
# The SIMD sources (compiled once per target) leave out UBSan's checks of pointers: ASan checks
# every access they make, and these checks took half of their sanitized compile
# (quant_gemv_bytes.cc on Zen 3: 39 s without them against 82 s, pointer-overflow alone 23 s). The
# arithmetic checks (shifts, overflow, conversions) stay; the API, validation and model sources
# keep all of them.
KERNEL_SIMD_SOURCES := $(shell grep -l 'hwy/foreach_target.h' $(KERNEL_SOURCES))
FUZZ_SIMD_OBJECTS := $(patsubst CKernels/%.cc,$(FUZZ_DIR)/obj/%.o,$(KERNEL_SIMD_SOURCES))
$(FUZZ_SIMD_OBJECTS): FUZZ_OBJECT_FLAGS := \
  -fno-sanitize=pointer-overflow,alignment,null,object-size,vptr,function

$(FUZZ_DIR)/obj/%.o: CKernels/%.cc $(KERNEL_HEADERS)
	@mkdir -p $(dir $@)
	$(CLANGXX) $(FUZZ_CXXFLAGS) $(FUZZ_OBJECT_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/%_fuzz: Fuzz/%_fuzz.cc Fuzz/fuzz_support.h $(FUZZ_OBJECTS)
	$(CLANGXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -fuse-ld=lld $< $(FUZZ_OBJECTS) -lhwy -lstdc++ -o $@

.SECONDARY: $(FUZZ_OBJECTS)

fuzz-build: deps $(addprefix $(FUZZ_DIR)/,$(addsuffix _fuzz,$(FUZZ_TARGETS)))

# Runs each target for FUZZ_SECONDS (with -j, several at once); any finding (crash, sanitizer
# report, mismatch) fails, and libFuzzer leaves the input in $(FUZZ_DIR)/artifacts for replay:
# `$(FUZZ_DIR)/NAME_fuzz FILE`. Each run's output goes to $(FUZZ_DIR)/NAME.log, printed whole on
# a finding and its final statistics otherwise, so that parallel runs do not interleave.
fuzz: $(addprefix fuzz-run-,$(FUZZ_TARGETS))

fuzz-run-%: deps $(FUZZ_DIR)/%_fuzz
	@mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/artifacts
	@echo "fuzzing $* for $(FUZZ_SECONDS) s"
	@if $(FUZZ_DIR)/$*_fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=60 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/ $(FUZZ_DIR)/corpus/$* Fuzz/seeds/$* \
	    > $(FUZZ_DIR)/$*.log 2>&1; then \
	  echo "fuzz $*: no finding"; grep '^stat::' $(FUZZ_DIR)/$*.log | sed 's/^/  $* /'; \
	else \
	  cat $(FUZZ_DIR)/$*.log; echo "fuzz $*: FAILED (log above, $(FUZZ_DIR)/$*.log)"; exit 1; \
	fi

clean:
	rm -rf .build $(FUZZ_DIR)

include mk/install.mk
include mk/arm.mk
