//===- PackingTest.cpp - i2_b128 packer against a direct reference --------===//
#include "bitttt/Format/Packing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace bitttt::format;

namespace {

/// docs/packing.md spelled out weight by weight: w = clamp(nearbyint(W/γ),
/// -1, 1) stored as w + 1 in field (c % 128) / 32, byte c % 32 of block
/// c / 128; padding weights are code 1.
std::vector<uint8_t> reference(const std::vector<float> &w, int64_t rows,
                               int64_t cols, float scale) {
  int64_t rowBytes = i2b128RowBytes(cols);
  std::vector<uint8_t> out(size_t(rows * rowBytes), 0x55);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float q = std::nearbyint(w[size_t(r * cols + c)] / scale);
      q = std::min(1.0f, std::max(-1.0f, q));
      unsigned code = unsigned(int(q) + 1);
      uint8_t &byte = out[size_t(r * rowBytes + (c / 128) * 32 + c % 32)];
      int field = int((c % 128) / 32);
      byte = uint8_t((byte & ~(3u << (2 * field))) | (code << (2 * field)));
    }
  return out;
}

} // namespace

// Ties (±0.5γ, ±1.5γ, ±2.5γ), values just around them, huge values,
// infinities, NaN, signed zeros and widths that need padding: the packer
// gives the reference's codes byte for byte.
TEST(Packing, CodesEqualTheDirectReference) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float gamma = 0.25f;
  std::vector<float> special = {0.5f,  -0.5f,  1.5f,    -1.5f,  2.5f,   -2.5f,
                                0.0f,  -0.0f,  1.0f,    -1.0f,  1e30f,  -1e30f,
                                inf,   -inf,   nan,     4e6f,   -4e6f,  9e6f,
                                -9e6f, 0.499f, -0.499f, 0.501f, -0.501f};
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (int64_t cols : {1, 31, 128, 200, 384, 517}) {
    int64_t rows = 5;
    std::vector<float> w(size_t(rows * cols));
    for (size_t i = 0; i < w.size(); ++i)
      w[i] =
          i % 3 == 0 ? special[(i / 3) % special.size()] * gamma : normal(rng);
    std::vector<uint8_t> got(size_t(rows * i2b128RowBytes(cols)), 0xAA);
    packTernaryCodes(w.data(), rows, cols, gamma, got.data());
    EXPECT_EQ(got, reference(w, rows, cols, gamma)) << cols << " columns";

    PackedTernary packed = packTernary(w.data(), rows, cols);
    EXPECT_EQ(packed.codes, reference(w, rows, cols, packed.scale))
        << cols << " columns";
  }
}
