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

PackedTernary packTernary(const void *data, int64_t rows, int64_t cols) {
  const auto *p = static_cast<const unsigned char *>(data);
  PackedTernary out;
  out.rows = rows;
  out.cols = cols;
  out.scale = ternaryScale(data, rows * cols);
  int64_t rowBytes = i2b128RowBytes(cols);
  // 0x55: code 1 (weight 0) in all four 2-bit fields, for padding columns.
  out.codes.assign(size_t(rows * rowBytes), 0x55);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t *row = out.codes.data() + r * rowBytes;
    for (int64_t c = 0; c < cols; ++c) {
      float q = std::nearbyint(load(p, r * cols + c) / out.scale);
      q = std::min(1.0f, std::max(-1.0f, q));
      unsigned code = unsigned(int(q) + 1);
      int64_t block = c / kI2B128BlockWeights;
      int64_t field = (c % kI2B128BlockWeights) / 32, lane = c % 32;
      uint8_t &byte = row[block * kI2B128BlockBytes + lane];
      byte = uint8_t((byte & ~(3u << (2 * field))) | (code << (2 * field)));
    }
  }
  return out;
}

} // namespace bitttt::format
