//===- Packing.h - ternary weight quantization and i2_b128 packing -*- C++ -*-//
//
// The one place the compiler (bitttt-compile writing a .bitt) and the runtime
// (exporting a trained model) turn a latent f32 BitLinear weight into what
// compiled code reads: the scale γ and the 2-bit codes in layout i2_b128
// (docs/packing.md). Plain C++17, no LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FORMAT_PACKING_H
#define BITTTT_FORMAT_PACKING_H

#include <cstdint>
#include <vector>

namespace bitttt::format {

/// Weights per i2_b128 block and bytes per block (4 codes per byte).
inline constexpr int64_t kI2B128BlockWeights = 128;
inline constexpr int64_t kI2B128BlockBytes = 32;

/// Bytes of one packed row of `cols` weights: 32 · ceil(cols / 128).
inline int64_t i2b128RowBytes(int64_t cols) {
  return kI2B128BlockBytes *
         ((cols + kI2B128BlockWeights - 1) / kI2B128BlockWeights);
}

/// γ = max(mean|W|, 1e-5) of an f32 matrix of `count` elements at `data`
/// (any alignment). The sum runs in double, in memory order, so γ is the
/// f32 nearest the exact mean, independent of vectorization or threads.
float ternaryScale(const void *data, int64_t count);

/// A quantized, packed weight: rows × i2b128RowBytes(cols) code bytes.
struct PackedTernary {
  int64_t rows = 0, cols = 0;
  float scale = 0; ///< γ
  std::vector<uint8_t> codes;
};

/// DESIGN.md §1 and docs/packing.md: γ = ternaryScale(W), the weight
/// w = clamp(roundeven(W / γ), -1, 1) (the division in f32, as compiled code
/// and the reference do it), stored as the code w + 1 in layout i2_b128;
/// padding columns hold code 1 (weight 0). `data` is row-major f32
/// [rows, cols], any alignment.
PackedTernary packTernary(const void *data, int64_t rows, int64_t cols);

/// The codes part of packTernary for a given γ, written to `out`
/// (rows × i2b128RowBytes(cols) bytes): lets a writer pack a tensor
/// straight into its output buffer.
void packTernaryCodes(const void *data, int64_t rows, int64_t cols, float scale,
                      uint8_t *out);

} // namespace bitttt::format

#endif // BITTTT_FORMAT_PACKING_H
