//===- LMHeadParts.cpp - the LM head's tensors of a .bitt -----------------===//
#include "LMHeadParts.h"

using namespace bitttt;
using llvm::Error;

namespace {

constexpr const char *kLatent = "lm_head.weight";

Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

} // namespace

bool LMHeadParts::isHead(const AbiBuffer &b) {
  return b.packedWeight.empty()
             ? b.name == kLatent
             : b.packedWeight == kLatent &&
                   llvm::StringRef(b.packedLayout).starts_with("lm_head_");
}

Error LMHeadParts::add(const std::string &where, const AbiBuffer &b,
                       std::vector<format::TensorData> &tensors) {
  format::LMHeadFormat f = format::LMHeadFormat::F32;
  if (!b.packedWeight.empty()) {
    f = b.packedLayout == format::lmHeadLayout(format::LMHeadFormat::BF16)
            ? format::LMHeadFormat::BF16
            : format::LMHeadFormat::Int8;
    if (b.packedLayout != format::lmHeadLayout(f))
      return makeError(where + ": LM-head layout '" + b.packedLayout +
                       "' is not one the compiler writes (lm_head_bf16, "
                       "lm_head_int8)");
  }
  if (format && *format != f)
    return makeError(where + ": the code reads the LM head as " +
                     format::lmHeadFormatName(f) + " here and as " +
                     format::lmHeadFormatName(*format) + " elsewhere");
  format = f;
  std::string part = b.packedWeight.empty() ? "values" : b.packedPart;
  const format::TensorInfo *latent = checkpoint.find(kLatent);
  const void *data = nullptr;
  size_t nbytes = 0;
  std::string dtype;
  std::vector<int64_t> shape;
  if (f == format::LMHeadFormat::F32 || !latent) {
    // The f32 weight as it is, or a compact head the input already holds
    // (ModelBuilder's checkCheckpoint made sure it is of this format).
    std::string name = b.name;
    if (f != format::LMHeadFormat::F32) {
      auto it = source && source->format == f
                    ? source->parts.find(part)
                    : std::map<std::string, std::string>::const_iterator();
      if (!source || source->format != f || it == source->parts.end())
        return makeError(checkpoint.path() + ": has no f32 '" + kLatent +
                         "' to make the " + format::lmHeadFormatName(f) +
                         " LM head from");
      name = it->second;
    }
    const format::TensorInfo *t = checkpoint.find(name);
    if (!t)
      return makeError(checkpoint.path() + ": missing tensor '" + name + "'");
    data = t->data;
    nbytes = t->nbytes;
    dtype = t->dtype;
    shape = t->shape;
  } else {
    if (latent->dtype != "F32" || latent->shape.size() != 2)
      return makeError(checkpoint.path() + ": tensor '" + kLatent +
                       "' is not the F32 matrix to quantize");
    int64_t v = latent->shape[0], d = latent->shape[1];
    if (!quantized) {
      if (format::Status s = format::checkFinite(checkpoint, *latent); !s)
        return makeError(s.message());
      if (f == format::LMHeadFormat::BF16)
        bf16 = format::quantizeLMHeadBF16(latent->data, v * d);
      else
        int8 = format::quantizeLMHeadInt8(latent->data, v, d);
      quantized = true;
    }
    if (part == "values" && f == format::LMHeadFormat::BF16) {
      data = bf16.data(), nbytes = bf16.size() * 2, dtype = "BF16";
      shape = {v, d};
    } else if (part == "values") {
      data = int8.codes.data(), nbytes = int8.codes.size(), dtype = "I8";
      shape = {v, d};
    } else if (part == "row_scale" && f == format::LMHeadFormat::Int8) {
      data = int8.scale.data(), nbytes = int8.scale.size() * 4;
      dtype = "F32", shape = {v};
    } else if (part == "row_sum" && f == format::LMHeadFormat::Int8) {
      data = int8.rowSum.data(), nbytes = int8.rowSum.size() * 4;
      dtype = "I32", shape = {v};
    } else {
      return makeError(where + ": unknown part '" + part + "' of the " +
                       format::lmHeadFormatName(f) + " LM head");
    }
  }
  if (dtype != b.dtype || shape != b.shape)
    return makeError(where + ": the code takes '" + b.name + "' as " + b.dtype +
                     " " + format::shapeText(b.shape) + ", the " +
                     format::lmHeadFormatName(f) + " LM head's " + part +
                     " is " + dtype + " " + format::shapeText(shape));
  tensors.push_back({b.name, dtype, shape, data, nbytes});
  if (part == "values") {
    rows = shape[0];
    cols = shape[1];
  }
  parts[part] = b.name;
  return Error::success();
}

llvm::json::Value LMHeadParts::header() const {
  if (!format)
    return nullptr;
  return llvm::json::Object{{"format", format::lmHeadFormatName(*format)},
                            {"weight", kLatent},
                            {"rows", rows},
                            {"cols", cols},
                            {"parts", llvm::json::Object(parts)}};
}
