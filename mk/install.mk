# Using WeightKernels from other builds (included by the Makefile):
# - `make install PREFIX=... [DESTDIR=...]` / `make uninstall`: libweightkernels.so and .a, the C
#   header and weightkernels.pc, for C and C++ programs that link the library through pkg-config;
# - `make examples`: installs into a temporary prefix and builds examples/c and examples/cpp
#   against it the way such a program would (examples/check-installed.sh), shared and static;
# - `make downstream`: builds and runs examples/swift, a package that depends on this one by path.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
LIB_CXX ?= $(CLANGXX)

# The version comes from the header only. Before 1.0 a minor version may change the ABI (the
# header says so), so the soname carries the minor version until then.
WK_HEADER := CKernels/include/weightkernels.h
WK_VERSION_MAJOR := $(shell sed -n 's/^.define WK_VERSION_MAJOR \([0-9][0-9]*\)$$/\1/p' $(WK_HEADER))
WK_VERSION_MINOR := $(shell sed -n 's/^.define WK_VERSION_MINOR \([0-9][0-9]*\)$$/\1/p' $(WK_HEADER))
$(if $(WK_VERSION_MAJOR),,$(error no WK_VERSION_MAJOR in $(WK_HEADER)))
$(if $(WK_VERSION_MINOR),,$(error no WK_VERSION_MINOR in $(WK_HEADER)))
WK_VERSION := $(WK_VERSION_MAJOR).$(WK_VERSION_MINOR).0
WK_SOVERSION := $(if $(filter 0,$(WK_VERSION_MAJOR)),0.$(WK_VERSION_MINOR),$(WK_VERSION_MAJOR))
WK_SONAME := libweightkernels.so.$(WK_SOVERSION)
WK_SHARED := libweightkernels.so.$(WK_VERSION)

# The kernels built as SwiftPM builds them (same defines and include paths as Package.swift),
# position-independent so that one set of objects serves the shared and the static library.
# Hidden visibility: only the header's declarations are exported (see its visibility pragma).
LIB_DIR := .build-lib
LIB_CXXFLAGS := -std=c++17 -O2 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden \
  -DHWY_SHARED_DEFINE -DHWY_WANT_AVX3_DL -ICKernels -ICKernels/include
# LIB_SIMD_OBJECTS_FROM=DIR links the SIMD kernels' objects from DIR (SwiftPM's layout:
# DIR/palettization/lut_decompress.cc.o) instead of compiling them again. make test passes its
# swift-test build's CKernels.build: the same compiler at -O2 -fPIC with the same defines (SwiftPM
# adds line tables and -DDEBUG, which no kernel reads), so the examples step no longer compiles every
# kernel a second time (599 of stop 41's 3012 s). The sources that define the C ABI, and with it the
# exports and their visibility (every source with an extern "C" block), are always compiled here
# with LIB_CXXFLAGS.
LIB_SIMD_OBJECTS_FROM ?=
LIB_REUSABLE_SOURCES := $(shell grep -L 'extern "C"' $(KERNEL_SIMD_SOURCES))
LIB_OBJECTS := $(foreach src,$(KERNEL_SOURCES),$(if $(and $(LIB_SIMD_OBJECTS_FROM),$(filter $(src),$(LIB_REUSABLE_SOURCES))),$(patsubst CKernels/%.cc,$(LIB_SIMD_OBJECTS_FROM)/%.cc.o,$(src)),$(patsubst CKernels/%.cc,$(LIB_DIR)/obj/%.o,$(src))))

.PHONY: lib install uninstall examples downstream pkg-config-dep clean-lib clean-downstream

lib: deps $(LIB_DIR)/$(WK_SHARED) $(LIB_DIR)/libweightkernels.a

$(LIB_DIR)/obj/%.o: CKernels/%.cc $(KERNEL_HEADERS)
	@mkdir -p $(dir $@)
	$(LIB_CXX) $(LIB_CXXFLAGS) -c $< -o $@

ifneq ($(LIB_SIMD_OBJECTS_FROM),)
$(LIB_SIMD_OBJECTS_FROM)/%.cc.o:
	@echo "no $@: build the Swift package first (swift build), or leave LIB_SIMD_OBJECTS_FROM unset"; exit 1
endif

$(LIB_DIR)/$(WK_SHARED): $(LIB_OBJECTS) mk/weightkernels.map
	$(LIB_CXX) -shared -Wl,-soname,$(WK_SONAME) -Wl,--version-script=mk/weightkernels.map \
	  -Wl,--no-undefined $(LIB_OBJECTS) -lhwy -lm -lpthread -o $@

$(LIB_DIR)/libweightkernels.a: $(LIB_OBJECTS)
	rm -f $@
	ar rcs $@ $(LIB_OBJECTS)

$(LIB_DIR)/weightkernels.pc: mk/weightkernels.pc.in $(WK_HEADER) FORCE
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(WK_VERSION)|' mk/weightkernels.pc.in > $@

# The .pc names PREFIX, which may differ from one install to the next.
FORCE:

install: lib $(LIB_DIR)/weightkernels.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(WK_HEADER) $(DESTDIR)$(INCLUDEDIR)/weightkernels.h
	install -m 755 $(LIB_DIR)/$(WK_SHARED) $(DESTDIR)$(LIBDIR)/$(WK_SHARED)
	ln -sf $(WK_SHARED) $(DESTDIR)$(LIBDIR)/$(WK_SONAME)
	ln -sf $(WK_SONAME) $(DESTDIR)$(LIBDIR)/libweightkernels.so
	install -m 644 $(LIB_DIR)/libweightkernels.a $(DESTDIR)$(LIBDIR)/libweightkernels.a
	install -m 644 $(LIB_DIR)/weightkernels.pc $(DESTDIR)$(PKGCONFIGDIR)/weightkernels.pc

# Exactly the files install writes (directories are left: they may have existed before).
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/weightkernels.h $(DESTDIR)$(LIBDIR)/$(WK_SHARED) \
	  $(DESTDIR)$(LIBDIR)/$(WK_SONAME) $(DESTDIR)$(LIBDIR)/libweightkernels.so \
	  $(DESTDIR)$(LIBDIR)/libweightkernels.a $(DESTDIR)$(PKGCONFIGDIR)/weightkernels.pc

# pkg-config is not on a fresh machine (the examples and every user of the .pc need it).
pkg-config-dep:
	@if ! command -v pkg-config >/dev/null; then \
	  echo "installing pkgconf"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq pkgconf; \
	fi

# Install into a fresh prefix, build and run the C and C++ examples against it (shared and
# static), then uninstall and check that nothing is left behind.
examples: deps pkg-config-dep
	@set -e; prefix=$$(mktemp -d); trap 'rm -rf "$$prefix"' EXIT; \
	$(MAKE) --no-print-directory -j$(NPROC) install PREFIX=$$prefix; \
	sh examples/check-installed.sh $$prefix; \
	$(MAKE) --no-print-directory uninstall PREFIX=$$prefix; \
	left=$$(find $$prefix ! -type d); \
	if [ -n "$$left" ]; then echo "uninstall left: $$left"; exit 1; fi; \
	echo "uninstall removed every installed file"

# SwiftPM keeps this package's build in examples/swift/.build (git-ignored like every .build/).
# -O0 -g0 (last on the command line, so they win over Package.swift's debug -O2): this build is
# only run, on shapes of a few thousand weights, never timed or debugged, and compiles in 29 s
# instead of 277 (2 cores); -O0 is also what a package depending on this one through a URL gets
# in debug. Its own scratch path: sharing this package's (to reuse swift-test's objects) built
# the root's plan without wk-downstream on a fresh clone's first run. A failed check exits non-zero.
downstream: deps
	$(SWIFT) build --package-path examples/swift -Xcxx -O0 -Xcxx -g0
	examples/swift/.build/debug/wk-downstream

clean: clean-lib clean-downstream
clean-lib:
	rm -rf $(LIB_DIR)
clean-downstream:
	rm -rf examples/swift/.build
