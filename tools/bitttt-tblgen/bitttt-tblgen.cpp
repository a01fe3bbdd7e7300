//===- bitttt-tblgen.cpp - TableGen backends of the bitttt dialect --------===//
//
// mlir-tblgen plus one backend, -gen-value-names: for every op of the given
// dialect, the ODS names of its operands and results in order, so that the
// dialect's diagnostics name them (dialect/ValueNames.cpp: "operand 'weight'
// #1 must be ..." where ODS's verifiers say "operand #1 must be ...").
//
// Output: one BITTTT_OP_VALUE_NAMES(op, operands, fixedOperands,
// operandTail, results, fixedResults, resultTail) line per op (emitValues
// says what the three of each kind are).
//
//===----------------------------------------------------------------------===//
#include "mlir/TableGen/GenInfo.h"
#include "mlir/TableGen/Operator.h"
#include "mlir/Tools/mlir-tblgen/MlirTblgenMain.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/TableGen/Record.h"
#include "llvm/TableGen/TableGenBackend.h"

using namespace mlir::tblgen;

static llvm::cl::opt<std::string>
    dialectName("value-names-dialect",
                llvm::cl::desc("the dialect whose ops -gen-value-names lists"),
                llvm::cl::init("bitttt"));

/// `"a,b,c", fixed, tail`: the names; how many leading indices name a value
/// for certain (those before the first variadic or optional one); and
/// whether every index past them belongs to the last value (when it is the
/// only variable-length one).
template <typename Get>
static void emitValues(llvm::raw_ostream &os, int count, Get get) {
  int fixed = 0, variable = 0;
  bool lastVariable = false;
  os << "\"";
  for (int i = 0; i < count; ++i) {
    const NamedTypeConstraint &value = get(i);
    os << (i ? "," : "") << value.name;
    lastVariable = value.isVariableLength();
    variable += lastVariable;
    fixed += variable == 0;
  }
  bool tail = variable == 1 && lastVariable;
  os << "\", " << fixed << ", " << (tail ? "true" : "false");
}

static bool emitValueNames(const llvm::RecordKeeper &records,
                           llvm::raw_ostream &os) {
  llvm::emitSourceFileHeader(
      "Operand and result names of the " + dialectName + " ops", os, records);
  for (const llvm::Record *def : records.getAllDerivedDefinitions("Op")) {
    Operator op(def);
    if (op.getDialectName() != dialectName)
      continue;
    os << "BITTTT_OP_VALUE_NAMES(\"" << op.getOperationName() << "\", ";
    emitValues(
        os, op.getNumOperands(),
        [&](int i) -> const NamedTypeConstraint & { return op.getOperand(i); });
    os << ", ";
    emitValues(
        os, op.getNumResults(),
        [&](int i) -> const NamedTypeConstraint & { return op.getResult(i); });
    os << ")\n";
  }
  os << "#undef BITTTT_OP_VALUE_NAMES\n";
  return false;
}

static mlir::GenRegistration
    genValueNames("gen-value-names",
                  "Generate the operand and result names of a dialect's ops",
                  emitValueNames);

int main(int argc, char **argv) { return mlir::MlirTblgenMain(argc, argv); }
