//===- fuzz_checkpoint.cpp - training checkpoints under libFuzzer ---------===//
//
// Input: a checkpoint file's bytes. Read as `bitttt_trainer_load` reads it
// (the safetensors container, the __metadata__ fields, then every field of
// the trainer's state checked against the model's), into a trainer over
// $BITTTT_FUZZ_MODEL. Every input must end in ok or a named error, and a
// refused load must leave the trainer as it was; checksums are computed
// but not enforced in this build (runtime/src/Fuzzing.h).
//
//===----------------------------------------------------------------------===//
#include "FuzzFile.h"
#include "bitttt.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {
bitttt_model *model = nullptr;
bitttt_trainer *trainer = nullptr;
std::vector<float> first; // param0() before any load

void die(const char *what) { bitttt::fuzz::die("fuzz_checkpoint", what); }

/// Two parameters' values (the first and the last a load copies).
std::vector<float> param0() {
  std::vector<float> values;
  for (const char *name : {"embed.weight", "lm_head.weight"}) {
    float *data = nullptr;
    int64_t n = 0;
    if (bitttt_trainer_param(trainer, name, &data, &n) != BITTTT_OK)
      die("bitttt_trainer_param");
    values.insert(values.end(), data, data + n);
  }
  return values;
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  model = bitttt::fuzz::loadModel("fuzz_checkpoint");
  if (bitttt_trainer_create(model, 1, &trainer) != BITTTT_OK)
    die("bitttt_trainer_create");
  first = param0();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = bitttt::fuzz::asFile(data, size);
  int64_t step = bitttt_trainer_step_count(trainer);
  if (bitttt_trainer_load(trainer, path.c_str(), nullptr) != BITTTT_OK) {
    // Nothing changes on failure.
    if (bitttt_trainer_step_count(trainer) != step)
      std::abort();
    std::vector<float> now = param0();
    if (now.size() != first.size() ||
        std::memcmp(now.data(), first.data(), now.size() * 4) != 0)
      std::abort();
    return 0;
  }
  // A checkpoint that loads replaces the state: put the first one back so
  // that the next input's failure check compares against it.
  bitttt_trainer_free(trainer);
  if (bitttt_trainer_create(model, 1, &trainer) != BITTTT_OK)
    die("bitttt_trainer_create");
  return 0;
}
