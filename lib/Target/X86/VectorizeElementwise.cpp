//===- VectorizeElementwise.cpp - tile + vectorize elementwise linalg -----===//
//
// The packed BitLinear kernels are written in the vector dialect directly;
// the rest of a model is linalg on tensors. Its elementwise generics (norm
// scaling, quantization, residual adds, SwiGLU's silu·mul, TTT updates) are
// tiled to [1, …, 1, V] with scf.for and each tile vectorized with
// linalg::vectorize, V being the target's f32 lanes (CpuTargets.def).
// Reductions and gathers are left to the loop lowering; shapes whose last dim
// is not a multiple of V are too.
//
//===----------------------------------------------------------------------===//
#include "PassTarget.h"
#include "bitttt/Target/X86/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTVECTORIZEELEMENTWISE
#include "bitttt/Target/X86/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;

namespace {

bool isCandidate(linalg::GenericOp op, int64_t lanes) {
  if (op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics() ||
      op.getNumReductionLoops() != 0)
    return false;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.empty() || llvm::any_of(ranges, ShapedType::isDynamic) ||
      ranges.back() % lanes != 0)
    return false;
  // Gathers (tensor.extract on an operand) and index-dependent bodies stay
  // scalar: vectorizing them needs masked gathers.
  bool simpleBody = true;
  op.getBody()->walk([&](Operation *inner) {
    if (isa<tensor::ExtractOp, linalg::IndexOp>(inner))
      simpleBody = false;
  });
  return simpleBody && succeeded(linalg::vectorizeOpPrecondition(op));
}

struct VectorizeElementwisePass
    : mlir::bitttt::impl::BitTTTVectorizeElementwiseBase<
          VectorizeElementwisePass> {
  using BitTTTVectorizeElementwiseBase::BitTTTVectorizeElementwiseBase;

  void runOnOperation() override {
    const ::bitttt::x86::CpuTarget *cpu = mlir::bitttt::targetForPass(
        getOperation(), "bitttt-vectorize-elementwise", target);
    if (!cpu)
      return signalPassFailure();
    int64_t lanes = cpu->f32Lanes;
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isCandidate(op, lanes))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : candidates) {
      unsigned rank = op.getNumLoops();
      SmallVector<OpFoldResult> sizes(rank, rewriter.getIndexAttr(1));
      sizes.back() = rewriter.getIndexAttr(lanes);
      scf::SCFTilingOptions options;
      options.setTileSizes(sizes);
      (void)mlir::bitttt::tileAndVectorize(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
    }
  }
};

} // namespace
