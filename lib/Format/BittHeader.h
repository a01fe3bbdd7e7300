//===- BittHeader.h - JSON header parsing for .bitt/.safetensors -*- C++
//-*-===//
//
// Internal to the `bitttt_format` library (it includes nlohmann/json, which
// must not leak into users built with other flags): parsing and validating
// the safetensors header and the BITT header's "bitttt" section.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FORMAT_BITTHEADER_H
#define BITTTT_FORMAT_BITTHEADER_H

#include "bitttt/Format/BittFile.h"

#include <nlohmann/json.hpp>

#include <functional>

namespace bitttt::format::detail {

/// A safetensors entry: `begin`/`end` are the `data_offsets`, relative to
/// the start of the data section.
struct RawTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

/// Parses the safetensors header text (`len` bytes, may be space padded) of
/// `file` whose data section holds `dataSize` bytes. Checks every entry
/// (dtype, shape, data_offsets inside the data section, byte size, no
/// overlaps) and returns the tensors sorted by offset, then name.
Status parseSafeTensorsHeader(const std::string &file, const char *text,
                              size_t len, uint64_t dataSize,
                              std::vector<RawTensor> &tensors,
                              std::map<std::string, std::string> &metadata);

/// What a file of mode `mode` (st_mode) is, for messages: "a FIFO", "a
/// directory", "a character device", ...
const char *fileKind(unsigned mode);

/// Parses a JSON text; `what` names it in the message ("header").
Status parseJson(const std::string &file, const std::string &what,
                 const char *text, size_t len, nlohmann::json &out);

/// Looks a tensor up by name (nullptr when absent).
using TensorLookup = std::function<const RawTensor *(const std::string &)>;

/// Validates the "bitttt" section of a v2 header: format_version, the packed
/// weight index and the artifact index against the file's tensors.
Status validateBitttSection(const std::string &file,
                            const nlohmann::json &bitttt,
                            const TensorLookup &lookup);

/// Reads "bitttt.format_version" of a BITT header object: 1 when there is no
/// "bitttt" section, 2 for v2; errors for a missing, malformed or
/// unsupported version.
Status headerVersion(const std::string &file, const nlohmann::json &header,
                     int &version);

} // namespace bitttt::format::detail

#endif // BITTTT_FORMAT_BITTHEADER_H
