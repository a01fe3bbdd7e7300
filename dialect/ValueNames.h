//===- ValueNames.h - bitttt op operands named in diagnostics ---*- C++ -*-===//
#ifndef BITTTT_DIALECT_VALUENAMES_H
#define BITTTT_DIALECT_VALUENAMES_H

namespace mlir {
class MLIRContext;
namespace bitttt {

/// Makes diagnostics about bitttt ops name the operand or result they are
/// about: ODS's "operand #1 must be ..." becomes "operand 'weight' #1 must
/// be ...". Registered on a context when it loads the dialect, so on top of
/// the handlers the tool set up before parsing (bitttt-opt's), which then
/// print the named form.
void nameValuesInDiagnostics(MLIRContext *context);

} // namespace bitttt
} // namespace mlir

#endif // BITTTT_DIALECT_VALUENAMES_H
