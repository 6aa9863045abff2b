#!/bin/sh
# Builds examples/c and examples/cpp against an installed WeightKernels as a user's build would
# (pkg-config and the compiler, nothing of this repository's build), each linked to the shared
# and to the static library; runs the four programs; checks what the shared library exports.
#   sh examples/check-installed.sh PREFIX        (PREFIX as given to `make install`)
set -eu
prefix=$1
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
CC=${CC:-cc}
CXX=${CXX:-c++}
cd "$out"

set -x
$CC -std=c11 -Wall -Wextra -Werror "$here/c/palettized.c" \
  $(pkg-config --cflags --libs weightkernels) -o c-shared
$CC -std=c11 -Wall -Wextra -Werror "$here/c/palettized.c" $(pkg-config --cflags weightkernels) \
  $(pkg-config --static --define-variable=wk_lib=-l:libweightkernels.a --libs weightkernels) -o c-static
$CXX -std=c++17 -Wall -Wextra -Werror "$here/cpp/palettized.cpp" \
  $(pkg-config --cflags --libs weightkernels) -o cpp-shared
$CXX -std=c++17 -Wall -Wextra -Werror "$here/cpp/palettized.cpp" $(pkg-config --cflags weightkernels) \
  $(pkg-config --static --define-variable=wk_lib=-l:libweightkernels.a --libs weightkernels) -o cpp-static
set +x

soname=$(readelf -d "$prefix/lib/libweightkernels.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
failed=0
for program in c-shared c-static cpp-shared cpp-static; do
  # The shared builds must load the installed library, the static ones must not need it.
  needs=$(readelf -d "$program" | grep -c "NEEDED.*\[$soname\]" || true)
  case $program in *-shared) want=1 ;; *) want=0 ;; esac
  if [ "$needs" != "$want" ]; then
    echo "FAIL $program: $needs NEEDED entries for $soname, expected $want"; failed=$((failed + 1))
  elif LD_LIBRARY_PATH="$prefix/lib" "./$program"; then
    echo "PASS $program"
  else
    echo "FAIL $program: exit status $?"; failed=$((failed + 1))
  fi
done

exports=$(nm -D --defined-only "$prefix/lib/libweightkernels.so" | awk '{print $3}')
others=$(printf '%s\n' "$exports" | grep -v '^wk_' || true)
if [ -n "$others" ]; then
  echo "FAIL exports other than wk_*:"; printf '%s\n' "$others"; failed=$((failed + 1))
else
  echo "PASS $soname exports only wk_* ($(printf '%s\n' "$exports" | wc -l) symbols)"
fi
[ "$failed" -eq 0 ]
