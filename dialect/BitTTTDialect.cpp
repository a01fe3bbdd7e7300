//===- BitTTTDialect.cpp - the bitttt dialect -------------------*- C++ -*-===//
#include "dialect/BitTTTDialect.h"
#include "dialect/BitTTTOps.h"
#include "dialect/BitTTTTypes.h"

using namespace mlir;
using namespace mlir::bitttt;

#include "dialect/BitTTTDialect.cpp.inc"

void BitTTTDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/BitTTTOps.cpp.inc"
      >();
  registerTypes();
}

// No `bitttt.*` discardable attribute is defined yet: any is a typo or a
// leftover from another version, so say so rather than ignore it.
LogicalResult BitTTTDialect::verifyOperationAttribute(Operation *op,
                                                      NamedAttribute attr) {
  return op->emitError() << "unknown bitttt attribute '"
                         << attr.getName().strref() << "'";
}
