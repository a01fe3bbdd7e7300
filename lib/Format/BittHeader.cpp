//===- BittHeader.cpp - JSON header parsing for .bitt/.safetensors --------===//
#include "BittHeader.h"
#include "bitttt/Format/JsonDepth.h"
#include "bitttt/Format/Packing.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <sys/stat.h>

using nlohmann::json;

namespace bitttt::format {

size_t dtypeSize(const std::string &name) {
  static const std::map<std::string, size_t> sizes = {
      {"BOOL", 1},    {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"F8_E8M0", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},     {"BF16", 2},
      {"I32", 4},     {"U32", 4}, {"F32", 4}, {"F64", 8},     {"I64", 8},
      {"U64", 8},     {"C64", 8},
  };
  auto it = sizes.find(name);
  return it == sizes.end() ? 0 : it->second;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool shapeBytes(const std::vector<int64_t> &shape, const std::string &dtype,
                uint64_t &bytes) {
  uint64_t n = dtypeSize(dtype);
  if (n == 0)
    return false;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n))
      return false;
  }
  bytes = n;
  return true;
}

namespace detail {
namespace {

Status formatError(const std::string &file, const std::string &message) {
  return Status::error(ErrorCode::Format, file + ": " + message);
}

std::string quote(const std::string &s) { return "'" + s + "'"; }

std::string tensorPrefix(const std::string &name) {
  return "tensor " + quote(name) + ": ";
}

/// Short description of a JSON value's type for messages.
std::string typeName(const json &v) {
  if (v.is_number_integer() && !v.is_number_unsigned())
    return "a negative integer";
  std::string name = v.type_name();
  bool vowel = name[0] == 'a' || name[0] == 'o';
  return (vowel ? "an " : "a ") + name;
}

bool getUnsigned(const json &v, uint64_t &out) {
  if (!v.is_number_unsigned())
    return false;
  out = v.get<uint64_t>();
  return true;
}

/// Parses one tensor entry of the safetensors header.
Status parseEntry(const std::string &file, const std::string &name,
                  const json &entry, uint64_t dataSize, RawTensor &out) {
  std::string where = tensorPrefix(name);
  if (!entry.is_object())
    return formatError(file, where + "entry is " + typeName(entry) +
                                 ", expected an object");
  out.name = name;
  auto dtype = entry.find("dtype");
  if (dtype == entry.end())
    return formatError(file, where + "missing field 'dtype'");
  if (!dtype->is_string())
    return formatError(file, where + "field 'dtype' is " + typeName(*dtype) +
                                 ", expected a string");
  out.dtype = dtype->get<std::string>();
  if (dtypeSize(out.dtype) == 0)
    return formatError(file, where + "unknown dtype " + quote(out.dtype));

  auto shape = entry.find("shape");
  if (shape == entry.end())
    return formatError(file, where + "missing field 'shape'");
  if (!shape->is_array())
    return formatError(file, where + "field 'shape' is " + typeName(*shape) +
                                 ", expected an array");
  for (size_t i = 0; i < shape->size(); ++i) {
    uint64_t dim;
    if (!getUnsigned((*shape)[i], dim) ||
        dim > uint64_t(std::numeric_limits<int64_t>::max()))
      return formatError(file, where + "field 'shape'[" + std::to_string(i) +
                                   "] is " + (*shape)[i].dump() +
                                   ", expected a non-negative integer");
    out.shape.push_back(int64_t(dim));
  }

  auto offsets = entry.find("data_offsets");
  if (offsets == entry.end())
    return formatError(file, where + "missing field 'data_offsets'");
  if (!offsets->is_array() || offsets->size() != 2 ||
      !getUnsigned((*offsets)[0], out.begin) ||
      !getUnsigned((*offsets)[1], out.end))
    return formatError(file, where + "field 'data_offsets' is " +
                                 offsets->dump() +
                                 ", expected [begin, end] (non-negative "
                                 "integers)");
  std::string range = "data_offsets [" + std::to_string(out.begin) + ", " +
                      std::to_string(out.end) + "]";
  if (out.begin > out.end)
    return formatError(file, where + range + ": begin is past end");
  if (out.end > dataSize)
    return formatError(file, where + range + " past end of data section (" +
                                 std::to_string(dataSize) +
                                 " bytes); is the file truncated?");
  uint64_t bytes;
  std::string described = shapeText(out.shape) + " x " + out.dtype;
  if (!shapeBytes(out.shape, out.dtype, bytes))
    return formatError(file,
                       where + "shape " + described + " overflows 64 bits");
  if (out.end - out.begin != bytes)
    return formatError(file, where + range + " do not match shape " +
                                 described + " (" + std::to_string(bytes) +
                                 " bytes)");
  return Status::ok();
}

} // namespace

const char *fileKind(unsigned mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

Status parseJson(const std::string &file, const std::string &what,
                 const char *text, size_t len, json &out) {
  if (std::memchr(text, '\0', len))
    return formatError(file, "invalid " + what + " JSON: contains a NUL byte");
  if (std::string deep = jsonDepthError({text, len}); !deep.empty())
    return formatError(file, "invalid " + what + " JSON: " + deep);
  out = json::parse(text, text + len, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    // Parse again with exceptions for nlohmann's positioned message.
    try {
      (void)json::parse(text, text + len);
    } catch (const json::exception &e) {
      return formatError(file, "invalid " + what + " JSON: " + e.what());
    }
    return formatError(file, "invalid " + what + " JSON");
  }
  if (!out.is_object())
    return formatError(file, what + " JSON is " + typeName(out) +
                                 ", expected an object");
  return Status::ok();
}

Status parseSafeTensorsHeader(const std::string &file, const char *text,
                              size_t len, uint64_t dataSize,
                              std::vector<RawTensor> &tensors,
                              std::map<std::string, std::string> &metadata) {
  json header;
  if (Status s = parseJson(file, "safetensors header", text, len, header); !s)
    return s;
  tensors.clear();
  metadata.clear();
  for (const auto &[name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        return formatError(file, "safetensors field '__metadata__' is " +
                                     typeName(entry) + ", expected an object");
      for (const auto &[key, value] : entry.items()) {
        if (!value.is_string())
          return formatError(file, "safetensors field '__metadata__." + key +
                                       "' is " + typeName(value) +
                                       ", expected a string");
        metadata[key] = value.get<std::string>();
      }
      continue;
    }
    if (name.empty())
      return formatError(file, "safetensors header has a tensor with an "
                               "empty name");
    RawTensor t;
    if (Status s = parseEntry(file, name, entry, dataSize, t); !s)
      return s;
    tensors.push_back(std::move(t));
  }
  std::sort(tensors.begin(), tensors.end(),
            [](const RawTensor &a, const RawTensor &b) {
              if (a.begin != b.begin)
                return a.begin < b.begin;
              if (a.end != b.end)
                return a.end < b.end;
              return a.name < b.name;
            });
  // Sorted by begin, a non-empty tensor overlaps an earlier one exactly when
  // it starts before the furthest end seen so far.
  const RawTensor *furthest = nullptr;
  for (const RawTensor &t : tensors) {
    if (t.begin == t.end)
      continue;
    if (furthest && t.begin < furthest->end) {
      auto range = [](const RawTensor &r) {
        return " [" + std::to_string(r.begin) + ", " + std::to_string(r.end) +
               "]";
      };
      return formatError(file, "tensors " + quote(furthest->name) +
                                   range(*furthest) + " and " + quote(t.name) +
                                   range(t) + " overlap (data_offsets)");
    }
    if (!furthest || t.end > furthest->end)
      furthest = &t;
  }
  return Status::ok();
}

Status headerVersion(const std::string &file, const json &header,
                     int &version) {
  auto section = header.find("bitttt");
  if (section == header.end()) {
    version = 1;
    return Status::ok();
  }
  if (!section->is_object())
    return formatError(file, "header field 'bitttt' is " + typeName(*section) +
                                 ", expected an object");
  auto v = section->find("format_version");
  if (v == section->end())
    return formatError(file, "header field 'bitttt.format_version' is "
                             "missing");
  if (!v->is_number_integer())
    return formatError(file, "header field 'bitttt.format_version' is " +
                                 v->dump() + ", expected an integer");
  if (*v != kFormatVersion)
    return Status::error(ErrorCode::Unsupported,
                         file + ": header field 'bitttt.format_version' is " +
                             v->dump() + "; this reader supports " +
                             std::to_string(kFormatVersion));
  version = kFormatVersion;
  return Status::ok();
}

namespace {

/// Checks that tensor `name` (referenced by header field `field`) exists
/// with `dtype` and, when `shape` is given, that shape.
Status checkReference(const std::string &file, const std::string &field,
                      const json &value, const TensorLookup &lookup,
                      const std::string &dtype,
                      const std::vector<int64_t> *shape, bool oneDim) {
  std::string where = "header field " + quote(field) + ": ";
  if (!value.is_string())
    return formatError(file, where + "is " + typeName(value) +
                                 ", expected a tensor name");
  std::string name = value.get<std::string>();
  const RawTensor *t = lookup(name);
  if (!t)
    return formatError(file, where + "tensor " + quote(name) + " is missing");
  if (t->dtype != dtype)
    return formatError(file, where + "tensor " + quote(name) + " is " +
                                 t->dtype + ", expected " + dtype);
  if (shape && t->shape != *shape)
    return formatError(file, where + "tensor " + quote(name) + " has shape " +
                                 shapeText(t->shape) + ", expected " +
                                 shapeText(*shape));
  if (oneDim && t->shape.size() != 1)
    return formatError(file, where + "tensor " + quote(name) + " has shape " +
                                 shapeText(t->shape) +
                                 ", expected a 1-D tensor");
  return Status::ok();
}

Status validatePacked(const std::string &file, const std::string &weight,
                      const json &entry, const TensorLookup &lookup,
                      bool trainable) {
  std::string field = "bitttt.packed." + weight;
  std::string where = "header field " + quote(field) + ": ";
  if (!entry.is_object())
    return formatError(file, where + "is " + typeName(entry) +
                                 ", expected an object");
  // A trainable file (a "train" section) keeps the latent f32 weights the
  // trainer starts from beside the packed ones inference reads.
  if (!trainable && lookup(weight))
    return formatError(file, where + "the latent tensor " + quote(weight) +
                                 " is present too (a packed weight replaces "
                                 "it)");
  for (const char *key : {"codes", "scale", "rows", "cols", "layout"})
    if (!entry.contains(key))
      return formatError(file, "header field " + quote(field + "." + key) +
                                   " is missing");
  uint64_t rows, cols;
  const std::string limit = ", expected a positive integer <= 2^40 (" +
                            std::to_string(kMaxPackedDim) + ")";
  if (!getUnsigned(entry["rows"], rows) || rows == 0 ||
      rows > uint64_t(kMaxPackedDim))
    return formatError(file, "header field " + quote(field + ".rows") + " is " +
                                 entry["rows"].dump() + limit);
  if (!getUnsigned(entry["cols"], cols) || cols == 0 ||
      cols > uint64_t(kMaxPackedDim))
    return formatError(file, "header field " + quote(field + ".cols") + " is " +
                                 entry["cols"].dump() + limit);
  const json &layout = entry["layout"];
  if (!layout.is_string())
    return formatError(file, "header field " + quote(field + ".layout") +
                                 " is " + layout.dump() +
                                 ", expected a string");
  TernaryLayout packedLayout;
  if (!parseTernaryLayout(layout.get<std::string>(), packedLayout))
    return Status::error(ErrorCode::Unsupported,
                         file + ": header field " + quote(field + ".layout") +
                             " is " + layout.dump() +
                             "; supported: " + ternaryLayoutNames());
  std::vector<int64_t> codesShape = {
      int64_t(rows), packedRowBytes(packedLayout, int64_t(cols))};
  if (Status s = checkReference(file, field + ".codes", entry["codes"], lookup,
                                "U8", &codesShape, false);
      !s)
    return s;
  std::vector<int64_t> scalar;
  return checkReference(file, field + ".scale", entry["scale"], lookup, "F32",
                        &scalar, false);
}

} // namespace

Status validateBitttSection(const std::string &file, const json &bitttt,
                            const TensorLookup &lookup) {
  if (!bitttt.is_object())
    return formatError(file, "header field 'bitttt' is " + typeName(bitttt) +
                                 ", expected an object");
  auto train = bitttt.find("train");
  bool trainable = train != bitttt.end() && train->is_object();
  if (auto packed = bitttt.find("packed"); packed != bitttt.end()) {
    if (!packed->is_object())
      return formatError(file, "header field 'bitttt.packed' is " +
                                   typeName(*packed) + ", expected an object");
    for (const auto &[weight, entry] : packed->items())
      if (Status s = validatePacked(file, weight, entry, lookup, trainable); !s)
        return s;
  }
  if (auto artifacts = bitttt.find("artifacts"); artifacts != bitttt.end()) {
    if (!artifacts->is_object())
      return formatError(file, "header field 'bitttt.artifacts' is " +
                                   typeName(*artifacts) +
                                   ", expected an object");
    for (const auto &[target, entry] : artifacts->items()) {
      std::string field = "bitttt.artifacts." + target;
      if (!entry.is_object())
        return formatError(file, "header field " + quote(field) + " is " +
                                     typeName(entry) + ", expected an object");
      if (!entry.contains("tensor"))
        return formatError(file, "header field " + quote(field + ".tensor") +
                                     " is missing");
      if (Status s = checkReference(file, field + ".tensor", entry["tensor"],
                                    lookup, "U8", nullptr, true);
          !s)
        return s;
      if (auto sum = entry.find("xxh3_64"); sum != entry.end()) {
        bool hex = sum->is_string() && sum->get<std::string>().size() == 16;
        for (char c : hex ? sum->get<std::string>() : std::string())
          hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        if (!hex)
          return formatError(file, "header field " + quote(field + ".xxh3_64") +
                                       " is not 16 lowercase hex digits");
      }
    }
  }
  return Status::ok();
}

} // namespace detail
} // namespace bitttt::format
