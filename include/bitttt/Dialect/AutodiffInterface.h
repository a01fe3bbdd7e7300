//===- AutodiffInterface.h - per-op VJP rules -------------------*- C++ -*-===//
#ifndef BITTTT_DIALECT_AUTODIFFINTERFACE_H
#define BITTTT_DIALECT_AUTODIFFINTERFACE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "bitttt/Dialect/BitTTTAutodiffInterface.h.inc"

namespace mlir {
class DialectRegistry;
namespace bitttt {
/// Attaches the VJP rules (lib/Transforms/Autodiff/VJPRules.cpp) to the
/// bitttt ops and to the upstream ops the training decomposition emits.
void registerAutodiffInterfaces(DialectRegistry &registry);
} // namespace bitttt
} // namespace mlir

#endif // BITTTT_DIALECT_AUTODIFFINTERFACE_H
