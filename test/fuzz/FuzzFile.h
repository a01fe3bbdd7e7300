//===- FuzzFile.h - an input as a file path, without touching the disk ----===//
//
// The readers of checkpoints, session files and token files take a path
// (they fstat, map or pread it). Each input is written to one memfd, reached
// as /proc/self/fd/N: a regular file in memory, rewritten per input.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FUZZ_FUZZFILE_H
#define BITTTT_FUZZ_FUZZFILE_H

#include "bitttt.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

namespace bitttt::fuzz {

/// The path of a memfd holding exactly `data`.
inline const std::string &asFile(const uint8_t *data, size_t size) {
  static int fd = ::memfd_create("fuzz-input", MFD_CLOEXEC);
  static std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ::ftruncate(fd, 0) != 0 ||
      (size && ::pwrite(fd, data, size, 0) != ssize_t(size))) {
    std::perror("fuzz: memfd");
    std::abort();
  }
  return path;
}

/// $BITTTT_FUZZ_MODEL: the compiled model the session and checkpoint
/// targets load (scripts/fuzz.sh model builds it from test/fuzz/model).
inline const char *modelPath() {
  const char *path = std::getenv("BITTTT_FUZZ_MODEL");
  if (!path || !*path) {
    std::fprintf(stderr, "fuzz: set BITTTT_FUZZ_MODEL to the model that "
                         "`scripts/fuzz.sh model` compiles\n");
    std::exit(2);
  }
  return path;
}

/// Prints `what` and the runtime's last error, then exits 2 (a setup
/// failure, not a finding).
[[noreturn]] inline void die(const char *target, const char *what) {
  std::fprintf(stderr, "%s: %s: %s\n", target, what, bitttt_last_error());
  std::exit(2);
}

/// The model at modelPath(), loaded for one thread.
inline bitttt_model *loadModel(const char *target) {
  bitttt_model_params params = bitttt_model_default_params();
  params.n_threads = 1;
  bitttt_model *model = nullptr;
  if (bitttt_model_load(modelPath(), &params, &model) != BITTTT_OK)
    die(target, "bitttt_model_load");
  return model;
}

} // namespace bitttt::fuzz

#endif // BITTTT_FUZZ_FUZZFILE_H
