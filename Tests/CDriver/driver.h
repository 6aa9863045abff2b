// The C-ABI test driver (make test-arm): what its two parts share.
#ifndef WK_TESTS_CDRIVER_DRIVER_H_
#define WK_TESTS_CDRIVER_DRIVER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace wk_driver {

struct Tally {
  size_t passed = 0;
  size_t failed = 0;
};

// Replays every case of the coremltools manifest in `directory` through the C ABI on each of
// `targets` (FORMATS.md §12, as Sources/CoreMLVectors does in Swift): every compared tensor bit
// for bit, every invalid case rejected. One tally entry per case and target; failures are
// printed as they happen; `verbose` names each case on stderr before it runs.
Tally RunVectors(const std::string& directory, const std::vector<uint64_t>& targets, bool verbose);

}  // namespace wk_driver

#endif  // WK_TESTS_CDRIVER_DRIVER_H_
