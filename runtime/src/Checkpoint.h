//===- Checkpoint.h - the trainer's checkpoint files ------------*- C++ -*-===//
//
// A checkpoint is a plain safetensors file of F32 tensors whose __metadata__
// holds the trainer's state as JSON ("bitttt_checkpoint"), an XXH3-64 of the
// data section ("checksum") and "format_version" "1" (docs/training.md,
// "Checkpoint files"). Files are written atomically and read back fully
// validated, so a crash or a full disk never costs the last good checkpoint.
//
// Every fallible call returns a format::Status whose message names the file;
// nothing throws. A checkpoint directory belongs to one trainer on one host
// (stale temporaries are recognized by their writer's pid).
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_CHECKPOINT_H
#define BITTTT_RUNTIME_CHECKPOINT_H

#include "bitttt/Format/BittFile.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace bitttt::ckpt {

using Status = format::Status;

/// The format_version this code writes and reads.
inline constexpr const char *kFormatVersion = "1";
/// The copy of the best checkpoint that prune() never deletes.
inline constexpr const char *kBestFile = "best.ckpt";

/// A tensor to write: `data` holds product(shape) floats.
struct TensorView {
  std::string name;
  std::vector<int64_t> shape;
  const float *data = nullptr;
};

/// A tensor read back.
struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

/// A checkpoint read back: tensors in the order they were written.
struct Checkpoint {
  nlohmann::json meta;
  std::vector<Tensor> tensors;
  /// The tensor called `name`, or nullptr.
  const Tensor *find(const std::string &name) const;
};

/// "step-00000042.ckpt": the name of step `step`'s file (8 digits or more).
std::string stepFileName(int64_t step);

/// Writes `dir/file` (`file` a plain name) atomically: a temporary
/// `dir/.<file>.tmp.<pid>` is written, fsynced and renamed over the file,
/// then `dir` is fsynced. Creates `dir` (mkdir -p). On failure the temporary
/// file is removed and an existing `dir/file` is untouched; the message names
/// the path and the system's reason. Stale temporaries of dead processes in
/// `dir` are removed first.
Status write(const std::string &dir, const std::string &file,
             const nlohmann::json &meta,
             const std::vector<TensorView> &tensors);

/// Reads and fully validates `path`: the safetensors header, every tensor F32
/// inside the data section without overlap or holes, the file size, the
/// checksum and the metadata. `out` is set only on success.
Status read(const std::string &path, Checkpoint &out);

/// The step files `step-<digits>.ckpt` in `dir` as (step, dir/name),
/// ascending by step; empty when `dir` cannot be read. Temporaries and
/// best.ckpt are not listed.
std::vector<std::pair<int64_t, std::string>> list(const std::string &dir);

/// Deletes all but the newest `keep` (≥ 1) step files of `dir`; best.ckpt
/// and other files are never touched.
Status prune(const std::string &dir, int keep);

/// Makes `dir/best.ckpt` hold the content of `dir/file` atomically: a hard
/// link (or, where the file system refuses links, a fsynced copy) under a
/// temporary name is renamed over best.ckpt, then `dir` is fsynced.
Status markBest(const std::string &dir, const std::string &file);

/// The newest step file of `dir` that reads back valid; each newer file that
/// does not is reported through `warn` (its read error) and skipped. An
/// error when no step file is valid.
Status latestValid(const std::string &dir, std::string &path, Checkpoint &out,
                   const std::function<void(const std::string &)> &warn);

} // namespace bitttt::ckpt

#endif // BITTTT_RUNTIME_CHECKPOINT_H
