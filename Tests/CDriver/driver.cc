// C-ABI test driver, built without Swift (make test-arm cross-compiles it for aarch64 and runs it
// under qemu). Two parts:
// - the coremltools vectors (vectors.cc) on every compiled target this CPU runs;
// - the fuzz targets of Fuzz/ (linked in, entry points renamed wk_fuzz_NAME) on their seeds and
//   on generated inputs: every input runs their differential checks (each supported target
//   against EMU128, several thread counts, fused GEMV against dense GEMV of the decompressed
//   weights, error paths), which abort on the first mismatch.
// Prints the CPU's best Highway target, the library's target, one "N passed, N failed" line per
// part and in total; exits non-zero on any failure (and for a failing generated input prints its
// seed: `cdriver --fuzz NAME --seed S --cases 1` replays it).
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <dirent.h>
#include <unistd.h>

#include "driver.h"
#include "fuzz_support.h"
#include "hwy/targets.h"
#include "include/weightkernels.h"

extern "C" int wk_fuzz_palettization(const uint8_t* data, size_t size);
extern "C" int wk_fuzz_sparsity(const uint8_t* data, size_t size);
extern "C" int wk_fuzz_quantization(const uint8_t* data, size_t size);

namespace {

struct FuzzTarget {
  const char* name;
  int (*run)(const uint8_t*, size_t);
};

constexpr FuzzTarget kFuzzTargets[] = {
    {"palettization", wk_fuzz_palettization},
    {"sparsity", wk_fuzz_sparsity},
    {"quantization", wk_fuzz_quantization},
};

// Generated inputs: 1..kMaxInput bytes, uniformly random. The fuzz targets read them as a stream
// of choices (entry point, format, shapes, dtypes, batch, threads) followed by operand bytes.
constexpr size_t kMaxInput = 1024;

std::vector<uint8_t> Generated(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> input(1 + rng() % kMaxInput);
  for (uint8_t& b : input) b = static_cast<uint8_t>(rng());
  return input;
}

// What runs now, for the report of a check that aborts (the fuzz checks abort on a mismatch).
char g_current[256] = "";
wk_driver::Tally g_tally;

void OnFatalSignal(int sig) {
  char text[512];
  const int n = std::snprintf(text, sizeof(text), "FAILED: %s (signal %d)\n%zu passed, %zu failed\n", g_current, sig,
                              g_tally.passed, g_tally.failed + 1);
  if (n > 0) (void)!write(STDOUT_FILENO, text, static_cast<size_t>(n));
  _exit(1);
}

std::vector<std::string> SeedFiles(const std::string& directory) {
  std::vector<std::string> files;
  if (DIR* dir = opendir(directory.c_str())) {
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') files.push_back(directory + "/" + entry->d_name);
    }
    closedir(dir);
  }
  std::sort(files.begin(), files.end());
  return files;
}

void Report(const char* part, const wk_driver::Tally& t) {
  std::printf("%s: %zu passed, %zu failed\n", part, t.passed, t.failed);
  std::fflush(stdout);
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: cdriver [--vectors DIR] [--seeds DIR] [--cases N] [--seed S] [--fuzz NAME]\n"
               "               [--expect-cpu TARGET] [--expect-target TARGET] [--verbose 1]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string vectors, seeds, only_fuzz, expect_cpu, expect_target;
  uint64_t cases = 0, seed = 1;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) Usage();
    const char* value = argv[++i];
    if (arg == "--vectors") vectors = value;
    else if (arg == "--seeds") seeds = value;
    else if (arg == "--cases") cases = std::strtoull(value, nullptr, 10);
    else if (arg == "--seed") seed = std::strtoull(value, nullptr, 10);
    else if (arg == "--fuzz") only_fuzz = value;
    else if (arg == "--expect-cpu") expect_cpu = value;
    else if (arg == "--expect-target") expect_target = value;
    else if (arg == "--verbose") verbose = std::strcmp(value, "0") != 0;
    else Usage();
  }

  // Highway's view of this CPU (every Arm or x86 target it detects, compiled here or not), read
  // after the library's first dispatch decision, which does not depend on it.
  const char* target = wk_target_name(wk_best_target());
  const int64_t cpu_targets = hwy::SupportedTargets();
  const char* cpu = hwy::TargetName(cpu_targets & -cpu_targets);
  std::printf("cpu %s\ntarget %s\n", cpu, target);
  const std::vector<uint64_t> targets = wk_fuzz::SupportedTargets();
  std::printf("checked targets:");
  for (uint64_t t : targets) std::printf(" %s", wk_target_name(t));
  std::printf(" (against %s)\n", wk_target_name(wk_fuzz::Portable()));
  std::fflush(stdout);

  wk_driver::Tally total;
  if (!expect_cpu.empty() && expect_cpu != cpu) {
    std::printf("FAILED: expected cpu %s\n", expect_cpu.c_str());
    ++total.failed;
  }
  // The CPU's best target must be among those checked (an SVE target is checked though NEON is
  // the library's default there).
  if (!expect_cpu.empty() && std::find(targets.begin(), targets.end(),
                                       static_cast<uint64_t>(cpu_targets & -cpu_targets)) ==
                                 targets.end()) {
    std::printf("FAILED: the cpu's target %s is not checked\n", cpu);
    ++total.failed;
  }
  if (!expect_target.empty() && expect_target != target) {
    std::printf("FAILED: expected target %s\n", expect_target.c_str());
    ++total.failed;
  }

  if (!vectors.empty()) {
    const wk_driver::Tally t = wk_driver::RunVectors(vectors, targets, verbose);
    Report("vectors (cases x targets)", t);
    total.passed += t.passed;
    total.failed += t.failed;
  }

  std::signal(SIGABRT, OnFatalSignal);
  std::signal(SIGSEGV, OnFatalSignal);
  std::signal(SIGBUS, OnFatalSignal);
  std::signal(SIGFPE, OnFatalSignal);
  g_tally = total;
  for (const FuzzTarget& f : kFuzzTargets) {
    if (!only_fuzz.empty() && only_fuzz != f.name) continue;
    wk_driver::Tally part;
    const std::vector<std::string> files = seeds.empty() ? std::vector<std::string>{} : SeedFiles(seeds + "/" + f.name);
    for (const std::string& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::vector<uint8_t> input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::snprintf(g_current, sizeof(g_current), "fuzz %s seed file %s", f.name, file.c_str());
      if (verbose) std::fprintf(stderr, "%s\n", g_current);
      f.run(input.data(), input.size());
      ++part.passed;
      ++g_tally.passed;
    }
    for (uint64_t i = 0; i < cases; ++i) {
      const std::vector<uint8_t> input = Generated(seed + i);
      std::snprintf(g_current, sizeof(g_current), "fuzz %s seed %llu (replay: --fuzz %s --seed %llu --cases 1)",
                    f.name, static_cast<unsigned long long>(seed + i), f.name,
                    static_cast<unsigned long long>(seed + i));
      if (verbose) std::fprintf(stderr, "%s\n", g_current);
      f.run(input.data(), input.size());
      ++part.passed;
      ++g_tally.passed;
    }
    if (part.passed == 0) continue;
    const std::string name = std::string("fuzz ") + f.name + " (seed files + generated)";
    Report(name.c_str(), part);
    total.passed += part.passed;
  }
  Report("total", total);
  return total.failed == 0 ? 0 : 1;
}
