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
#include "dialect/BitTTTOps.h"
#include "lib/Transforms/Builders.h"
#include "lib/Transforms/Passes.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTLOWERPACKEDBITLINEAR
#include "lib/Transforms/Passes.h.inc"
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
  return tb.map({}, sizes, b.getI8Type(), {},
                [&](ImplicitLocOpBuilder &ib, ValueRange) -> Value {
                  Value r = linalg::IndexOp::create(ib, 0);
                  Value k = linalg::IndexOp::create(ib, 1);
                  Value blk = arith::DivUIOp::create(ib, k, tb.index(128));
                  Value in = arith::RemUIOp::create(ib, k, tb.index(128));
                  Value sub = arith::DivUIOp::create(ib, in, tb.index(32));
                  Value lane = arith::RemUIOp::create(ib, in, tb.index(32));
                  Value col = arith::AddIOp::create(
                      ib, arith::MulIOp::create(ib, blk, tb.index(32)), lane);
                  Value byte =
                      tensor::ExtractOp::create(ib, bytes, ValueRange{r, col});
                  Value shift = arith::IndexCastOp::create(
                      ib, ib.getI8Type(),
                      arith::MulIOp::create(ib, sub, tb.index(2)));
                  Value q = arith::AndIOp::create(
                      ib, arith::ShRUIOp::create(ib, byte, shift),
                      arith::ConstantOp::create(ib, ib.getI8IntegerAttr(3)));
                  return arith::SubIOp::create(
                      ib, q, arith::ConstantOp::create(ib, ib.getI8IntegerAttr(1)));
                });
}

/// One 128-weight block of row `r` against token `t`: four (codes,
/// activations) pairs into `acc`. In the tail block (`inBounds` false) the
/// activation reads past the row end yield zeros, and the padding codes
/// (q = 1) then add nothing to Σ q·x − Σ x.
Value blockStep(ImplicitLocOpBuilder &b, Value bytes, Value xq, Value r,
                Value t, Value blk, Value acc, bool inBounds) {
  Type i8 = b.getI8Type();
  auto bytesVec = VectorType::get({kBlockBytes}, i8);
  Value zero = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
  Value byteOff = arith::MulIOp::create(
      b, blk, arith::ConstantIndexOp::create(b, kBlockBytes));
  Value colOff = arith::MulIOp::create(
      b, blk, arith::ConstantIndexOp::create(b, kBlockWeights));
  Value packed = vector::TransferReadOp::create(
      b, bytesVec, bytes, ValueRange{r, byteOff}, zero, ArrayRef<bool>{true});
  Value three = splatI8(b, bytesVec, 3);
  SmallVector<Value, 4> codes, acts;
  for (int64_t k = 0; k < 4; ++k) {
    Value q = k ? Value(arith::ShRUIOp::create(b, packed,
                                               splatI8(b, bytesVec, 2 * k)))
                : packed;
    codes.push_back(arith::AndIOp::create(b, q, three));
    Value col = arith::AddIOp::create(
        b, colOff, arith::ConstantIndexOp::create(b, 32 * k));
    acts.push_back(vector::TransferReadOp::create(
        b, bytesVec, xq, ValueRange{t, col}, zero, ArrayRef<bool>{inBounds}));
  }
  return Dot2BitI8Op::create(b, acc.getType(), acc, codes, acts);
}

/// y = ((Σ q·x − Σ x) · γ) / s for int8 activations.
Value buildInt8Kernel(TensorBuilder &tb, BitLinearOp op, Value bytes,
                      PackedTernaryType type) {
  ImplicitLocOpBuilder &b = tb.builder();
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
  Value x = op.getInput();
  int64_t rows = type.getRows(), cols = type.getCols();
  int64_t fullBlocks = cols / kBlockWeights;
  bool tail = cols % kBlockWeights != 0;

  auto xType = cast<RankedTensorType>(x.getType());
  auto quant = ActQuantOp::create(
      b, RankedTensorType::get(xType.getShape(), i8),
      RankedTensorType::get({xType.getDimSize(0)}, f32), x);
  Value xq = quant.getCodes(), scales = quant.getScales();
  Value tokens = tensor::DimOp::create(b, x, 0);
  Value xsum = tb.generic(
      xq, tb.filledInt({tb.sizes(x)[0]}, i32, 0),
      {tb.identity(2), tb.dims(2, {0})},
      {utils::IteratorType::parallel, utils::IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        return arith::AddIOp::create(ib, a[1],
                                     arith::ExtSIOp::create(ib, i32, a[0]));
      });

  auto accVec = VectorType::get({8}, i32);
  Value gamma = op.getScale();
  Value zeroAcc = arith::ConstantOp::create(
      b, DenseElementsAttr::get(accVec, b.getI32IntegerAttr(0)));
  Value c0 = tb.index(0), c1 = tb.index(1);
  Value init = tb.empty({tb.sizes(x)[0], b.getIndexAttr(rows)}, f32);

  // Rows are independent: an scf.forall, which the lowering runs on the
  // OpenMP thread pool. Each row produces its column of y for every token.
  OpFoldResult tokensOfr = tb.sizes(x)[0];
  auto rowLoop = scf::ForallOp::create(
      b, ArrayRef<OpFoldResult>{b.getIndexAttr(rows)}, ValueRange{init},
      std::nullopt, [&](OpBuilder &ob, Location loc, ValueRange args) {
        ImplicitLocOpBuilder rb(loc, ob);
        Value r = args[0], shared = args[1];
        // Writing into the row's own slice of the shared output lets
        // bufferization update it in place (no temporary, no copy).
        Value column = tensor::ExtractSliceOp::create(
            rb, shared, ArrayRef<OpFoldResult>{rb.getIndexAttr(0), r},
            ArrayRef<OpFoldResult>{tokensOfr, rb.getIndexAttr(1)},
            ArrayRef<OpFoldResult>{rb.getIndexAttr(1), rb.getIndexAttr(1)});
        auto tokLoop = scf::ForOp::create(
            rb, c0, tokens, c1, ValueRange{column},
            [&](OpBuilder &ob2, Location loc2, Value t, ValueRange tokIter) {
              ImplicitLocOpBuilder tbld(loc2, ob2);
              auto blkLoop = scf::ForOp::create(
                  tbld, c0, tb.index(fullBlocks), c1, ValueRange{zeroAcc},
                  [&](OpBuilder &ob3, Location loc3, Value blk,
                      ValueRange accIter) {
                    ImplicitLocOpBuilder kb(loc3, ob3);
                    scf::YieldOp::create(kb, blockStep(kb, bytes, xq, r, t, blk,
                                                       accIter[0], true));
                  });
              Value acc = blkLoop.getResult(0);
              if (tail)
                acc = blockStep(tbld, bytes, xq, r, t, tb.index(fullBlocks),
                                acc, false);
              Value dot = vector::ReductionOp::create(
                  tbld, vector::CombiningKind::ADD, acc);
              Value sx = tensor::ExtractOp::create(tbld, xsum, ValueRange{t});
              dot = arith::SubIOp::create(tbld, dot, sx);
              Value s = tensor::ExtractOp::create(tbld, scales, ValueRange{t});
              Value y = arith::SIToFPOp::create(tbld, f32, dot);
              y = arith::MulFOp::create(tbld, y, gamma);
              y = arith::DivFOp::create(tbld, y, s);
              Value out = tensor::InsertOp::create(
                  tbld, y, tokIter[0],
                  ValueRange{t, arith::ConstantIndexOp::create(tbld, 0)});
              scf::YieldOp::create(tbld, out);
            });
        auto inParallel = scf::InParallelOp::create(rb);
        rb.setInsertionPointToStart(inParallel.getBody());
        tensor::ParallelInsertSliceOp::create(
            rb, tokLoop.getResult(0), shared,
            ArrayRef<OpFoldResult>{rb.getIndexAttr(0), r},
            ArrayRef<OpFoldResult>{tokensOfr, rb.getIndexAttr(1)},
            ArrayRef<OpFoldResult>{rb.getIndexAttr(1), rb.getIndexAttr(1)});
      });
  return rowLoop.getResult(0);
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
  Value dot = tb.generic(
      {x, w}, init, {tb.dims(3, {0, 2}), tb.dims(3, {1, 2}), tb.dims(3, {0, 1})},
      {utils::IteratorType::parallel, utils::IteratorType::parallel,
       utils::IteratorType::reduction},
      [&](ImplicitLocOpBuilder &ib, ValueRange a) -> Value {
        Value wf = arith::SIToFPOp::create(ib, f32, a[1]);
        return arith::AddFOp::create(ib, a[2],
                                     arith::MulFOp::create(ib, a[0], wf));
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
        if (!isa<BitLinearOp, UnpackTernaryOp>(op)) {
          op->emitError("cannot lower this use of a packed_ternary value");
          return WalkResult::interrupt();
        }
      }
      if (isa<BitLinearOp, UnpackTernaryOp>(op) &&
          llvm::any_of(op->getOperands(), isPacked))
        toLower.push_back(op);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    for (Operation *op : toLower) {
      ImplicitLocOpBuilder b(op->getLoc(), op);
      TensorBuilder tb(b);
      Value packed = isa<BitLinearOp>(op) ? cast<BitLinearOp>(op).getWeight()
                                          : cast<UnpackTernaryOp>(op).getPacked();
      auto type = cast<PackedTernaryType>(packed.getType());
      Value bytes = UnrealizedConversionCastOp::create(b, bytesType(type), packed)
                        .getResult(0);
      Value result;
      if (auto unpack = dyn_cast<UnpackTernaryOp>(op))
        result = unpackCodes(tb, bytes, type);
      else if (cast<BitLinearOp>(op).getActBitsAttr().getInt() == 8)
        result = buildInt8Kernel(tb, cast<BitLinearOp>(op), bytes, type);
      else
        result = buildF32Kernel(tb, cast<BitLinearOp>(op), bytes, type);
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
    func.setType(FunctionType::get(&getContext(), inputs,
                                   func.getResultTypes()));
  }

  static bool isPacked(Value v) { return isa<PackedTernaryType>(v.getType()); }
};

} // namespace
