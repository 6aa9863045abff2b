# Arm (aarch64) under emulation: the kernels and the C-ABI driver (Tests/CDriver) cross-compiled
# with Debian's gcc against libhwy-dev:arm64 and run under qemu-user on one CPU per Arm target
# Highway 1.0.3 dispatches to. Included from the Makefile (after KERNEL_SOURCES/KERNEL_HEADERS).

ARM_DIR := .build-arm
ARM_CXX ?= aarch64-linux-gnu-g++
QEMU_AARCH64 ?= qemu-aarch64
# Generated inputs per fuzz target and qemu run; run n uses seeds ARM_SEED + n * ARM_CASES onwards,
# so every run checks different inputs.
ARM_CASES ?= 500
ARM_SEED ?= 1
# gcc with default flags: Highway compiles every Arm target it can dispatch to at run time.
ARM_CXXFLAGS := -O2 -std=c++17 -DHWY_SHARED_DEFINE -ICKernels -ICKernels/include
ARM_OBJECTS := $(patsubst CKernels/%.cc,$(ARM_DIR)/obj/%.o,$(KERNEL_SOURCES))
DRIVER_SOURCES := Tests/CDriver/driver.cc Tests/CDriver/vectors.cc
DRIVER_HEADERS := Tests/CDriver/driver.h Fuzz/fuzz_support.h
FUZZ_SOURCES := $(addprefix Fuzz/,$(addsuffix _fuzz.cc,$(FUZZ_TARGETS)))
VECTORS_DIR := Tests/WeightKernelsTests/Fixtures/coremltools

.PHONY: deps-arm test-arm arm-runs clean-arm driver-native

# The cross toolchain, qemu-user, Highway for arm64 (same version as the amd64 package: both
# share /usr/include/hwy) and nlohmann-json for the vector manifest. Installs only what is missing.
ARM_PACKAGES := g++-aarch64-linux-gnu qemu-user libhwy-dev:arm64 libc6:arm64 libstdc++6:arm64 nlohmann-json3-dev
deps-arm: deps
	@missing=""; for p in $(ARM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  dpkg --print-foreign-architectures | grep -qx arm64 || $(SUDO) dpkg --add-architecture arm64; \
	  hwy=$$(dpkg-query -W -f='$${Version}' libhwy-dev:amd64); \
	  pkgs=$$(echo "$$missing" | sed "s/libhwy-dev:arm64/libhwy-dev:arm64=$$hwy/"); \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$pkgs; \
	fi

$(ARM_DIR)/obj/%.o: CKernels/%.cc $(KERNEL_HEADERS)
	@mkdir -p $(dir $@)
	$(ARM_CXX) $(ARM_CXXFLAGS) -c $< -o $@

# Each fuzz target is linked in with its entry point renamed, so the driver runs their checks.
$(ARM_DIR)/fuzz/%_fuzz.o: Fuzz/%_fuzz.cc Fuzz/fuzz_support.h CKernels/include/weightkernels.h
	@mkdir -p $(dir $@)
	$(ARM_CXX) $(ARM_CXXFLAGS) -DLLVMFuzzerTestOneInput=wk_fuzz_$* -c $< -o $@

$(ARM_DIR)/driver/%.o: Tests/CDriver/%.cc $(DRIVER_HEADERS) CKernels/include/weightkernels.h
	@mkdir -p $(dir $@)
	$(ARM_CXX) $(ARM_CXXFLAGS) -IFuzz -c $< -o $@

$(ARM_DIR)/cdriver: $(ARM_OBJECTS) $(patsubst Fuzz/%.cc,$(ARM_DIR)/fuzz/%.o,$(FUZZ_SOURCES)) \
    $(patsubst Tests/CDriver/%.cc,$(ARM_DIR)/driver/%.o,$(DRIVER_SOURCES))
	$(ARM_CXX) $^ -lhwy -lpthread -o $@

# qemu CPU, then the target Highway picks for it, for each Arm target. The driver checks every
# target the CPU supports against EMU128, fails unless that one is among them, and checks that the
# library's default stays NEON (wk_best_target prefers it to the SVE targets).
ARM_RUNS := cortex-a72:NEON a64fx:SVE a64fx,sve-default-vector-length=32:SVE_256 \
  max:SVE2 max,sve-default-vector-length=256:SVE2 max,sve-default-vector-length=16:SVE2_128

# One make target per run (arm-run-1 ... arm-run-6), so that a parallel make runs as many qemu
# processes at once as it has jobs; each run's output goes to $(ARM_DIR)/run-K.log and is printed
# when it ends. test-arm builds and runs in parallel: under a parent make's jobserver with its
# jobs, else with -j$(NPROC). `make test` makes arm-runs in the make that builds the fuzzers.
ARM_RUN_IDS := $(shell seq 1 $(words $(ARM_RUNS)))
test-arm: deps-arm
	$(MAKE) --no-print-directory $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(NPROC)) arm-runs

arm-runs: $(addprefix arm-run-,$(ARM_RUN_IDS))

arm-run-%: $(ARM_DIR)/cdriver
	@set -e; run=$(word $*,$(ARM_RUNS)); cpu=$${run%:*}; want=$${run##*:}; \
	seed=$$(( $(ARM_SEED) + ($* - 1) * $(ARM_CASES) )); log=$(ARM_DIR)/run-$*.log; \
	start=$$(date +%s); \
	if $(QEMU_AARCH64) -cpu $$cpu $(ARM_DIR)/cdriver --vectors $(VECTORS_DIR) --seeds Fuzz/seeds \
	    --cases $(ARM_CASES) --seed $$seed --expect-cpu $$want --expect-target NEON > $$log 2>&1; \
	then status=passed; else status=FAILED; fi; \
	echo "== qemu-aarch64 -cpu $$cpu (expect $$want): $$status in $$(( $$(date +%s) - start )) s"; \
	sed 's/^/   /' $$log; test $$status = passed

# The same driver built and run natively with the host's g++ (every x86 target this CPU runs, against
# EMU128): a quick way to debug the driver itself. Not part of make test, whose Swift suites
# cover the x86 targets.
NATIVE_DIR := .build-cdriver
driver-native: deps-arm
	$(MAKE) -j$(NPROC) ARM_DIR=$(NATIVE_DIR) ARM_CXX=g++ $(NATIVE_DIR)/cdriver
	$(NATIVE_DIR)/cdriver --vectors $(VECTORS_DIR) --seeds Fuzz/seeds --cases $(ARM_CASES) --seed $(ARM_SEED)

clean-arm:
	rm -rf $(ARM_DIR) $(NATIVE_DIR)

clean: clean-arm
