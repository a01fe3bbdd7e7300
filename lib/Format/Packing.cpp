//===- Packing.cpp - ternary weight quantization and i2_b128 packing ------===//
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

void packTernaryCodes(const void *data, int64_t rows, int64_t cols, float scale,
                      uint8_t *out) {
  const auto *p = static_cast<const unsigned char *>(data);
  int64_t rowBytes = i2b128RowBytes(cols);
  // roundeven(x) for |x| < 2^22 as (x + 1.5·2^23) - 1.5·2^23 in f32 under
  // round-to-nearest-even: what std::nearbyint gives, vectorizable. Larger
  // |x|, ±inf and NaN keep their sign (NaN stays NaN) and so clamp alike.
  constexpr float kRound = 12582912.0f; // 1.5 · 2^23
  float q[kI2B128BlockWeights];
  for (int64_t r = 0; r < rows; ++r) {
    const unsigned char *src = p + r * cols * int64_t(sizeof(float));
    uint8_t *row = out + r * rowBytes;
    for (int64_t c0 = 0; c0 < cols; c0 += kI2B128BlockWeights) {
      int64_t n = std::min(kI2B128BlockWeights, cols - c0);
      for (int64_t i = 0; i < n; ++i) {
        float v = (load(src, c0 + i) / scale + kRound) - kRound;
        // std::max(-1, NaN) is -1, as the reference's clamp gives.
        q[i] = std::min(1.0f, std::max(-1.0f, v)) + 1.0f;
      }
      // 0x55: code 1 (weight 0) in all four 2-bit fields, for padding.
      for (int64_t i = n; i < kI2B128BlockWeights; ++i)
        q[i] = 1.0f;
      uint8_t *block = row + (c0 / kI2B128BlockWeights) * kI2B128BlockBytes;
      for (int64_t lane = 0; lane < 32; ++lane)
        block[lane] =
            uint8_t(unsigned(q[lane]) | unsigned(q[32 + lane]) << 2 |
                    unsigned(q[64 + lane]) << 4 | unsigned(q[96 + lane]) << 6);
    }
  }
}

PackedTernary packTernary(const void *data, int64_t rows, int64_t cols) {
  PackedTernary out;
  out.rows = rows;
  out.cols = cols;
  out.scale = ternaryScale(data, rows * cols);
  out.codes.resize(size_t(rows * i2b128RowBytes(cols)));
  packTernaryCodes(data, rows, cols, out.scale, out.codes.data());
  return out;
}

} // namespace bitttt::format
