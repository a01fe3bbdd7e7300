//===- LowerTernaryMatmul.cpp - packed BitLinear on int8 → tiled kernel ---===//
//
// The hot loop of inference: `bitttt.bitlinear_q` / `bitttt.gate_up_q` on
// packed `i2_b128` or `t5_b160` weights (docs/packing.md) against int8
// activations. y[t, r] = ((Σ q·x − Σ x) · γ) / s_t with q = w + 1.
//
// Register tiles (docs/packing.md, "Kernel tiles"): the rows run in an
// scf.forall over tiles of MM_ROWS rows (the runtime's threads), the tokens
// in tiles of MM_TOKENS inside; per step of DOT_BYTES code bytes (one or
// two 32-byte blocks of 128 or 160 weights), each row's codes are loaded and
// unpacked once and used by every token of the tile, each token's activations
// loaded once and used by every row, with one accumulator per (row, token,
// weight). The tile's codes (MM_ROWS · row bytes) stay in L1 while its token
// tiles stream the activations. Remainder rows and tokens get their own smaller
// static tiles; the last, partial step reads with masks (zeros past the
// row end, where the padding codes then add nothing to Σ q·x − Σ x).
// Tile sizes and vector width come from the target's CpuTargets.def row.
//
//===----------------------------------------------------------------------===//
#include "PassTarget.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Target/X86/Passes.h"
#include "bitttt/Transforms/Builders.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTLOWERTERNARYMATMUL
#include "bitttt/Target/X86/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

namespace format = ::bitttt::format;

constexpr int64_t kBlockBytes = format::kTernaryBlockBytes;

/// A packed weight as the kernel reads it: its bytes and its γ.
struct PackedOperand {
  Value bytes;
  Value gamma;
};

/// Combines the per-weight outputs of one (token, row) into the stored
/// value (the identity for one weight, silu(g)·u for gate/up).
using Epilogue = function_ref<Value(ImplicitLocOpBuilder &, ArrayRef<Value>)>;

/// The static shape of one lowering: K, the vector width and the tile.
struct Geometry {
  format::TernaryLayout layout;
  int64_t blockWeights; ///< 128 (i2_b128) or 160 (t5_b160)
  int64_t subVectors;   ///< 32-code vectors per block: 4 or 5
  int64_t cols;         ///< K
  int64_t perStep;      ///< 32-byte blocks per dot vector (1 or 2)
  bool lut;             ///< t5_b160 decoded by vpermi2b tables (AVX-512 VBMI)
  int64_t steps;        ///< whole in-bounds steps per row
  bool maskedStep;      ///< one more step that reads with masks
  bool chained;         ///< accumulate every pair into its accumulator
  VectorType bytes;     ///< vector<32·perStep x i8>
  VectorType acc;       ///< vector<8·perStep x i32>
};

Value constIndex(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

Value splatI8(ImplicitLocOpBuilder &b, VectorType type, int64_t v) {
  return arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getIntegerAttr(b.getI8Type(), v)));
}

/// Activations of token `t` for sub-vector k of step `step` (static when
/// `staticStep` ≥ 0). One block per step: 32 bytes of `xq` [T, K], masked
/// in the last step. Two blocks per step: 64 contiguous bytes of the
/// interleaved copy (interleaveActs), always in bounds.
Value loadActs(ImplicitLocOpBuilder &b, const Geometry &g, Value xq, Value t,
               Value step, int64_t staticStep, int64_t k) {
  Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
  int64_t stepCols = g.blockWeights * g.perStep;
  int64_t offset =
      g.perStep == 1 ? kBlockBytes * k : g.bytes.getNumElements() * k;
  bool inBounds = g.perStep > 1 || staticStep < 0;
  Value col = arith::AddIOp::create(
      b, arith::MulIOp::create(b, step, constIndex(b, stepCols)),
      constIndex(b, offset));
  return vector::TransferReadOp::create(b, g.bytes, xq, ValueRange{t, col}, pad,
                                        ArrayRef<bool>{inBounds});
}

/// With two blocks per dot vector, the codes of sub-vector k of blocks 2s
/// and 2s+1 sit side by side in one 64-byte load, so the activations they
/// meet are copied once per call into that order: column 2B·s + 64·k +
/// 32·h + i of the copy is column 2B·s + B·h + 32·k + i of `xq` (zero
/// past K), K rounded up to 2B (B weights per block). The copy moves 32
/// bytes at a time (a loop over tokens and steps, the step's 2·B/32 blocks
/// unrolled); only the last step, where K is not a multiple of 2B, reads
/// with masks.
Value interleaveActs(TensorBuilder &tb, const Geometry &g, Value xq) {
  ImplicitLocOpBuilder &b = tb.builder();
  int64_t stepCols = 2 * g.blockWeights;
  int64_t wholeSteps = g.cols / stepCols;
  bool partialStep = g.cols % stepCols != 0;
  int64_t padded = (wholeSteps + partialStep) * stepCols;
  auto block = VectorType::get({kBlockBytes}, b.getI8Type());
  Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
  // One step's 2·B/32 copies of 32 bytes into `out` (row t, step s).
  auto copyStep = [&](ImplicitLocOpBuilder &sb, Value t, Value s, Value out,
                      bool inBounds) {
    Value base = arith::MulIOp::create(sb, s, constIndex(sb, stepCols));
    for (int64_t k = 0; k < g.subVectors; ++k)
      for (int64_t h = 0; h < 2; ++h) {
        Value src = arith::AddIOp::create(
            sb, base, constIndex(sb, h * g.blockWeights + kBlockBytes * k));
        Value dst = arith::AddIOp::create(
            sb, base, constIndex(sb, 2 * kBlockBytes * k + kBlockBytes * h));
        Value v = vector::TransferReadOp::create(sb, block, xq,
                                                 ValueRange{t, src}, pad,
                                                 ArrayRef<bool>{inBounds});
        out = vector::TransferWriteOp::create(sb, v, out, ValueRange{t, dst},
                                              ArrayRef<bool>{true})
                  .getResult();
      }
    return out;
  };
  Value init = tb.empty({tb.sizes(xq)[0], b.getIndexAttr(padded)},
                        b.getI8Type());
  Value tokens = tensor::DimOp::create(b, xq, 0);
  auto tokenLoop = scf::ForOp::create(
      b, constIndex(b, 0), tokens, constIndex(b, 1), ValueRange{init},
      [&](OpBuilder &ob, Location loc, Value t, ValueRange row) {
        ImplicitLocOpBuilder tb2(loc, ob);
        Value out = row[0];
        if (wholeSteps) {
          auto stepLoop = scf::ForOp::create(
              tb2, constIndex(tb2, 0), constIndex(tb2, wholeSteps),
              constIndex(tb2, 1), ValueRange{out},
              [&](OpBuilder &ob2, Location loc2, Value s, ValueRange acc) {
                ImplicitLocOpBuilder sb(loc2, ob2);
                scf::YieldOp::create(sb, copyStep(sb, t, s, acc[0], true));
              });
          out = stepLoop.getResult(0);
        }
        if (partialStep)
          out = copyStep(tb2, t, constIndex(tb2, wholeSteps), out, false);
        scf::YieldOp::create(tb2, out);
      });
  return tokenLoop.getResult(0);
}

/// The four 2-bit fields of each byte of `v`, (v >> 2k) & 3 for k = 0..3,
/// appended to `codes` (the top field needs no mask).
void unpack2BitFields(ImplicitLocOpBuilder &b, const Geometry &g, Value v,
                      SmallVectorImpl<Value> &codes) {
  Value three = splatI8(b, g.bytes, 3);
  for (int64_t k = 0; k < 4; ++k) {
    Value q =
        k ? Value(arith::ShRUIOp::create(b, v, splatI8(b, g.bytes, 2 * k))) : v;
    codes.push_back(k == 3 ? q : Value(arith::AndIOp::create(b, q, three)));
  }
}

/// t5_b160 with AVX-512 VBMI: two 256-entry byte tables indexed by the code
/// byte q (`bitttt.lookup_i8`: two `vpermi2b` and a select each): one gives
/// code 0, the other codes 1..4 in 2-bit fields, which then unpack as
/// i2_b128's do. ~14 vector ops per 64 code bytes against
/// ~35 for the compare chain.
SmallVector<Value, 5> lookupCodes(ImplicitLocOpBuilder &b, const Geometry &g,
                                  Value packed) {
  auto code = [](unsigned q, int k) {
    unsigned m = q;
    for (int i = 0; i < k; ++i)
      m = (m * 3) & 255;
    return (3 * m) >> 8;
  };
  auto lookup = [&](auto entry) -> Value {
    SmallVector<int8_t> table;
    for (unsigned q = 0; q < 256; ++q)
      table.push_back(int8_t(entry(q)));
    return LookupI8Op::create(b, g.bytes, packed, b.getDenseI8ArrayAttr(table));
  };
  Value first = lookup([&](unsigned q) { return code(q, 0); });
  Value rest = lookup([&](unsigned q) {
    return code(q, 1) | code(q, 2) << 2 | code(q, 3) << 4 | code(q, 4) << 6;
  });
  SmallVector<Value, 5> codes = {first};
  unpack2BitFields(b, g, rest, codes);
  return codes;
}

/// The unpacked code vectors (codes 0, 1, 2 as bytes) of row `r` of `w`
/// at step `step`, one per sub-vector. i2_b128: (v >> 2k) & 3. t5_b160
/// (docs/packing.md): with s = v ^ 0x80 as signed bytes, code k is
/// (s_k > −43) + (s_k > 42) for s_k = 3^k·s mod 256 (byte adds), the top
/// two bits of 3·(v·3^k mod 256) — two compares, then two selects (zmm) or
/// two subtractions (ymm).
SmallVector<Value, 5> loadCodes(ImplicitLocOpBuilder &b, const Geometry &g,
                                Value w, Value r, Value step, bool inBounds) {
  Value pad = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
  Value off =
      arith::MulIOp::create(b, step, constIndex(b, kBlockBytes * g.perStep));
  Value packed = vector::TransferReadOp::create(
      b, g.bytes, w, ValueRange{r, off}, pad, ArrayRef<bool>{inBounds});
  SmallVector<Value, 5> codes;
  if (g.layout == format::TernaryLayout::I2B128) {
    unpack2BitFields(b, g, packed, codes);
    return codes;
  }
  if (g.lut)
    return lookupCodes(b, g, packed);
  Value s = arith::XOrIOp::create(b, packed, splatI8(b, g.bytes, -128));
  Value lo = splatI8(b, g.bytes, -43), hi = splatI8(b, g.bytes, 42);
  Value zero = splatI8(b, g.bytes, 0), one = splatI8(b, g.bytes, 1),
        two = splatI8(b, g.bytes, 2);
  for (int64_t k = 0; k < g.subVectors; ++k) {
    if (k)
      s = arith::AddIOp::create(b, arith::AddIOp::create(b, s, s), s);
    Value a = arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, s, lo);
    Value c = arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, s, hi);
    if (g.bytes.getNumElements() == 64) {
      // zmm, so AVX-512: s > 42 implies s > -43, and the compares give mask
      // registers that make the selects two masked moves (measured: 0.83x
      // the time of the subtractions).
      codes.push_back(arith::SelectOp::create(
          b, c, two, arith::SelectOp::create(b, a, one, zero)));
      continue;
    }
    // AVX2: the compares give 0 / -1 bytes; 0 - a - c (blends cost more).
    Value ma = arith::ExtSIOp::create(b, g.bytes, a);
    Value mc = arith::ExtSIOp::create(b, g.bytes, c);
    codes.push_back(
        arith::SubIOp::create(b, arith::SubIOp::create(b, zero, ma), mc));
  }
  return codes;
}

/// One tile's kernel: rows [r0, r0 + nr) × tokens [t0, t0 + nt) of every
/// weight; returns `out` with the tile's values inserted at [t0 + j, i].
class TileKernel {
public:
  TileKernel(const Geometry &g, Value xq, Value xsum, Value scales,
             ArrayRef<PackedOperand> weights, Epilogue epilogue)
      : g(g), xq(xq), xsum(xsum), scales(scales), weights(weights),
        epilogue(epilogue) {}

  Value build(ImplicitLocOpBuilder &b, Value r0, int64_t nr, Value t0,
              int64_t nt, Value out) {
    Value zero = arith::ConstantOp::create(
        b, DenseElementsAttr::get(g.acc, b.getI32IntegerAttr(0)));
    SmallVector<Value> accs(nr * nt * weights.size(), zero);
    auto loop = scf::ForOp::create(
        b, constIndex(b, 0), constIndex(b, g.steps), constIndex(b, 1), accs,
        [&](OpBuilder &ob, Location loc, Value s, ValueRange iter) {
          ImplicitLocOpBuilder kb(loc, ob);
          scf::YieldOp::create(kb, step(kb, r0, nr, t0, nt, s, -1, iter));
        });
    accs.assign(loop.getResults().begin(), loop.getResults().end());
    if (g.maskedStep)
      accs = step(b, r0, nr, t0, nt, constIndex(b, g.steps), g.steps, accs);

    Type f32 = b.getF32Type();
    for (int64_t j = 0; j < nt; ++j) {
      Value t = arith::AddIOp::create(b, t0, constIndex(b, j));
      Value sx = tensor::ExtractOp::create(b, xsum, ValueRange{t});
      Value s = tensor::ExtractOp::create(b, scales, ValueRange{t});
      for (int64_t i = 0; i < nr; ++i) {
        SmallVector<Value, 2> ys;
        for (auto [w, op] : llvm::enumerate(weights)) {
          Value dot = vector::ReductionOp::create(b, vector::CombiningKind::ADD,
                                                  accs[index(i, j, w, nt)]);
          dot = arith::SubIOp::create(b, dot, sx);
          Value y = arith::SIToFPOp::create(b, f32, dot);
          y = arith::MulFOp::create(b, y, op.gamma);
          ys.push_back(arith::DivFOp::create(b, y, s));
        }
        out = tensor::InsertOp::create(b, epilogue(b, ys), out,
                                       ValueRange{t, constIndex(b, i)});
      }
    }
    return out;
  }

private:
  size_t index(int64_t i, int64_t j, size_t w, int64_t nt) const {
    return (i * nt + j) * weights.size() + w;
  }

  SmallVector<Value> step(ImplicitLocOpBuilder &b, Value r0, int64_t nr,
                          Value t0, int64_t nt, Value s, int64_t staticStep,
                          ValueRange accs) {
    bool inBounds = staticStep < 0;
    SmallVector<SmallVector<Value, 5>> acts(nt);
    for (int64_t j = 0; j < nt; ++j) {
      Value t = arith::AddIOp::create(b, t0, constIndex(b, j));
      for (int64_t k = 0; k < g.subVectors; ++k)
        acts[j].push_back(loadActs(b, g, xq, t, s, staticStep, k));
    }
    SmallVector<Value> out(accs.begin(), accs.end());
    for (int64_t i = 0; i < nr; ++i) {
      Value r = arith::AddIOp::create(b, r0, constIndex(b, i));
      for (auto [w, op] : llvm::enumerate(weights)) {
        SmallVector<Value, 5> codes = loadCodes(b, g, op.bytes, r, s, inBounds);
        for (int64_t j = 0; j < nt; ++j) {
          Value &acc = out[index(i, j, w, nt)];
          auto dot = Dot2BitI8Op::create(b, g.acc, acc, codes, acts[j]);
          if (g.chained)
            dot.setChained(true);
          acc = dot;
        }
      }
    }
    return out;
  }

  const Geometry &g;
  Value xq, xsum, scales;
  ArrayRef<PackedOperand> weights;
  Epilogue epilogue;
};

/// For every weight w: y_w = ((Σ q·x − Σ x) · γ_w) / s on int8 activations
/// `xq` [T, K] with scales [T]; returns epilogue(y_w...) as [T, rows].
Value buildTernaryMatmul(ImplicitLocOpBuilder &b, Value xq, Value scales,
                         ArrayRef<PackedOperand> weights, int64_t rows,
                         format::TernaryLayout layout, Epilogue epilogue,
                         const ::bitttt::x86::CpuTarget &cpu) {
  TensorBuilder tb(b);
  Type i32 = b.getI32Type();
  auto xqType = cast<RankedTensorType>(xq.getType());
  int64_t cols = xqType.getDimSize(1);

  Geometry g;
  g.layout = layout;
  g.blockWeights = format::blockWeights(layout);
  g.subVectors = g.blockWeights / 32;
  g.cols = cols;
  g.perStep = cpu.dotBytes / kBlockBytes;
  g.lut = layout == format::TernaryLayout::T5B160 && cpu.dotBytes == 64 &&
          (cpu.requires & ::bitttt::x86::feature::AVX512VBMI);
  int64_t fullBlocks = cols / g.blockWeights;
  g.steps = fullBlocks / g.perStep;
  g.maskedStep = fullBlocks % g.perStep != 0 || cols % g.blockWeights != 0;
  g.bytes = VectorType::get({cpu.dotBytes}, b.getI8Type());
  g.acc = VectorType::get({cpu.dotBytes / 4}, i32);

  // Gate/up keep two accumulators per (row, token): half the rows.
  int64_t tileRows =
      std::max<int64_t>(1, cpu.matmulRows / int64_t(weights.size()));
  int64_t tokens = xqType.getDimSize(0);
  bool staticTokens = !ShapedType::isDynamic(tokens);
  int64_t tileTokens = staticTokens ? std::min(cpu.matmulTokens, tokens) : 1;
  if (tileTokens < 1)
    tileTokens = 1;
  // Enough independent accumulators to hide vpdpbusd's latency.
  g.chained = tileRows * tileTokens * int64_t(weights.size()) >= 8;

  Value xsum = tb.generic(
      xq, tb.filledInt({tb.sizes(xq)[0]}, i32, 0),
      {tb.identity(2), tb.dims(2, {0})},
      {utils::IteratorType::parallel, utils::IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::AddIOp::create(ib, a[1],
                                     arith::ExtSIOp::create(ib, i32, a[0]));
      });
  Value acts =
      g.perStep == 1 ? xq : interleaveActs(tb, g, xq);
  TileKernel kernel(g, acts, xsum, scales, weights, epilogue);

  OpFoldResult tokensOfr = tb.sizes(xq)[0];
  Value tokenCount = tensor::DimOp::create(b, xq, 0);
  Value out = tb.empty({tokensOfr, b.getIndexAttr(rows)}, b.getF32Type());

  // Rows [first, first + tiles·nr) in tiles of nr, one forall iteration
  // per tile, each writing its own [T, nr] column block in place.
  auto rowTiles = [&](int64_t first, int64_t tiles, int64_t nr, Value init) {
    auto forall = scf::ForallOp::create(
        b, ArrayRef<OpFoldResult>{b.getIndexAttr(tiles)}, ValueRange{init},
        std::nullopt, [&](OpBuilder &ob, Location loc, ValueRange args) {
          ImplicitLocOpBuilder rb(loc, ob);
          Value r0 = arith::AddIOp::create(
              rb, arith::MulIOp::create(rb, args[0], constIndex(rb, nr)),
              constIndex(rb, first));
          SmallVector<OpFoldResult> offsets = {rb.getIndexAttr(0), r0};
          SmallVector<OpFoldResult> sizes = {tokensOfr, rb.getIndexAttr(nr)};
          SmallVector<OpFoldResult> strides = {rb.getIndexAttr(1),
                                               rb.getIndexAttr(1)};
          Value block = tensor::ExtractSliceOp::create(rb, args[1], offsets,
                                                       sizes, strides);
          Value wholeTiles = tokenCount;
          if (tileTokens > 1)
            wholeTiles = constIndex(rb, tokens / tileTokens * tileTokens);
          auto tokLoop = scf::ForOp::create(
              rb, constIndex(rb, 0), wholeTiles, constIndex(rb, tileTokens),
              ValueRange{block},
              [&](OpBuilder &ob2, Location loc2, Value t0, ValueRange iter) {
                ImplicitLocOpBuilder kb(loc2, ob2);
                scf::YieldOp::create(
                    kb, kernel.build(kb, r0, nr, t0, tileTokens, iter[0]));
              });
          Value result = tokLoop.getResult(0);
          if (tileTokens > 1 && tokens % tileTokens)
            result = kernel.build(
                rb, r0, nr, constIndex(rb, tokens / tileTokens * tileTokens),
                tokens % tileTokens, result);
          auto inParallel = scf::InParallelOp::create(rb);
          rb.setInsertionPointToStart(inParallel.getBody());
          tensor::ParallelInsertSliceOp::create(rb, result, args[1], offsets,
                                                sizes, strides);
        });
    return forall.getResult(0);
  };
  int64_t whole = rows / tileRows;
  if (whole)
    out = rowTiles(0, whole, tileRows, out);
  if (rows % tileRows)
    out = rowTiles(whole * tileRows, 1, rows % tileRows, out);
  return out;
}

Value single(ImplicitLocOpBuilder &, ArrayRef<Value> ys) { return ys[0]; }

/// silu(g)·u, the same operations as the SwiGLU decomposition.
Value siluMul(ImplicitLocOpBuilder &b, ArrayRef<Value> ys) {
  return buildSiluMul(b, ys[0], ys[1]);
}

struct LowerTernaryMatmulPass
    : mlir::bitttt::impl::BitTTTLowerTernaryMatmulBase<LowerTernaryMatmulPass> {
  using BitTTTLowerTernaryMatmulBase::BitTTTLowerTernaryMatmulBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    const ::bitttt::x86::CpuTarget *cpu =
        targetForPass(func, "bitttt-lower-ternary-matmul", target);
    if (!cpu)
      return signalPassFailure();

    // Packed values reach here only as function arguments (the tensor half
    // checked it), used by the int8 kernels or by casts to their bytes.
    SmallVector<Operation *> toLower;
    func.walk([&](Operation *op) {
      if (isa<BitLinearQOp, GateUpQOp>(op) &&
          llvm::any_of(op->getOperands(), isPackedTernary))
        toLower.push_back(op);
    });
    for (Operation *op : toLower) {
      ImplicitLocOpBuilder b(op->getLoc(), op);
      auto bytesOf = [&](Value packed) { return castToPackedBytes(b, packed); };
      Value result;
      if (auto q = dyn_cast<BitLinearQOp>(op)) {
        PackedTernaryType w = q.getWeight().getType();
        result = buildTernaryMatmul(b, q.getCodes(), q.getScales(),
                                    {{bytesOf(q.getWeight()), q.getScale()}},
                                    w.getRows(), w.getLayout(), single, *cpu);
      } else {
        auto gu = cast<GateUpQOp>(op);
        PackedTernaryType gate = gu.getGateWeight().getType();
        if (gu.getUpWeight().getType().getLayout() != gate.getLayout()) {
          op->emitOpError("has gate and up weights in different layouts");
          return signalPassFailure();
        }
        result = buildTernaryMatmul(
            b, gu.getCodes(), gu.getScales(),
            {{bytesOf(gu.getGateWeight()), gu.getGateScale()},
             {bytesOf(gu.getUpWeight()), gu.getUpScale()}},
            gate.getRows(), gate.getLayout(), siluMul, *cpu);
      }
      op->getResult(0).replaceAllUsesWith(result);
      op->erase();
    }

    // Retype packed arguments to their byte tensors and drop the casts.
    Block &entry = func.getBody().front();
    SmallVector<Type> inputs(func.getArgumentTypes());
    for (BlockArgument arg : entry.getArguments()) {
      auto type = dyn_cast<PackedTernaryType>(arg.getType());
      if (!type)
        continue;
      // A call passes it on to a per-layer function, which this pass
      // retypes the same way.
      for (Operation *user : arg.getUsers())
        if (!isa<UnrealizedConversionCastOp, func::CallOp>(user)) {
          user->emitOpError("uses a packed_ternary argument in a way "
                            "bitttt-lower-ternary-matmul cannot lower");
          return signalPassFailure();
        }
      arg.setType(packedBytesType(type));
      inputs[arg.getArgNumber()] = arg.getType();
      for (Operation *user : llvm::make_early_inc_range(arg.getUsers()))
        if (isa<UnrealizedConversionCastOp>(user)) {
          user->getResult(0).replaceAllUsesWith(arg);
          user->erase();
        }
    }
    func.setType(
        FunctionType::get(&getContext(), inputs, func.getResultTypes()));
  }
};

} // namespace
