//===- Packing.h - ternary weight quantization and packing -----*- C++ -*-===//
//
// The one place the compiler (bitttt-compile writing a .bitt) and the runtime
// (exporting a trained model) turn a latent f32 BitLinear weight into what
// compiled code reads: the scale γ and the codes in layout i2_b128 (2 bits
// per weight) or t5_b160 (5 weights per byte, 1.6 bits; docs/packing.md).
// Plain C++17, no LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FORMAT_PACKING_H
#define BITTTT_FORMAT_PACKING_H

#include <cstdint>
#include <string>
#include <vector>

namespace bitttt::format {

/// How a packed ternary weight's codes are laid out (docs/packing.md): the
/// `--weight-format` of bitttt-compile and the `layout` of a .bitt entry.
enum class TernaryLayout { I2B128, T5B160 };

/// "i2_b128", "t5_b160".
const char *ternaryLayoutName(TernaryLayout layout);
/// The layout called `name`, false if there is none.
bool parseTernaryLayout(const std::string &name, TernaryLayout &out);
/// Every layout's name, '|'-joined, for messages and --help.
const char *ternaryLayoutNames();

/// Weights per block (128 or 160); every layout's block is 32 bytes.
inline constexpr int64_t kTernaryBlockBytes = 32;
constexpr int64_t blockWeights(TernaryLayout layout) {
  return layout == TernaryLayout::T5B160 ? 160 : 128;
}
inline constexpr int64_t kMaxBlockWeights = 160;

/// The largest rows or cols of a packed weight (the .bitt reader and the
/// `!bitttt.packed_ternary` verifier): far above any model, low enough that
/// rows · packedRowBytes(cols) cannot overflow int64.
inline constexpr int64_t kMaxPackedDim = int64_t(1) << 40;
/// Bytes of one packed row of `cols` weights: 32 · ceil(cols / block).
inline int64_t packedRowBytes(TernaryLayout layout, int64_t cols) {
  int64_t n = blockWeights(layout);
  return kTernaryBlockBytes * ((cols + n - 1) / n);
}

/// packedRowBytes of layout i2_b128.
inline int64_t i2b128RowBytes(int64_t cols) {
  return packedRowBytes(TernaryLayout::I2B128, cols);
}

/// γ = max(mean|W|, 1e-5) of an f32 matrix of `count` elements at `data`
/// (any alignment). The sum runs in double, in memory order, so γ is the
/// f32 nearest the exact mean, independent of vectorization or threads.
float ternaryScale(const void *data, int64_t count);

/// The index of the first NaN or ±Inf among `count` f32 values at `data`
/// (unaligned), or -1 when all are finite.
int64_t firstNonFinite(const void *data, int64_t count);

/// A quantized, packed weight: rows × packedRowBytes(layout, cols) bytes.
struct PackedTernary {
  TernaryLayout layout = TernaryLayout::I2B128;
  int64_t rows = 0, cols = 0;
  float scale = 0; ///< γ
  std::vector<uint8_t> codes;
};

/// DESIGN.md §1 and docs/packing.md: γ = ternaryScale(W), the weight
/// w = clamp(roundeven(W / γ), -1, 1) (the division in f32, as compiled code
/// and the reference do it), stored as the code w + 1 in `layout`; padding
/// columns hold code 1 (weight 0). `data` is row-major f32 [rows, cols],
/// any alignment.
PackedTernary packTernary(const void *data, int64_t rows, int64_t cols,
                          TernaryLayout layout = TernaryLayout::I2B128);

/// The codes part of packTernary for a given γ, written to `out`
/// (rows × packedRowBytes(layout, cols) bytes): lets a writer pack a
/// tensor straight into its output buffer.
void packTernaryCodes(const void *data, int64_t rows, int64_t cols, float scale,
                      uint8_t *out,
                      TernaryLayout layout = TernaryLayout::I2B128);

} // namespace bitttt::format

#endif // BITTTT_FORMAT_PACKING_H
