//===- BitTTTDialect.cpp - the bitttt dialect -------------------*- C++ -*-===//
#include "bitttt/Dialect/BitTTTDialect.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Dialect/BitTTTTypes.h"

using namespace mlir;
using namespace mlir::bitttt;

#include "bitttt/Dialect/BitTTTDialect.cpp.inc"

void BitTTTDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "bitttt/Dialect/BitTTTOps.cpp.inc"
      >();
  registerTypes();
}

// Function argument/result attributes name what a value is, so the runtime
// can bind buffers by name:
//   bitttt.tensor = "layers.0.ttt.q_proj.weight"  a weight from the checkpoint
//   bitttt.state  = "layers.0.ttt.w"              a TTT state slot
//   bitttt.io     = "ids" | "logits" | "targets" | "loss"   model I/O
static LogicalResult verifyValueAttr(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  if (name != "bitttt.tensor" && name != "bitttt.state" && name != "bitttt.io")
    return op->emitError() << "unknown bitttt attribute '" << name
                           << "' (known on arguments and results: "
                              "bitttt.tensor, bitttt.state, bitttt.io)";
  auto str = dyn_cast<StringAttr>(attr.getValue());
  if (!str || str.getValue().empty())
    return op->emitError() << "attribute '" << name
                           << "' must be a non-empty string";
  if (name == "bitttt.io" &&
      !llvm::is_contained({"ids", "logits", "targets", "loss"}, str.getValue()))
    return op->emitError() << "attribute 'bitttt.io' must be one of ids, "
                              "logits, targets, loss; got '"
                           << str.getValue() << "'";
  return success();
}

// No `bitttt.*` attribute is defined on operations: any is a typo or a
// leftover from another version, so say so rather than ignore it.
LogicalResult BitTTTDialect::verifyOperationAttribute(Operation *op,
                                                      NamedAttribute attr) {
  return op->emitError() << "unknown bitttt attribute '"
                         << attr.getName().strref() << "'";
}

LogicalResult BitTTTDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                      unsigned,
                                                      NamedAttribute attr) {
  return verifyValueAttr(op, attr);
}

LogicalResult BitTTTDialect::verifyRegionResultAttribute(Operation *op,
                                                         unsigned, unsigned,
                                                         NamedAttribute attr) {
  return verifyValueAttr(op, attr);
}
