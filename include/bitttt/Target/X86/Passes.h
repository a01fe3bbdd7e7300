//===- Passes.h - bitttt passes for x86-64 ----------------------*- C++ -*-===//
#ifndef BITTTT_TARGET_X86_PASSES_H
#define BITTTT_TARGET_X86_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::bitttt {

#define GEN_PASS_DECL
#include "bitttt/Target/X86/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bitttt/Target/X86/Passes.h.inc"

} // namespace mlir::bitttt

#endif // BITTTT_TARGET_X86_PASSES_H
