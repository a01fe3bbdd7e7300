//===- BitTTTOps.h - bitttt ops ---------------------------------*- C++ -*-===//
#ifndef BITTTT_DIALECT_BITTTTOPS_H
#define BITTTT_DIALECT_BITTTTOPS_H

#include "bitttt/Dialect/BitTTTDialect.h"
#include "bitttt/Dialect/BitTTTTypes.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "bitttt/Dialect/BitTTTOps.h.inc"

#endif // BITTTT_DIALECT_BITTTTOPS_H
