//===- StridedCopiesToLoops.cpp - no memrefCopy calls in artifacts --------===//
#include "bitttt/Target/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTSTRIDEDCOPIESTOLOOPS
#include "bitttt/Target/CPU/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;

namespace {

bool contiguous(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.getLayout().isIdentity();
}

struct StridedCopiesToLoopsPass
    : mlir::bitttt::impl::BitTTTStridedCopiesToLoopsBase<
          StridedCopiesToLoopsPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) {
      if (!contiguous(op.getSource()) || !contiguous(op.getTarget()))
        copies.push_back(op);
    });
    for (memref::CopyOp op : copies) {
      OpBuilder b(op);
      linalg::CopyOp::create(b, op.getLoc(), op.getSource(), op.getTarget());
      op.erase();
    }
  }
};

} // namespace
