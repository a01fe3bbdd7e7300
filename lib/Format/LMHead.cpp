//===- LMHead.cpp - the compact LM-head formats (bf16, int8 per row) ------===//
#include "bitttt/Format/LMHead.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace bitttt::format {
namespace {

float load(const unsigned char *p, int64_t i) {
  float v;
  std::memcpy(&v, p + i * int64_t(sizeof(float)), sizeof(float));
  return v;
}

} // namespace

const char *lmHeadFormatName(LMHeadFormat format) {
  switch (format) {
  case LMHeadFormat::F32:
    return "f32";
  case LMHeadFormat::BF16:
    return "bf16";
  case LMHeadFormat::Int8:
    return "int8";
  }
  return "f32";
}

bool parseLMHeadFormat(const std::string &name, LMHeadFormat &out) {
  for (LMHeadFormat f :
       {LMHeadFormat::F32, LMHeadFormat::BF16, LMHeadFormat::Int8})
    if (name == lmHeadFormatName(f)) {
      out = f;
      return true;
    }
  return false;
}

const char *lmHeadLayout(LMHeadFormat format) {
  switch (format) {
  case LMHeadFormat::F32:
    return "";
  case LMHeadFormat::BF16:
    return "lm_head_bf16";
  case LMHeadFormat::Int8:
    return "lm_head_int8";
  }
  return "";
}

uint16_t bf16FromF32(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if (std::isnan(value))
    return uint16_t((bits >> 16) | 0x40);
  uint32_t lsb = (bits >> 16) & 1;
  return uint16_t((bits + 0x7fff + lsb) >> 16);
}

std::vector<uint16_t> quantizeLMHeadBF16(const void *data, int64_t count) {
  const auto *p = static_cast<const unsigned char *>(data);
  std::vector<uint16_t> out(size_t(std::max<int64_t>(count, 0)));
  for (int64_t i = 0; i < count; ++i)
    out[size_t(i)] = bf16FromF32(load(p, i));
  return out;
}

Int8LMHead quantizeLMHeadInt8(const void *data, int64_t rows, int64_t cols) {
  const auto *p = static_cast<const unsigned char *>(data);
  Int8LMHead out;
  out.rows = rows;
  out.cols = cols;
  out.codes.assign(size_t(rows * cols), 0);
  out.scale.assign(size_t(rows), 0.0f);
  out.rowSum.assign(size_t(rows), 0);
  for (int64_t r = 0; r < rows; ++r) {
    float amax = 0;
    for (int64_t c = 0; c < cols; ++c)
      amax = std::max(amax, std::fabs(load(p, r * cols + c)));
    float scale = amax / 127.0f;
    if (!(scale > 0))
      continue; // all zero (or underflowed): codes 0, scale 0
    out.scale[size_t(r)] = scale;
    int32_t sum = 0;
    for (int64_t c = 0; c < cols; ++c) {
      float q = std::nearbyint(load(p, r * cols + c) / scale);
      q = std::min(127.0f, std::max(-127.0f, q));
      out.codes[size_t(r * cols + c)] = int8_t(q);
      sum += int32_t(q);
    }
    out.rowSum[size_t(r)] = sum;
  }
  return out;
}

} // namespace bitttt::format
