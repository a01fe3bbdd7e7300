//===- Passes.h - target-independent bitttt passes -------------*- C++ -*-===//
#ifndef BITTTT_TRANSFORMS_PASSES_H
#define BITTTT_TRANSFORMS_PASSES_H

#include "bitttt/Dialect/BitTTTDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::bitttt {

#define GEN_PASS_DECL
#include "bitttt/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bitttt/Transforms/Passes.h.inc"

} // namespace mlir::bitttt

#endif // BITTTT_TRANSFORMS_PASSES_H
