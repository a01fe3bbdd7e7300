//===- Packing.cpp - ternary weight quantization and packing --------------===//
#include "bitttt/Format/Packing.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace bitttt::format {
namespace {

constexpr float kWeightEps = 1e-5f; // DESIGN.md §1: γ's floor

float load(const unsigned char *p, int64_t i) {
  float v;
  std::memcpy(&v, p + i * int64_t(sizeof(float)), sizeof(float));
  return v;
}

} // namespace

float ternaryScale(const void *data, int64_t count) {
  const auto *p = static_cast<const unsigned char *>(data);
  double sum = 0;
  for (int64_t i = 0; i < count; ++i)
    sum += std::fabs(double(load(p, i)));
  float mean = count > 0 ? float(sum / double(count)) : 0.0f;
  return std::max(mean, kWeightEps);
}

int64_t firstNonFinite(const void *data, int64_t count) {
  const auto *p = static_cast<const unsigned char *>(data);
  for (int64_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, p + i * 4, 4);
    if ((bits & 0x7f800000u) == 0x7f800000u) // exponent all ones
      return i;
  }
  return -1;
}

const char *ternaryLayoutName(TernaryLayout layout) {
  return layout == TernaryLayout::T5B160 ? "t5_b160" : "i2_b128";
}

bool parseTernaryLayout(const std::string &name, TernaryLayout &out) {
  for (TernaryLayout l : {TernaryLayout::I2B128, TernaryLayout::T5B160})
    if (name == ternaryLayoutName(l)) {
      out = l;
      return true;
    }
  return false;
}

const char *ternaryLayoutNames() { return "i2_b128|t5_b160"; }

namespace {

/// Byte `lane` of a block whose codes (0, 1, 2) are `q[0 .. blockWeights)`.
/// i2_b128: bits [2k, 2k+1] hold the code of weight 32·k + lane.
/// t5_b160: the 5 codes t_k of weights 32·k + lane as v = Σ t_k·3^(4−k)
/// (t_0 most significant), stored as ceil(v·256 / 243), so that code k is
/// the top two bits of 3·(byte·3^k mod 256) (TQ1_0's encoding).
uint8_t packByte(TernaryLayout layout, const float *q, int64_t lane) {
  if (layout == TernaryLayout::I2B128)
    return uint8_t(unsigned(q[lane]) | unsigned(q[32 + lane]) << 2 |
                   unsigned(q[64 + lane]) << 4 | unsigned(q[96 + lane]) << 6);
  unsigned v = 0;
  for (int64_t k = 0; k < 5; ++k)
    v = 3 * v + unsigned(q[32 * k + lane]);
  return uint8_t((v * 256 + 242) / 243);
}

} // namespace

void packTernaryCodes(const void *data, int64_t rows, int64_t cols, float scale,
                      uint8_t *out, TernaryLayout layout) {
  const auto *p = static_cast<const unsigned char *>(data);
  int64_t rowBytes = packedRowBytes(layout, cols);
  int64_t block = blockWeights(layout);
  // roundeven(x) for |x| < 2^22 as (x + 1.5·2^23) - 1.5·2^23 in f32 under
  // round-to-nearest-even: what std::nearbyint gives, vectorizable. Larger
  // |x|, ±inf and NaN keep their sign (NaN stays NaN) and so clamp alike.
  constexpr float kRound = 12582912.0f; // 1.5 · 2^23
  float q[kMaxBlockWeights];
  for (int64_t r = 0; r < rows; ++r) {
    const unsigned char *src = p + r * cols * int64_t(sizeof(float));
    uint8_t *row = out + r * rowBytes;
    for (int64_t c0 = 0; c0 < cols; c0 += block) {
      int64_t n = std::min(block, cols - c0);
      for (int64_t i = 0; i < n; ++i) {
        float v = (load(src, c0 + i) / scale + kRound) - kRound;
        // std::max(-1, NaN) is -1, as the reference's clamp gives.
        q[i] = std::min(1.0f, std::max(-1.0f, v)) + 1.0f;
      }
      for (int64_t i = n; i < block; ++i)
        q[i] = 1.0f; // padding: code 1, weight 0
      uint8_t *dst = row + (c0 / block) * kTernaryBlockBytes;
      for (int64_t lane = 0; lane < kTernaryBlockBytes; ++lane)
        dst[lane] = packByte(layout, q, lane);
    }
  }
}

PackedTernary packTernary(const void *data, int64_t rows, int64_t cols,
                          TernaryLayout layout) {
  PackedTernary out;
  out.layout = layout;
  out.rows = rows;
  out.cols = cols;
  out.scale = ternaryScale(data, rows * cols);
  out.codes.resize(size_t(rows * packedRowBytes(layout, cols)));
  packTernaryCodes(data, rows, cols, out.scale, out.codes.data(), layout);
  return out;
}

} // namespace bitttt::format
