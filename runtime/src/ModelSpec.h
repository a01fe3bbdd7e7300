//===- ModelSpec.h - the compiled-model sections of a .bitt header -*- C++
//-*-===//
//
// What the runtime needs to call a compiled model (docs/abi.md): the
// "bitttt.functions", "bitttt.state" and "bitttt.artifacts" sections and the
// vocabulary size from "config", parsed and validated against the file's
// tensors before anything is loaded or run.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_MODELSPEC_H
#define BITTTT_RUNTIME_MODELSPEC_H

#include "bitttt/Format/BittFile.h"
#include "bitttt/Format/LMHead.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bitttt::rt {

enum class Role { IO, Tensor, State };

/// One buffer of an entry point: an input or an output.
struct BufferSpec {
  Role role = Role::IO;
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t nbytes = 0;
  /// Role::Tensor: the file's tensor (data in the mapping).
  const format::TensorInfo *tensor = nullptr;
  /// Role::State: index into ModelSpec::states.
  size_t state = 0;
  /// "range": valid values [lo, hi) of a state, when given.
  std::optional<std::pair<int64_t, int64_t>> range;
  /// "packed": {weight, part, layout} of a packed weight's part, or empty.
  std::string packedWeight, packedPart, packedLayout;
};

/// One compiled function ("prefill", "decode", ...).
struct FunctionSpec {
  std::string name;
  std::string symbol;
  int64_t tokens = 0;
  std::vector<BufferSpec> inputs;
  std::vector<BufferSpec> outputs;
  /// For "prefill"/"decode": positions of the "ids" input and the "logits"
  /// output in the entry's buffer array (inputs first, then outputs).
  size_t idsSlot = 0;
  size_t logitsSlot = 0;
};

/// One value of a session's TTT state.
struct StateSpec {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t nbytes = 0;
  /// The init tensor, or nullptr for "zeros".
  const format::TensorInfo *init = nullptr;
  /// Valid values [lo, hi) (every element); set from the loaded artifact's
  /// ABI description, which the header's "range" must agree with.
  std::optional<std::pair<int64_t, int64_t>> range;
  /// The header's "range", if any (compared with the artifact's).
  std::optional<std::pair<int64_t, int64_t>> headerRange;
};

/// One entry of "bitttt.artifacts".
struct ArtifactSpec {
  std::string target;
  std::string kind; ///< "elf-so", ...; empty when absent
  const format::TensorInfo *tensor = nullptr;
  std::string xxh3; ///< "xxh3_64": checksum of the tensor's bytes (hex)
};

struct ModelSpec {
  int64_t vocab = 0;
  /// What the LM head of prefill/decode reads ("bitttt.lm_head.format";
  /// f32 when a file predates the field), checked against their buffers.
  format::LMHeadFormat lmHead = format::LMHeadFormat::F32;
  std::map<std::string, FunctionSpec> functions;
  std::vector<StateSpec> states; ///< sorted by name
  std::map<std::string, ArtifactSpec> artifacts;

  const FunctionSpec *function(const std::string &name) const {
    auto it = functions.find(name);
    return it == functions.end() ? nullptr : &it->second;
  }
  /// Index of the state called `name` or states.size().
  size_t stateIndex(const std::string &name) const;
};

/// Parses and validates the compiled-model sections of `file` (a v2 .bitt).
/// Messages name the file and the header field or tensor at fault.
format::Status parseModelSpec(const format::BittFile &file, ModelSpec &out);

/// Whether an I64 state's value has an element outside state.range
/// (`data`: its bytes; false when it has no range). If so, the element's
/// index and value.
bool outOfRange(const StateSpec &state, const void *data, size_t &index,
                int64_t &value);

using format::shapeText;

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_MODELSPEC_H
