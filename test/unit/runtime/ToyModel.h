//===- ToyModel.h - a compiled "model" built at test time -------*- C++ -*-===//
//
// The executor tests need a real shared object behind a real .bitt v2 file,
// without the compiler. ToyModel compiles a small C file (below) with the
// C compiler CMake found (or $BITTTT_TEST_CC) into shared objects, one per
// target, and packages them with a header following docs/abi.md.
//
// The toy "model": vocabulary V, prefill chunk T. State: pos (tokens seen),
// sum (sum of ids seen, init from tensor toy.sum0 = 5), calls ([prefill
// calls, decode calls]), sig (the TOY_TARGET of the artifact that ran last),
// big (F32 [B], init from tensor toy.big0, +1 per call, in a parallel loop
// on the runtime's exec), chunks (the parts that loop ran in). For the token at
// position p (1-based) with running sum s:
//   logits[v] = float((31*s + 7*p + 13*v) mod V) + bias[v]
// with bias = lm.bias (F32 [V], values (v mod 7) * 0.05).
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_TEST_TOYMODEL_H
#define BITTTT_TEST_TOYMODEL_H

#include "BittTestUtil.h"
#include "bitttt.h"
#include "bitttt/Format/BittFile.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace bitttt::test {

/// Shape parameters of a toy model (compile-time constants of its C code).
struct ToyShape {
  int vocab = 40;
  int prefill = 4;
  int big = 16;
  bool operator<(const ToyShape &o) const {
    return std::tie(vocab, prefill, big) < std::tie(o.vocab, o.prefill, o.big);
  }
};

/// The header checksum of artifact bytes, as bitttt-compile writes it
/// ("xxh3_64": XXH3-64, 16 lowercase hex digits).
std::string artifactChecksum(const std::string &bytes);

/// A toy .bitt under construction: edit `header` / `tensors`, then write().
struct ToyFile {
  ToyShape shape;
  nlohmann::json header;
  std::vector<format::TensorData> tensors;
  /// Removes the tensor called `name` (no-op when absent).
  void dropTensor(const std::string &name);
  /// The tensor called `name`; fails the test when absent.
  format::TensorData &tensor(const std::string &name);
  /// Writes the file; fails the test on a writer error.
  void write(const std::string &path) const;
};

class ToyModel {
public:
  /// The C compiler to use, or "" (then the tests that need it fail).
  static std::string compiler();

  /// A toy file with artifacts for `targets` (each compiled with
  /// -DTOY_TARGET=<3 or 4, or 9 for other names>). Fails the test on a
  /// compile error; call only when compiler() is not empty.
  static ToyFile make(const ToyShape &shape = {},
                      const std::vector<std::string> &targets = {"x86-64-v3",
                                                                 "x86-64-v4"});

  /// Writes make(shape, targets) to `path`.
  static std::string write(const std::string &path, const ToyShape &shape = {},
                           const std::vector<std::string> &targets = {
                               "x86-64-v3", "x86-64-v4"});

  /// The toy artifact's description of its entry points (the `bitttt_abi`
  /// it exports, docs/abi.md): the header's functions without "tokens".
  static nlohmann::json abi(const ToyShape &shape);

  /// The bytes of the toy shared object for `shape` and `targetId`, with
  /// `extraFlags` appended to the compile command and `abiOverride` (if
  /// given) as its description instead of abi(shape); cached per arguments.
  static const std::string &
  artifact(const ToyShape &shape, int targetId,
           const std::string &extraFlags = "",
           const nlohmann::json *abiOverride = nullptr);
};

/// Expects bitttt_last_error() to contain every fragment.
inline void expectLastError(std::initializer_list<std::string> fragments) {
  std::string message = bitttt_last_error();
  for (const std::string &f : fragments)
    EXPECT_NE(message.find(f), std::string::npos)
        << "last error: " << message << "\nexpected to contain: " << f;
}

/// Fails the current test when there is no C compiler for the toy artifact:
/// a missing tool is a broken build, not a reason to skip.
#define BITTTT_REQUIRE_TOY_COMPILER()                                          \
  do {                                                                         \
    if (::bitttt::test::ToyModel::compiler().empty())                          \
      GTEST_FAIL() << "no C compiler to build the toy artifact (set "          \
                      "BITTTT_TEST_CC)";                                       \
  } while (0)

/// The toy model's arithmetic, for expected values.
struct ToyReference {
  explicit ToyReference(ToyShape shape) : shape(shape) {}
  ToyShape shape;
  int64_t pos = 0, sum = 5;
  void feed(int32_t id) {
    pos += 1;
    sum += id;
  }
  std::vector<float> logits() const {
    std::vector<float> out(size_t(shape.vocab));
    for (int v = 0; v < shape.vocab; ++v) {
      // Two statements: the bias product must not be fused into an FMA.
      float bias = float(v % 7) * 0.05f;
      out[size_t(v)] =
          float((31 * sum + 7 * pos + 13 * int64_t(v)) % shape.vocab) + bias;
    }
    return out;
  }
  int32_t argmax() const {
    std::vector<float> l = logits();
    size_t best = 0;
    for (size_t i = 1; i < l.size(); ++i)
      if (l[i] > l[best])
        best = i;
    return int32_t(best);
  }
};

} // namespace bitttt::test

#endif // BITTTT_TEST_TOYMODEL_H
