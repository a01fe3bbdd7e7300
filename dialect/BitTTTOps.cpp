//===- BitTTTOps.cpp - bitttt op verifiers and folders ----------*- C++ -*-===//
//
// Every verifier message names the operand, result or attribute at fault and
// says which other value fixed the expected shape.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Dialect/BitTTTOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::bitttt;

namespace {

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return s;
}

/// Checks that `type` (a ranked tensor) has `expected` as its shape; a
/// dynamic size on either side matches anything. `what` names the value
/// ("operand 'weight'"), `why` says where the expectation comes from.
LogicalResult expectShape(Operation *op, StringRef what, Type type,
                          ArrayRef<int64_t> expected, StringRef why) {
  auto shaped = cast<ShapedType>(type);
  ArrayRef<int64_t> actual = shaped.getShape();
  bool ok = actual.size() == expected.size();
  for (auto [a, e] : llvm::zip(actual, expected))
    ok = ok && (ShapedType::isDynamic(a) || ShapedType::isDynamic(e) || a == e);
  if (ok)
    return success();
  return op->emitOpError() << what << " must have shape "
                           << shapeString(expected) << " (" << why << "), got "
                           << shapeString(actual);
}

/// Attribute values in messages read as written: 0.1, -0.5, inf.
std::string formatFloat(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

int64_t dim(Value v, unsigned i) {
  return cast<ShapedType>(v.getType()).getDimSize(i);
}

/// Discardable attributes without a dialect prefix are almost always typos of
/// an inherent one (`act_bit` for `act_bits`, which would silently fall back
/// to the default); reject them. Prefixed ones (`foo.bar`) belong to other
/// dialects and pass through.
LogicalResult verifyNoUnknownAttributes(Operation *op) {
  for (NamedAttribute attr : op->getDiscardableAttrs()) {
    if (attr.getName().strref().contains('.'))
      continue;
    auto diag = op->emitOpError()
                << "has unknown attribute '" << attr.getName().strref() << "'";
    ArrayRef<StringAttr> known = op->getRegisteredInfo()->getAttributeNames();
    if (known.empty()) {
      diag << " (it takes no attributes)";
    } else {
      diag << " (known: ";
      llvm::interleaveComma(known, diag,
                            [&](StringAttr a) { diag << a.strref(); });
      diag << ")";
    }
    return diag;
  }
  return success();
}

LogicalResult verifyActBits(Operation *op, IntegerAttr actBits) {
  int64_t bits = actBits.getInt();
  if (bits != 0 && bits != 8)
    return op->emitOpError() << "attribute 'act_bits' must be 0 (f32 "
                                "activations) or 8 (int8), got "
                             << bits;
  return success();
}

LogicalResult verifyPositive(Operation *op, StringRef name, IntegerAttr attr) {
  if (attr.getInt() <= 0)
    return op->emitOpError() << "attribute '" << name
                             << "' must be positive, got " << attr.getInt();
  return success();
}

LogicalResult verifyPositive(Operation *op, StringRef name, FloatAttr attr) {
  double v = attr.getValueAsDouble();
  if (!(v > 0.0) || !std::isfinite(v))
    return op->emitOpError()
           << "attribute '" << name << "' must be positive and finite, got "
           << formatFloat(v);
  return success();
}

/// A learning rate: 0 is allowed (TTT that never learns, an ablation).
LogicalResult verifyNonNegative(Operation *op, StringRef name, FloatAttr attr) {
  double v = attr.getValueAsDouble();
  if (!(v >= 0.0) || !std::isfinite(v))
    return op->emitOpError()
           << "attribute '" << name << "' must be >= 0 and finite, got "
           << formatFloat(v);
  return success();
}

/// In-features of a BitLinear weight: packed `[out, in]` or f32 `[out, in]`.
std::pair<int64_t, int64_t> weightShape(Type type) {
  if (auto packed = dyn_cast<PackedTernaryType>(type))
    return {packed.getRows(), packed.getCols()};
  auto shaped = cast<ShapedType>(type);
  return {shaped.getDimSize(0), shaped.getDimSize(1)};
}

} // namespace

//===----------------------------------------------------------------------===//
// Quantization and packing
//===----------------------------------------------------------------------===//

LogicalResult WeightQuantOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  return expectShape(*this, "result 'codes'", getCodes().getType(),
                     getWeight().getType().getShape(),
                     "the shape of operand 'weight'");
}

LogicalResult ActQuantOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(expectShape(*this, "result 'codes'", getCodes().getType(),
                         getInput().getType().getShape(),
                         "the shape of operand 'input'")))
    return failure();
  return expectShape(*this, "result 'scales'", getScales().getType(),
                     {dim(getInput(), 0)}, "one scale per row of 'input'");
}

LogicalResult PackTernaryOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  PackedTernaryType packed = getPacked().getType();
  return expectShape(*this, "operand 'codes'", getCodes().getType(),
                     {packed.getRows(), packed.getCols()},
                     "the shape of the packed_ternary result");
}

LogicalResult UnpackTernaryOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  PackedTernaryType packed = getPacked().getType();
  return expectShape(*this, "result 'codes'", getCodes().getType(),
                     {packed.getRows(), packed.getCols()},
                     "the shape of operand 'packed'");
}

// pack(unpack(p)) == p for every p.
OpFoldResult PackTernaryOp::fold(FoldAdaptor) {
  if (auto unpack = getCodes().getDefiningOp<UnpackTernaryOp>())
    if (unpack.getPacked().getType() == getType())
      return unpack.getPacked();
  return {};
}

// unpack(pack(c)) == c because pack's operand is ternary by contract.
OpFoldResult UnpackTernaryOp::fold(FoldAdaptor) {
  if (auto pack = getPacked().getDefiningOp<PackTernaryOp>())
    if (pack.getCodes().getType() == getType())
      return pack.getCodes();
  return {};
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(verifyPositive(*this, "eps", getEpsAttr())))
    return failure();
  return expectShape(*this, "operand 'weight'", getWeight().getType(),
                     {dim(getInput(), 1)}, "the columns of operand 'input'");
}

LogicalResult LayerNormOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(verifyPositive(*this, "eps", getEpsAttr())))
    return failure();
  ArrayRef<int64_t> in = getInput().getType().getShape();
  ArrayRef<int64_t> w = getWeight().getType().getShape();
  if (in.empty())
    return emitOpError("operand 'input' must have rank >= 1");
  if (w.empty() || w.size() > in.size())
    return emitOpError() << "operand 'weight' must have rank 1.." << in.size()
                         << " (trailing dimensions of 'input'), "
                         << "got rank " << w.size();
  return expectShape(*this, "operand 'weight'", getWeight().getType(),
                     in.take_back(w.size()),
                     "the trailing dimensions of operand 'input'");
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

LogicalResult BitLinearOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(verifyActBits(*this, getActBitsAttr())))
    return failure();
  bool packed = isa<PackedTernaryType>(getWeight().getType());
  if (packed && !getScale())
    return emitOpError("operand 'weight' is packed_ternary, so the 'scale' "
                       "operand (its γ) is required");
  if (!packed && getScale())
    return emitOpError("operand 'scale' is only allowed with a packed_ternary "
                       "weight; a latent f32 weight computes its own scale");
  auto [out, in] = weightShape(getWeight().getType());
  if (failed(expectShape(*this, "operand 'input'", getInput().getType(),
                         {dim(getInput(), 0), in},
                         "[T, in] with 'in' from operand 'weight'")))
    return failure();
  return expectShape(*this, "result", getResult().getType(),
                     {dim(getInput(), 0), out},
                     "[T, out]: rows of 'input', out of 'weight'");
}

LogicalResult SwiGLUOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(verifyActBits(*this, getActBitsAttr())))
    return failure();
  int64_t d = dim(getInput(), 1);
  int64_t i = dim(getGateWeight(), 0);
  if (failed(expectShape(*this, "operand 'gate_weight'",
                         getGateWeight().getType(), {i, d},
                         "[I, D] with D the columns of 'input'")))
    return failure();
  return expectShape(*this, "operand 'down_weight'", getDownWeight().getType(),
                     {d, i}, "[D, I] with I the rows of 'gate_weight'");
}

LogicalResult TTTLinearOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(verifyActBits(*this, getActBitsAttr())) ||
      failed(verifyPositive(*this, "num_heads", getNumHeadsAttr())) ||
      failed(verifyPositive(*this, "mini_batch", getMiniBatchAttr())) ||
      failed(verifyNonNegative(*this, "base_lr", getBaseLrAttr())))
    return failure();
  int64_t d = dim(getInput(), 1);
  int64_t h = getNumHeadsAttr().getInt();
  if (ShapedType::isDynamic(d))
    return emitOpError("operand 'input' must have a static column count (D)");
  if (d % h != 0)
    return emitOpError() << "attribute 'num_heads' (" << h
                         << ") must divide the columns of operand 'input' ("
                         << d << ")";
  int64_t f = d / h;
  struct Expect {
    StringRef what;
    Value value;
    SmallVector<int64_t, 3> shape;
    StringRef why;
  };
  Expect expects[] = {
      {"operand 'q_proj'", getQProj(), {d, d}, "[D, D]"},
      {"operand 'lr_weight'", getLrWeight(), {h, d}, "[num_heads, D]"},
      {"operand 'lr_bias'", getLrBias(), {h}, "[num_heads]"},
      {"operand 'ttt_norm_weight'",
       getTttNormWeight(),
       {h, f},
       "[num_heads, D/num_heads]"},
      {"operand 'post_norm_weight'", getPostNormWeight(), {d}, "[D]"},
      {"operand 'w'",
       getW(),
       {h, f, f},
       "[num_heads, D/num_heads, D/num_heads]"},
      {"operand 'c'", getC(), {h, f}, "[num_heads, D/num_heads]"},
      {"operand 'keys'",
       getKeys(),
       {h, getMiniBatchAttr().getInt(), f},
       "[num_heads, mini_batch, D/num_heads]"},
  };
  for (const Expect &e : expects)
    if (failed(expectShape(*this, e.what, e.value.getType(), e.shape, e.why)))
      return failure();
  return success();
}

LogicalResult TTTSeedOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(verifyActBits(*this, getActBitsAttr())) ||
      failed(verifyPositive(*this, "mini_batch", getMiniBatchAttr())) ||
      failed(verifyNonNegative(*this, "inner_lr", getInnerLrAttr())))
    return failure();
  int64_t d = dim(getInput(), 1);
  int64_t k = dim(getDownWeight(), 0);
  if (failed(expectShape(*this, "operand 'down_weight'",
                         getDownWeight().getType(), {k, d},
                         "[d, D] with D the columns of 'input'")) ||
      failed(expectShape(*this, "operand 'up_weight'", getUpWeight().getType(),
                         {d, k}, "[D, d] with d the rows of 'down_weight'")))
    return failure();
  if (failed(expectShape(*this, "operand 'w'", getW().getType(), {k, k},
                         "[d, d] with d the rows of 'down_weight'")))
    return failure();
  return expectShape(*this, "operand 'keys'", getKeys().getType(),
                     {getMiniBatchAttr().getInt(), k},
                     "[mini_batch, d] with d the rows of 'down_weight'");
}

//===----------------------------------------------------------------------===//
// Embedding, head, loss
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  return expectShape(*this, "result", getResult().getType(),
                     {dim(getIds(), 0), dim(getTable(), 1)},
                     "[T, D]: length of 'ids', columns of 'table'");
}

LogicalResult LMHeadOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  int64_t d = dim(getInput(), 1);
  int64_t v = dim(getWeight(), 0);
  if (failed(expectShape(*this, "operand 'weight'", getWeight().getType(),
                         {v, d}, "[V, D] with D the columns of 'input'")))
    return failure();
  return expectShape(*this, "result", getResult().getType(),
                     {dim(getInput(), 0), v},
                     "[T, V]: rows of 'input', rows of 'weight'");
}

LogicalResult LMHeadQOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  int64_t t = dim(getCodes(), 0), d = dim(getCodes(), 1);
  int64_t v = dim(getWeight(), 0);
  if (failed(expectShape(*this, "operand 'scales'", getScales().getType(), {t},
                         "one scale per row of 'codes'")) ||
      failed(expectShape(*this, "operand 'weight'", getWeight().getType(),
                         {v, d}, "[V, D] with D the columns of 'codes'")) ||
      failed(expectShape(*this, "operand 'row_scale'", getRowScale().getType(),
                         {v}, "one scale per row of 'weight'")) ||
      failed(expectShape(*this, "operand 'row_sum'", getRowSum().getType(), {v},
                         "one sum per row of 'weight'")))
    return failure();
  return expectShape(*this, "result", getResult().getType(), {t, v},
                     "[T, V]: rows of 'codes', rows of 'weight'");
}

LogicalResult CrossEntropyOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  return expectShape(*this, "operand 'targets'", getTargets().getType(),
                     {dim(getLogits(), 0)}, "one target per row of 'logits'");
}

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

LogicalResult AdamWOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  for (auto [name, attr] :
       {std::pair<StringRef, FloatAttr>{"beta1", getBeta1Attr()},
        {"beta2", getBeta2Attr()}}) {
    double b = attr.getValueAsDouble();
    if (!(b >= 0.0 && b < 1.0))
      return emitOpError() << "attribute '" << name
                           << "' must be in [0, 1), got " << formatFloat(b);
  }
  if (failed(verifyPositive(*this, "eps", getEpsAttr())))
    return failure();
  return verifyNonNegative(*this, "weight_decay", getWeightDecayAttr());
}

//===----------------------------------------------------------------------===//
// Training forms
//===----------------------------------------------------------------------===//

namespace {
/// The rows of 'input' are `sequences` sequences of equal, static length.
LogicalResult verifySequences(Operation *op, Value input, IntegerAttr seqs) {
  if (failed(verifyPositive(op, "sequences", seqs)))
    return failure();
  int64_t rows = dim(input, 0);
  if (ShapedType::isDynamic(rows) || rows % seqs.getInt() != 0)
    return op->emitOpError()
           << "attribute 'sequences' (" << seqs.getInt()
           << ") must divide the static row count of operand 'input' ("
           << (ShapedType::isDynamic(rows) ? std::string("?")
                                           : std::to_string(rows))
           << ")";
  return success();
}
} // namespace

LogicalResult TTTLinearSeqsOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(verifyActBits(*this, getActBitsAttr())) ||
      failed(verifyPositive(*this, "num_heads", getNumHeadsAttr())) ||
      failed(verifyPositive(*this, "mini_batch", getMiniBatchAttr())) ||
      failed(verifyNonNegative(*this, "base_lr", getBaseLrAttr())) ||
      failed(verifySequences(*this, getInput(), getSequencesAttr())))
    return failure();
  int64_t d = dim(getInput(), 1);
  int64_t h = getNumHeadsAttr().getInt();
  if (ShapedType::isDynamic(d) || d % h != 0)
    return emitOpError() << "attribute 'num_heads' (" << h
                         << ") must divide the static columns of operand "
                            "'input'";
  int64_t f = d / h;
  if (failed(expectShape(*this, "operand 'q_proj'", getQProj().getType(),
                         {d, d}, "[D, D]")) ||
      failed(expectShape(*this, "operand 'lr_weight'", getLrWeight().getType(),
                         {h, d}, "[num_heads, D]")) ||
      failed(expectShape(*this, "operand 'lr_bias'", getLrBias().getType(), {h},
                         "[num_heads]")) ||
      failed(expectShape(*this, "operand 'ttt_norm_weight'",
                         getTttNormWeight().getType(), {h, f},
                         "[num_heads, D/num_heads]")) ||
      failed(expectShape(*this, "operand 'post_norm_weight'",
                         getPostNormWeight().getType(), {d}, "[D]")))
    return failure();
  return expectShape(*this, "operand 'w0'", getW0().getType(), {h, f, f},
                     "[num_heads, D/num_heads, D/num_heads]");
}

LogicalResult TTTSeedSeqsOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(verifyActBits(*this, getActBitsAttr())) ||
      failed(verifyPositive(*this, "mini_batch", getMiniBatchAttr())) ||
      failed(verifyNonNegative(*this, "inner_lr", getInnerLrAttr())) ||
      failed(verifySequences(*this, getInput(), getSequencesAttr())))
    return failure();
  int64_t d = dim(getInput(), 1);
  int64_t k = dim(getDownWeight(), 0);
  if (failed(expectShape(*this, "operand 'down_weight'",
                         getDownWeight().getType(), {k, d},
                         "[d, D] with D the columns of 'input'")))
    return failure();
  return expectShape(*this, "operand 'up_weight'", getUpWeight().getType(),
                     {d, k}, "[D, d] with d the rows of 'down_weight'");
}

LogicalResult EmbeddingGradOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (failed(expectShape(*this, "operand 'ids'", getIds().getType(),
                         {dim(getGrad(), 0)}, "one id per row of 'grad'")))
    return failure();
  return expectShape(*this, "result", getResult().getType(),
                     {dim(getResult(), 0), dim(getGrad(), 1)},
                     "[V, D] with D the columns of 'grad'");
}

//===----------------------------------------------------------------------===//
// Fused inference ops
//===----------------------------------------------------------------------===//

namespace {
/// Shapes shared by the ops on pre-quantized activations: codes [T, K],
/// scales [T], a packed [N, K] weight, result [T, N].
LogicalResult verifyQuantizedInput(Operation *op, Value codes, Value scales,
                                   PackedTernaryType weight,
                                   StringRef weightName, Value result) {
  if (failed(expectShape(op, "operand 'scales'", scales.getType(),
                         {dim(codes, 0)}, "one scale per row of 'codes'")) ||
      failed(expectShape(
          op, "operand 'codes'", codes.getType(),
          {dim(codes, 0), weight.getCols()},
          ("[T, in] with 'in' from operand '" + weightName + "'").str())))
    return failure();
  return expectShape(
      op, "result", result.getType(), {dim(codes, 0), weight.getRows()},
      ("[T, out]: rows of 'codes', out of '" + weightName + "'").str());
}
} // namespace

LogicalResult SiluMulOp::verify() { return verifyNoUnknownAttributes(*this); }

LogicalResult BitLinearQOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  return verifyQuantizedInput(*this, getCodes(), getScales(),
                              getWeight().getType(), "weight", getResult());
}

LogicalResult GateUpQOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (getGateWeight().getType() != getUpWeight().getType())
    return emitOpError() << "operands 'gate_weight' and 'up_weight' must have "
                            "the same type, got "
                         << getGateWeight().getType() << " and "
                         << getUpWeight().getType();
  return verifyQuantizedInput(*this, getCodes(), getScales(),
                              getGateWeight().getType(), "gate_weight",
                              getResult());
}

LogicalResult RMSNormActQuantOp::verify() {
  if (failed(verifyNoUnknownAttributes(*this)) ||
      failed(verifyPositive(*this, "eps", getEpsAttr())) ||
      failed(expectShape(*this, "operand 'weight'", getWeight().getType(),
                         {dim(getInput(), 1)},
                         "the columns of operand 'input'")) ||
      failed(expectShape(*this, "result 'codes'", getCodes().getType(),
                         getInput().getType().getShape(),
                         "the shape of operand 'input'")))
    return failure();
  return expectShape(*this, "result 'scales'", getScales().getType(),
                     {dim(getInput(), 0)}, "one scale per row of 'input'");
}

//===----------------------------------------------------------------------===//
// Kernel primitives
//===----------------------------------------------------------------------===//

LogicalResult LookupI8Op::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  if (getTable().size() != 256)
    return emitOpError() << "table must have 256 entries, got "
                         << getTable().size();
  return success();
}

LogicalResult Dot2BitI8Op::verify() {
  if (failed(verifyNoUnknownAttributes(*this)))
    return failure();
  // SameVariadicOperandSize splits the operands evenly; an odd count would
  // silently drop one.
  if ((getOperation()->getNumOperands() - 1) % 2 != 0)
    return emitOpError() << "needs as many 'values' as 'codes' vectors, got "
                         << getOperation()->getNumOperands() - 1
                         << " vectors in all";
  size_t n = getCodes().size();
  if (n == 0 || n > 5)
    return emitOpError() << "takes 1 to 5 (codes, values) pairs (the AVX2 "
                            "lowering's 16-bit sums stay exact up to 5), got "
                         << n;
  int64_t lanes = getAcc().getType().getNumElements();
  for (Value v : getOperands().drop_front())
    if (cast<VectorType>(v.getType()).getNumElements() != 4 * lanes)
      return emitOpError() << "takes " << 4 * lanes
                           << " bytes per codes/values vector for a " << lanes
                           << "-lane accumulator, got " << v.getType();
  return success();
}

#define GET_OP_CLASSES
#include "bitttt/Dialect/BitTTTOps.cpp.inc"
