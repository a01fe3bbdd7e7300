//===- BitTTTDialect.cpp - the bitttt dialect -------------------*- C++ -*-===//
#include "bitttt/Dialect/BitTTTDialect.h"
#include "bitttt/Dialect/BitTTTOps.h"
#include "bitttt/Dialect/BitTTTTypes.h"

#include "ValueNames.h"

using namespace mlir;
using namespace mlir::bitttt;

#include "bitttt/Dialect/BitTTTDialect.cpp.inc"

void BitTTTDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "bitttt/Dialect/BitTTTOps.cpp.inc"
      >();
  registerTypes();
  nameValuesInDiagnostics(getContext());
}

// Function argument/result attributes name what a value is, so the runtime
// can bind buffers by name (docs/dialect.md):
//   bitttt.tensor = "layers.0.ttt.q_proj.weight"  a weight from the checkpoint
//   bitttt.state  = "layers.0.ttt.w"              a TTT state slot
//   bitttt.io     = "ids" | "logits" | "targets" | "loss" | "tokens" |
//                   "step" | "lr" | "grad_norm"   model and training I/O
//   bitttt.param / bitttt.adam_m / bitttt.adam_v = "<tensor>"   a trainable
//                   parameter and its AdamW moments (updated in place)
//   bitttt.grad   = "<tensor>"   the gradient of a parameter
//   bitttt.range  = array<i64: 0, 16>   valid values [lo, hi) of a state
//   bitttt.packed = {weight = "W", part = "codes" | "scale",
//                    layout = "i2_b128" | "t5_b160"}   a part of packed
//                   weight W (docs/packing.md), or
//                   {weight = "lm_head.weight", part = "values",
//                    layout = "lm_head_bf16"} / {..., part = "values" |
//                    "row_scale" | "row_sum", layout = "lm_head_int8"}
//                   a part of the compact LM head (docs/lm-head.md)
//   bitttt.exec   (unit)   the `const bitttt_exec *` of an entry function
static LogicalResult verifyValueAttr(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  Attribute value = attr.getValue();
  if (name == "bitttt.exec") {
    if (!isa<UnitAttr>(value))
      return op->emitError() << "attribute 'bitttt.exec' takes no value";
    return success();
  }
  if (name == "bitttt.range") {
    auto range = dyn_cast<DenseI64ArrayAttr>(value);
    if (!range || range.size() != 2 || range[0] >= range[1])
      return op->emitError() << "attribute 'bitttt.range' must be "
                                "array<i64: lo, hi> with lo < hi, got "
                             << value;
    return success();
  }
  if (name == "bitttt.packed") {
    auto dict = dyn_cast<DictionaryAttr>(value);
    auto weight = dict ? dict.getAs<StringAttr>("weight") : StringAttr();
    auto part = dict ? dict.getAs<StringAttr>("part") : StringAttr();
    auto layout = dict ? dict.getAs<StringAttr>("layout") : StringAttr();
    StringRef p = part ? part.getValue() : "";
    StringRef l = layout ? layout.getValue() : "";
    ::bitttt::format::TernaryLayout ternaryLayout;
    bool ternary =
        ::bitttt::format::parseTernaryLayout(l.str(), ternaryLayout) &&
        (p == "codes" || p == "scale");
    bool head = weight && weight.getValue() == "lm_head.weight" &&
                ((l == "lm_head_bf16" && p == "values") ||
                 (l == "lm_head_int8" &&
                  llvm::is_contained({"values", "row_scale", "row_sum"}, p)));
    if (!dict || dict.size() != 3 || !weight || weight.getValue().empty() ||
        !(ternary || head))
      return op->emitError()
             << "attribute 'bitttt.packed' must be {weight = \"<name>\", "
                "part = \"codes\" | \"scale\", layout = \"i2_b128\" | "
                "\"t5_b160\"} or "
                "an LM-head part (weight = \"lm_head.weight\", layout "
                "lm_head_bf16: part values; lm_head_int8: part values | "
                "row_scale | row_sum), got "
             << value;
    return success();
  }
  if (!llvm::is_contained({"bitttt.tensor", "bitttt.state", "bitttt.io",
                           "bitttt.param", "bitttt.adam_m", "bitttt.adam_v",
                           "bitttt.grad"},
                          name))
    return op->emitError() << "unknown bitttt attribute '" << name
                           << "' (known on arguments and results: "
                              "bitttt.tensor, bitttt.state, bitttt.io, "
                              "bitttt.param, bitttt.adam_m, bitttt.adam_v, "
                              "bitttt.grad, bitttt.range, bitttt.packed, "
                              "bitttt.exec)";
  auto str = dyn_cast<StringAttr>(value);
  if (!str || str.getValue().empty())
    return op->emitError() << "attribute '" << name
                           << "' must be a non-empty string";
  if (name == "bitttt.io" &&
      !llvm::is_contained({"ids", "logits", "targets", "loss", "tokens", "step",
                           "lr", "grad_norm"},
                          str.getValue()))
    return op->emitError() << "attribute 'bitttt.io' must be one of ids, "
                              "logits, targets, loss, tokens, step, lr, "
                              "grad_norm; got '"
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
