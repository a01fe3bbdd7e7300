//===- ValueNames.cpp - bitttt op operands named in diagnostics -----------===//
//
// ODS's generated verifiers number the value a type constraint fails on
// (`emitOpError(valueKind) << " #" << index << " must be "`); the names are
// in the .td files only. bitttt-tblgen -gen-value-names writes them out
// (BitTTTValueNames.inc), and a diagnostic handler puts the name into the
// message: the argument " #" after "operand"/"result" becomes " 'name' #".
// Past an op's first variadic or optional value an index says which name
// only when that value is the last; otherwise those stay numbered (only
// bitttt.dot_2bit_i8, a kernel op of the x86 lowering, has two variadic
// operands).
//
//===----------------------------------------------------------------------===//
#include "ValueNames.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <string>

using namespace mlir;

namespace {

/// For one kind of value (operands or results) of an op: the " 'name' #"
/// text of each index whose name is known, and whether indices past them
/// all belong to the last name.
struct Names {
  llvm::SmallVector<std::string, 8> spelled;
  bool tail = false;

  const std::string *operator()(uint64_t index) const {
    if (index < spelled.size())
      return &spelled[index];
    return tail && !spelled.empty() ? &spelled.back() : nullptr;
  }
};

struct OpNames {
  Names operands, results;
};

Names spelled(llvm::StringRef joined, unsigned fixed, bool tail) {
  Names out;
  llvm::SmallVector<llvm::StringRef, 8> names;
  joined.split(names, ',', -1, /*KeepEmpty=*/false);
  unsigned known = tail ? unsigned(names.size()) : fixed;
  for (unsigned i = 0; i < known && i < names.size(); ++i)
    out.spelled.push_back((" '" + names[i] + "' #").str());
  out.tail = tail;
  return out;
}

/// Every bitttt op's names, built once; the strings live as long as the
/// process, so diagnostic arguments may refer to them.
const llvm::StringMap<OpNames> &table() {
  static const llvm::StringMap<OpNames> names = [] {
    llvm::StringMap<OpNames> m;
#define BITTTT_OP_VALUE_NAMES(op, operands, fixedOperands, operandTail,        \
                              results, fixedResults, resultTail)               \
  m[op] = {spelled(operands, fixedOperands, operandTail),                      \
           spelled(results, fixedResults, resultTail)};
#include "bitttt/Dialect/BitTTTValueNames.inc"
    return m;
  }();
  return names;
}

/// The op a diagnostic of Operation::emitOpError is about: its message
/// starts with "'<name>' op ".
llvm::StringRef opOf(ArrayRef<DiagnosticArgument> args) {
  using Kind = DiagnosticArgument::DiagnosticArgumentKind;
  if (args.size() < 3 || args[0].getKind() != Kind::String ||
      args[0].getAsString() != "'" || args[1].getKind() != Kind::String ||
      args[2].getKind() != Kind::String || args[2].getAsString() != "' op ")
    return {};
  return args[1].getAsString();
}

LogicalResult nameValues(Diagnostic &diag) {
  using Kind = DiagnosticArgument::DiagnosticArgumentKind;
  MutableArrayRef<DiagnosticArgument> args = diag.getArguments();
  llvm::StringRef op = opOf(args);
  if (!op.starts_with("bitttt."))
    return failure();
  auto it = table().find(op);
  if (it == table().end())
    return failure();
  for (size_t i = 3; i + 2 < args.size(); ++i) {
    if (args[i].getKind() != Kind::String ||
        args[i + 1].getKind() != Kind::String ||
        args[i + 1].getAsString() != " #" ||
        args[i + 2].getKind() != Kind::Unsigned)
      continue;
    llvm::StringRef kind = args[i].getAsString();
    const Names *names = kind == "operand"  ? &it->second.operands
                         : kind == "result" ? &it->second.results
                                            : nullptr;
    if (const std::string *name =
            names ? (*names)(args[i + 2].getAsUnsigned()) : nullptr)
      args[i + 1] = DiagnosticArgument(llvm::StringRef(*name));
    break;
  }
  return failure(); // not handled: the next handler prints it
}

} // namespace

void mlir::bitttt::nameValuesInDiagnostics(MLIRContext *context) {
  context->getDiagEngine().registerHandler(nameValues);
}
