//===- BitTTTDialect.h - the bitttt dialect ---------------------*- C++ -*-===//
#ifndef BITTTT_DIALECT_BITTTTDIALECT_H
#define BITTTT_DIALECT_BITTTTDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "bitttt/Dialect/BitTTTDialect.h.inc"

#endif // BITTTT_DIALECT_BITTTTDIALECT_H
