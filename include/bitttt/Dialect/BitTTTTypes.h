//===- BitTTTTypes.h - bitttt types -----------------------------*- C++ -*-===//
#ifndef BITTTT_DIALECT_BITTTTTYPES_H
#define BITTTT_DIALECT_BITTTTTYPES_H

#include "bitttt/Format/Packing.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "bitttt/Dialect/BitTTTTypes.h.inc"

#endif // BITTTT_DIALECT_BITTTTTYPES_H
