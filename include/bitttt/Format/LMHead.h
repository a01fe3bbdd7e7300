//===- LMHead.h - the compact LM-head formats (bf16, int8 per row) -*- C++ -*-//
//
// The one place the compiler (bitttt-compile writing a .bitt) and a runtime
// exporter turn the latent f32 `lm_head.weight` [V, D] into what the code of
// `--lm-head bf16|int8` reads (docs/lm-head.md). Plain C++17, no LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FORMAT_LMHEAD_H
#define BITTTT_FORMAT_LMHEAD_H

#include <cstdint>
#include <string>
#include <vector>

namespace bitttt::format {

/// What the LM head of a compiled model is: the header's
/// `bitttt.lm_head.format` and the `--lm-head` value.
enum class LMHeadFormat { F32, BF16, Int8 };

/// "f32", "bf16", "int8".
const char *lmHeadFormatName(LMHeadFormat format);
/// The format called `name`, false if there is none.
bool parseLMHeadFormat(const std::string &name, LMHeadFormat &out);
/// The `bitttt.packed` layout of the parts of a compact head
/// ("lm_head_bf16", "lm_head_int8"); "" for f32 (the plain tensor).
const char *lmHeadLayout(LMHeadFormat format);

/// bf16 of an f32 by round-to-nearest-even of its bit pattern (NaNs stay
/// NaN, quiet): what torch's `.to(torch.bfloat16)` gives.
uint16_t bf16FromF32(float value);

/// The bf16 values of `count` f32 at `data` (any alignment).
std::vector<uint16_t> quantizeLMHeadBF16(const void *data, int64_t count);

/// An int8 LM head: per row r, `scale[r] = max_k |W[r,k]| / 127` (an f32
/// division) and `codes[r,k] = clamp(roundeven(W[r,k] / scale[r]), -127,
/// 127)` (an f32 division); a row whose scale is 0 (all zero, or so small
/// that the division underflows) has codes 0 and scale 0. `rowSum[r] =
/// Σ_k codes[r,k]`, which the VNNI kernel needs to undo its +128 bias of
/// the activation.
struct Int8LMHead {
  int64_t rows = 0, cols = 0;
  std::vector<int8_t> codes;   ///< rows × cols, row-major
  std::vector<float> scale;    ///< rows
  std::vector<int32_t> rowSum; ///< rows
};

/// The int8 head of a row-major f32 [rows, cols] matrix at `data` (any
/// alignment). Non-finite inputs give unspecified codes.
Int8LMHead quantizeLMHeadInt8(const void *data, int64_t rows, int64_t cols);

} // namespace bitttt::format

#endif // BITTTT_FORMAT_LMHEAD_H
