//===- LowerPackedBitLinear.cpp - packed ternary BitLinear → x86 SIMD -----===//
//
// The hot loop of inference: int8 activations × 2-bit ternary weights.
// Layout i2_b128 (docs/packing.md): per row, blocks of 32 bytes hold 128
// codes q = w + 1; `(bytes >> 2k) & 3` gives the 32 codes of columns
// 128·b + 32·k + [0, 32) as bytes, and one `bitttt.dot_2bit_i8` takes the
// four (codes, activations) pairs of a block; `bitttt-lower-x86-dot` makes
// it vpdpbusd (AVX-512 VNNI) or vpmaddubsw + vpmaddwd (AVX2) after
// bufferization. The signed dot is Σ q·x − Σ x. Rows are the outer loop so
// one row's codes stay in L1 while every token of a prefill chunk reads them.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Transforms/Builders.h"
#include "bitttt/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTLOWERPACKEDBITLINEAR
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

constexpr int64_t kBlockWeights = 128;
constexpr int64_t kBlockBytes = 32;

Value splatI8(ImplicitLocOpBuilder &b, VectorType type, int64_t v) {
  return arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getIntegerAttr(b.getI8Type(), v)));
}

/// Codes as a `tensor<R x K x i8>` of ternary values (weight = code - 1);
/// the f32-activation path and `unpack_ternary` use this.
Value unpackCodes(TensorBuilder &tb, Value bytes, PackedTernaryType type) {
  ImplicitLocOpBuilder &b = tb.builder();
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(type.getRows()),
                                     b.getIndexAttr(type.getCols())};
  return tb.map(
      {}, sizes, b.getI8Type(), {},
      [&](ImplicitLocOpBuilder &ib, ValueRange) -> Value {
        Value r = linalg::IndexOp::create(ib, 0);
        Value k = linalg::IndexOp::create(ib, 1);
        Value blk = arith::DivUIOp::create(ib, k, tb.index(128));
        Value in = arith::RemUIOp::create(ib, k, tb.index(128));
        Value sub = arith::DivUIOp::create(ib, in, tb.index(32));
        Value lane = arith::RemUIOp::create(ib, in, tb.index(32));
        Value col = arith::AddIOp::create(
            ib, arith::MulIOp::create(ib, blk, tb.index(32)), lane);
        Value byte = tensor::ExtractOp::create(ib, bytes, ValueRange{r, col});
        Value shift = arith::IndexCastOp::create(
            ib, ib.getI8Type(), arith::MulIOp::create(ib, sub, tb.index(2)));
        Value q = arith::AndIOp::create(
            ib, arith::ShRUIOp::create(ib, byte, shift),
            arith::ConstantOp::create(ib, ib.getI8IntegerAttr(3)));
        return arith::SubIOp::create(
            ib, q, arith::ConstantOp::create(ib, ib.getI8IntegerAttr(1)));
      });
}

/// One 128-weight block of row `r` of every weight in `bytes` against token
/// `t`: the activation vectors are loaded once and shared; four (codes,
/// activations) pairs go into each weight's accumulator. In the tail block
/// (`inBounds` false) reads past the row end yield zeros, and the padding
/// codes (q = 1) then add nothing to Σ q·x − Σ x.
SmallVector<Value> blockStep(ImplicitLocOpBuilder &b, ValueRange bytes,
                             Value xq, Value r, Value t, Value blk,
                             ValueRange accs, bool inBounds) {
  Type i8 = b.getI8Type();
  auto bytesVec = VectorType::get({kBlockBytes}, i8);
  Value zero = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
  Value byteOff = arith::MulIOp::create(
      b, blk, arith::ConstantIndexOp::create(b, kBlockBytes));
  Value colOff = arith::MulIOp::create(
      b, blk, arith::ConstantIndexOp::create(b, kBlockWeights));
  SmallVector<Value, 4> acts;
  for (int64_t k = 0; k < 4; ++k) {
    Value col = arith::AddIOp::create(
        b, colOff, arith::ConstantIndexOp::create(b, 32 * k));
    acts.push_back(vector::TransferReadOp::create(
        b, bytesVec, xq, ValueRange{t, col}, zero, ArrayRef<bool>{inBounds}));
  }
  Value three = splatI8(b, bytesVec, 3);
  SmallVector<Value> results;
  for (auto [w, acc] : llvm::zip_equal(bytes, accs)) {
    Value packed = vector::TransferReadOp::create(
        b, bytesVec, w, ValueRange{r, byteOff}, zero, ArrayRef<bool>{true});
    SmallVector<Value, 4> codes;
    for (int64_t k = 0; k < 4; ++k) {
      Value q = k ? Value(arith::ShRUIOp::create(b, packed,
                                                 splatI8(b, bytesVec, 2 * k)))
                  : packed;
      codes.push_back(arith::AndIOp::create(b, q, three));
    }
    results.push_back(Dot2BitI8Op::create(b, acc.getType(), acc, codes, acts));
  }
  return results;
}

/// A packed weight as the kernel reads it: its bytes and its γ.
struct PackedOperand {
  Value bytes;
  Value gamma;
};

/// Combines the per-weight BitLinear outputs of one (token, row) into the
/// value stored (the identity for one weight, silu(g)·u for gate/up).
using Epilogue = function_ref<Value(ImplicitLocOpBuilder &, ArrayRef<Value>)>;

/// For every weight w: y_w = ((Σ q·x − Σ x) · γ_w) / s on int8 activations
/// `xq` [T, K] with scales [T]; stores epilogue(y_w...) into [T, rows].
Value buildInt8Kernel(TensorBuilder &tb, Value xq, Value scales,
                      ArrayRef<PackedOperand> weights, PackedTernaryType type,
                      Epilogue epilogue) {
  ImplicitLocOpBuilder &b = tb.builder();
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  int64_t rows = type.getRows(), cols = type.getCols();
  int64_t fullBlocks = cols / kBlockWeights;
  bool tail = cols % kBlockWeights != 0;

  Value xsum = tb.generic(
      xq, tb.filledInt({tb.sizes(xq)[0]}, i32, 0),
      {tb.identity(2), tb.dims(2, {0})},
      {utils::IteratorType::parallel, utils::IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::AddIOp::create(ib, a[1],
                                     arith::ExtSIOp::create(ib, i32, a[0]));
      });

  auto accVec = VectorType::get({8}, i32);
  Value zeroAcc = arith::ConstantOp::create(
      b, DenseElementsAttr::get(accVec, b.getI32IntegerAttr(0)));
  SmallVector<Value> zeroAccs(weights.size(), zeroAcc), bytes;
  for (const PackedOperand &w : weights)
    bytes.push_back(w.bytes);
  Value c0 = tb.index(0), c1 = tb.index(1);
  return buildRowParallel(
      tb, rows, xq, [&](ImplicitLocOpBuilder &tbld, Value r, Value t) {
        auto blkLoop = scf::ForOp::create(
            tbld, c0, tb.index(fullBlocks), c1, zeroAccs,
            [&](OpBuilder &ob3, Location loc3, Value blk, ValueRange accIter) {
              ImplicitLocOpBuilder kb(loc3, ob3);
              scf::YieldOp::create(
                  kb, blockStep(kb, bytes, xq, r, t, blk, accIter, true));
            });
        SmallVector<Value> accs(blkLoop.getResults());
        if (tail)
          accs = blockStep(tbld, bytes, xq, r, t, tb.index(fullBlocks), accs,
                           false);
        Value sx = tensor::ExtractOp::create(tbld, xsum, ValueRange{t});
        Value s = tensor::ExtractOp::create(tbld, scales, ValueRange{t});
        SmallVector<Value> ys;
        for (auto [acc, w] : llvm::zip_equal(accs, weights)) {
          Value dot = vector::ReductionOp::create(
              tbld, vector::CombiningKind::ADD, acc);
          dot = arith::SubIOp::create(tbld, dot, sx);
          Value y = arith::SIToFPOp::create(tbld, f32, dot);
          y = arith::MulFOp::create(tbld, y, w.gamma);
          ys.push_back(arith::DivFOp::create(tbld, y, s));
        }
        return epilogue(tbld, ys);
      });
}

Value single(ImplicitLocOpBuilder &, ArrayRef<Value> ys) { return ys[0]; }

/// silu(g)·u, the same operations as the SwiGLU decomposition.
Value siluMul(ImplicitLocOpBuilder &b, ArrayRef<Value> ys) {
  return buildSiluMul(b, ys[0], ys[1]);
}

/// act_bits = 0: y = (x · Wqᵀ) · γ in f32 over unpacked codes.
Value buildF32Kernel(TensorBuilder &tb, BitLinearOp op, Value bytes,
                     PackedTernaryType type) {
  ImplicitLocOpBuilder &b = tb.builder();
  Type f32 = b.getF32Type();
  Value w = unpackCodes(tb, bytes, type);
  Value x = op.getInput();
  SmallVector<OpFoldResult> xs = tb.sizes(x);
  Value init = tb.filled({xs[0], b.getIndexAttr(type.getRows())}, f32, 0.0);
  Value dot =
      tb.generic({x, w}, init,
                 {tb.dims(3, {0, 2}), tb.dims(3, {1, 2}), tb.dims(3, {0, 1})},
                 {utils::IteratorType::parallel, utils::IteratorType::parallel,
                  utils::IteratorType::reduction},
                 [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                   Value wf = arith::SIToFPOp::create(ib, f32, a[1]);
                   return arith::AddFOp::create(
                       ib, a[2], arith::MulFOp::create(ib, a[0], wf));
                 });
  Value gamma = op.getScale();
  return tb.map(dot, tb.sizes(dot), f32, {tb.identity(2)},
                [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
                  return arith::MulFOp::create(ib, a[0], gamma);
                });
}

RankedTensorType bytesType(PackedTernaryType type) {
  return RankedTensorType::get({type.getRows(), type.getRowBytes()},
                               IntegerType::get(type.getContext(), 8));
}

struct LowerPackedBitLinearPass
    : mlir::bitttt::impl::BitTTTLowerPackedBitLinearBase<
          LowerPackedBitLinearPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;

    // Packed values must be function arguments: they become byte tensors.
    // The kernels read them through a cast that is folded away at the end.
    SmallVector<Operation *> toLower;
    WalkResult walk = func.walk([&](Operation *op) {
      for (Value v : op->getOperands()) {
        if (!isPacked(v))
          continue;
        if (!isa<BlockArgument>(v) ||
            cast<BlockArgument>(v).getOwner()->getParentOp() != func) {
          op->emitError("packed_ternary operand must be a function argument "
                        "when lowering to kernels");
          return WalkResult::interrupt();
        }
        if (!isa<BitLinearOp, BitLinearQOp, GateUpQOp, UnpackTernaryOp>(op)) {
          op->emitError("cannot lower this use of a packed_ternary value");
          return WalkResult::interrupt();
        }
      }
      if (isa<BitLinearOp, BitLinearQOp, GateUpQOp, UnpackTernaryOp>(op) &&
          llvm::any_of(op->getOperands(), isPacked))
        toLower.push_back(op);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    for (Operation *op : toLower) {
      ImplicitLocOpBuilder b(op->getLoc(), op);
      TensorBuilder tb(b);
      auto bytesOf = [&](Value packed) -> Value {
        auto type = cast<PackedTernaryType>(packed.getType());
        return UnrealizedConversionCastOp::create(b, bytesType(type), packed)
            .getResult(0);
      };
      Value result;
      if (auto unpack = dyn_cast<UnpackTernaryOp>(op)) {
        result = unpackCodes(tb, bytesOf(unpack.getPacked()),
                             unpack.getPacked().getType());
      } else if (auto q = dyn_cast<BitLinearQOp>(op)) {
        result = buildInt8Kernel(tb, q.getCodes(), q.getScales(),
                                 {{bytesOf(q.getWeight()), q.getScale()}},
                                 q.getWeight().getType(), single);
      } else if (auto gu = dyn_cast<GateUpQOp>(op)) {
        result =
            buildInt8Kernel(tb, gu.getCodes(), gu.getScales(),
                            {{bytesOf(gu.getGateWeight()), gu.getGateScale()},
                             {bytesOf(gu.getUpWeight()), gu.getUpScale()}},
                            gu.getGateWeight().getType(), siluMul);
      } else {
        auto bl = cast<BitLinearOp>(op);
        auto type = cast<PackedTernaryType>(bl.getWeight().getType());
        if (bl.getActBitsAttr().getInt() == 8) {
          auto xType = bl.getInput().getType();
          auto quant = ActQuantOp::create(
              b, RankedTensorType::get(xType.getShape(), b.getI8Type()),
              RankedTensorType::get({xType.getDimSize(0)}, b.getF32Type()),
              bl.getInput());
          result = buildInt8Kernel(tb, quant.getCodes(), quant.getScales(),
                                   {{bytesOf(bl.getWeight()), bl.getScale()}},
                                   type, single);
        } else {
          result = buildF32Kernel(tb, bl, bytesOf(bl.getWeight()), type);
        }
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
      arg.setType(bytesType(type));
      inputs[arg.getArgNumber()] = arg.getType();
      for (Operation *user : llvm::make_early_inc_range(arg.getUsers())) {
        user->getResult(0).replaceAllUsesWith(arg);
        user->erase();
      }
    }
    func.setType(
        FunctionType::get(&getContext(), inputs, func.getResultTypes()));
  }

  static bool isPacked(Value v) { return isa<PackedTernaryType>(v.getType()); }
};

} // namespace
