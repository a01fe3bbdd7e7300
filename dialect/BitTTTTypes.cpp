//===- BitTTTTypes.cpp - bitttt types ---------------------------*- C++ -*-===//
#include "bitttt/Dialect/BitTTTTypes.h"
#include "bitttt/Dialect/BitTTTDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::bitttt;

#define GET_TYPEDEF_CLASSES
#include "bitttt/Dialect/BitTTTTypes.cpp.inc"

void BitTTTDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "bitttt/Dialect/BitTTTTypes.cpp.inc"
      >();
}

// `<` ROWS `x` COLS (`,` LAYOUT)? `>`: the shape is a static dimension
// list of rank 2, the layout a keyword (i2_b128 when absent).
Type PackedTernaryType::parse(AsmParser &parser) {
  SmallVector<int64_t, 2> shape;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/false))
    return {};
  auto layout = ::bitttt::format::TernaryLayout::I2B128;
  if (succeeded(parser.parseOptionalComma())) {
    SMLoc at = parser.getCurrentLocation();
    std::string name;
    if (parser.parseKeywordOrString(&name))
      return {};
    if (!::bitttt::format::parseTernaryLayout(name, layout)) {
      parser.emitError(at, "unknown packed_ternary layout '")
          << name << "'; expected " << ::bitttt::format::ternaryLayoutNames();
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  if (shape.size() != 2) {
    parser.emitError(loc, "packed_ternary shape must have rank 2 ([out, in]), "
                          "got rank ")
        << shape.size();
    return {};
  }
  return parser.getChecked<PackedTernaryType>(loc, parser.getContext(),
                                              shape[0], shape[1], layout);
}

void PackedTernaryType::print(AsmPrinter &printer) const {
  printer << "<" << getRows() << "x" << getCols();
  if (getLayout() != ::bitttt::format::TernaryLayout::I2B128)
    printer << ", " << ::bitttt::format::ternaryLayoutName(getLayout());
  printer << ">";
}

LogicalResult
PackedTernaryType::verify(function_ref<InFlightDiagnostic()> emitError,
                          int64_t rows, int64_t cols,
                          ::bitttt::format::TernaryLayout) {
  if (rows <= 0 || cols <= 0)
    return emitError() << "packed_ternary dimensions must be positive, got "
                       << rows << "x" << cols;
  if (rows > ::bitttt::format::kMaxPackedDim ||
      cols > ::bitttt::format::kMaxPackedDim)
    return emitError() << "packed_ternary dimensions must be at most 2^40 "
                          "(the packed size must fit in int64), got "
                       << rows << "x" << cols;
  return success();
}
