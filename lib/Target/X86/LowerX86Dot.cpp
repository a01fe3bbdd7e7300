//===- LowerX86Dot.cpp - bitttt.dot_* → x86 intrinsics --------------------===//
#include "PassTarget.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Target/X86/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTLOWERX86DOT
#include "bitttt/Target/X86/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;
using namespace mlir::bitttt;

namespace {

Value intrinsic(ImplicitLocOpBuilder &b, Type result, StringRef name,
                ValueRange args) {
  return LLVM::CallIntrinsicOp::create(b, result, b.getStringAttr(name), args)
      .getResult(0);
}

/// AVX-512 VNNI: vpdpbusd per pair (ymm or zmm). By default the pairs are
/// summed as chains that start from zero and join the loop-carried
/// accumulator with one add, so consecutive blocks do not wait on each
/// other's vpdpbusd latency (a single chain through `acc` made a lone
/// accumulator latency-bound); `chained` dots come from tiled kernels with
/// enough independent accumulators, and accumulate into `acc` directly.
Value lowerVnni(ImplicitLocOpBuilder &b, Dot2BitI8Op op) {
  auto type = cast<VectorType>(op.getAcc().getType());
  StringRef name = type.getNumElements() == 16 ? "llvm.x86.avx512.vpdpbusd.512"
                                               : "llvm.x86.avx512.vpdpbusd.256";
  if (op.getChained()) {
    Value acc = op.getAcc();
    for (auto [q, x] : llvm::zip(op.getCodes(), op.getValues()))
      acc = intrinsic(b, type, name, {acc, q, x});
    return acc;
  }
  Value zero = arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getI32IntegerAttr(0)));
  SmallVector<Value> chains;
  for (auto [i, pair] :
       llvm::enumerate(llvm::zip(op.getCodes(), op.getValues()))) {
    auto [q, x] = pair;
    if (i % 2 == 0)
      chains.push_back(zero);
    chains.back() = intrinsic(b, type, name, {chains.back(), q, x});
  }
  Value sum = chains[0];
  for (Value c : ArrayRef<Value>(chains).drop_front())
    sum = arith::AddIOp::create(b, sum, c);
  return arith::AddIOp::create(b, op.getAcc(), sum);
}

/// AVX2: Σ vpmaddubsw(codes, values) in i16 (exact: codes ≤ 3, ≤ 5 pairs),
/// then vpmaddwd against ones widens pairs to i32.
Value lowerAvx2(ImplicitLocOpBuilder &b, Dot2BitI8Op op) {
  auto i16Vec = VectorType::get({16}, b.getI16Type());
  Value sum;
  for (auto [q, x] : llvm::zip(op.getCodes(), op.getValues())) {
    Value p = intrinsic(b, i16Vec, "llvm.x86.avx2.pmadd.ub.sw", {q, x});
    sum = sum ? Value(arith::AddIOp::create(b, sum, p)) : p;
  }
  Value ones = arith::ConstantOp::create(
      b, DenseElementsAttr::get(i16Vec, b.getI16IntegerAttr(1)));
  Value wide = intrinsic(b, op.getAcc().getType(), "llvm.x86.avx2.pmadd.wd",
                         {sum, ones});
  return arith::AddIOp::create(b, op.getAcc(), wide);
}

/// The int8 LM head (VNNI only): vpdpbusd of unsigned lhs, signed rhs.
Value lowerU8I8(ImplicitLocOpBuilder &b, DotU8I8Op op) {
  return intrinsic(b, op.getAcc().getType(), "llvm.x86.avx512.vpdpbusd.256",
                   {op.getAcc(), op.getLhs(), op.getRhs()});
}

/// Signed × signed in ±127: |lhs| and rhs·sign(lhs) (vpsignb: also 0 where
/// lhs is 0) make an unsigned × signed product of the same value, then
/// vpdpbusd (VNNI) or vpmaddubsw + vpmaddwd (AVX2; a pair sums to at most
/// 2·127·127 < 2^15, so the i16 step never saturates).
Value lowerI8I8(ImplicitLocOpBuilder &b, DotI8I8Op op, bool vnni) {
  Type bytes = op.getLhs().getType();
  Value u =
      intrinsic(b, bytes, "llvm.x86.avx2.psign.b", {op.getLhs(), op.getLhs()});
  Value s =
      intrinsic(b, bytes, "llvm.x86.avx2.psign.b", {op.getRhs(), op.getLhs()});
  if (vnni)
    return intrinsic(b, op.getAcc().getType(), "llvm.x86.avx512.vpdpbusd.256",
                     {op.getAcc(), u, s});
  auto i16Vec = VectorType::get({16}, b.getI16Type());
  Value p = intrinsic(b, i16Vec, "llvm.x86.avx2.pmadd.ub.sw", {u, s});
  Value ones = arith::ConstantOp::create(
      b, DenseElementsAttr::get(i16Vec, b.getI16IntegerAttr(1)));
  Value wide =
      intrinsic(b, op.getAcc().getType(), "llvm.x86.avx2.pmadd.wd", {p, ones});
  return arith::AddIOp::create(b, op.getAcc(), wide);
}

/// A 256-entry byte table (AVX-512 VBMI): vpermi2b over entries 0..127 and
/// over 128..255 (each reads the index's low 7 bits), the index's sign bit
/// choosing between them.
Value lowerLookup(ImplicitLocOpBuilder &b, LookupI8Op op) {
  auto type = cast<VectorType>(op.getType());
  ArrayRef<int8_t> table = op.getTable();
  auto part = [&](int64_t i) -> Value {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(type, table.slice(64 * i, 64)));
  };
  auto half = [&](int64_t i) {
    return intrinsic(b, type, "llvm.x86.avx512.vpermi2var.qi.512",
                     {part(i), op.getIndex(), part(i + 1)});
  };
  Value zero = arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getI8IntegerAttr(0)));
  Value high =
      arith::CmpIOp::create(b, arith::CmpIPredicate::slt, op.getIndex(), zero);
  return arith::SelectOp::create(b, high, half(2), half(0));
}

struct LowerX86DotPass
    : mlir::bitttt::impl::BitTTTLowerX86DotBase<LowerX86DotPass> {
  using BitTTTLowerX86DotBase::BitTTTLowerX86DotBase;

  void runOnOperation() override {
    const ::bitttt::x86::CpuTarget *cpu =
        targetForPass(getOperation(), "bitttt-lower-x86-dot", target);
    if (!cpu)
      return signalPassFailure();
    bool vnni = cpu->dot == ::bitttt::x86::DotKind::Vnni;
    WalkResult walk = getOperation()->walk([&](Dot2BitI8Op op) {
      if (!vnni && op.getAcc().getType().getNumElements() != 8) {
        op.emitOpError("has 512-bit vectors, which target '")
            << target << "' (AVX2) has no instruction for";
        return WalkResult::interrupt();
      }
      ImplicitLocOpBuilder b(op.getLoc(), op);
      Value result = vnni ? lowerVnni(b, op) : lowerAvx2(b, op);
      op.replaceAllUsesWith(result);
      op.erase();
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    getOperation()->walk([&](DotI8I8Op op) {
      ImplicitLocOpBuilder b(op.getLoc(), op);
      op.replaceAllUsesWith(lowerI8I8(b, op, vnni));
      op.erase();
    });
    bool vbmi = cpu->requires & ::bitttt::x86::feature::AVX512VBMI;
    WalkResult lookups = getOperation()->walk([&](LookupI8Op op) {
      if (!vbmi) {
        op.emitOpError() << "needs AVX-512 VBMI (vpermi2b); " << cpu->name
                         << " has none";
        return WalkResult::interrupt();
      }
      ImplicitLocOpBuilder b(op.getLoc(), op);
      op.replaceAllUsesWith(lowerLookup(b, op));
      op.erase();
      return WalkResult::advance();
    });
    if (lookups.wasInterrupted())
      return signalPassFailure();
    WalkResult result = getOperation()->walk([&](DotU8I8Op op) {
      if (!vnni) {
        op.emitOpError() << "needs a VNNI target (vpdpbusd); " << cpu->name
                         << " has none";
        return WalkResult::interrupt();
      }
      ImplicitLocOpBuilder b(op.getLoc(), op);
      op.replaceAllUsesWith(lowerU8I8(b, op));
      op.erase();
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
