//===- CheckContract.cpp - no bitttt op survives its lowering stage -------===//
#include "bitttt/Dialect/BitTTTDialect.h"
#include "bitttt/Transforms/Passes.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::bitttt {
#define GEN_PASS_DEF_BITTTTCHECKCONTRACT
#include "bitttt/Transforms/Passes.h.inc"
} // namespace mlir::bitttt

using namespace mlir;

namespace {

struct CheckContractPass
    : mlir::bitttt::impl::BitTTTCheckContractBase<CheckContractPass> {
  using BitTTTCheckContractBase::BitTTTCheckContractBase;

  void runOnOperation() override {
    llvm::StringSet<> allowed;
    for (const std::string &name : allow)
      allowed.insert("bitttt." + name);
    // One diagnostic per op name, at its first occurrence, with a count:
    // a missing lowering otherwise repeats once per layer.
    llvm::MapVector<StringRef, std::pair<Operation *, int64_t>> left;
    getOperation()->walk([&](Operation *op) {
      if (!isa<mlir::bitttt::BitTTTDialect>(op->getDialect()))
        return;
      StringRef name = op->getName().getStringRef();
      if (allowed.contains(name))
        return;
      auto &entry = left[name];
      if (!entry.first)
        entry.first = op;
      ++entry.second;
    });
    for (auto &[name, entry] : left) {
      InFlightDiagnostic diag = entry.first->emitOpError()
                                << "is left after " << stage
                                << ", which has no lowering for it";
      if (entry.second > 1)
        diag << " (" << entry.second << " such ops)";
      if (!allowed.empty()) {
        diag << "; ops it leaves to the target lowering: ";
        llvm::interleaveComma(allow, diag);
      }
    }
    bool failed = !left.empty();
    if (failed)
      signalPassFailure();
  }
};

} // namespace
