//===- PythonJson.h - JSON as Python's json module reads it --*- C++ -*-===//
//
// config.json must be read exactly as python/bitttt_ref/config.py reads it
// with json.load, and two things Python sees are lost by llvm::json:
// - `8` is an int and `8.0` a float (config.py rejects 8.0 for an integer
//   field and treats `64` and `64.0` as contradicting aliases);
// - a dict keeps its keys in document order, and a repeated key keeps its
//   first position and its last value (config.py names the *first* unknown
//   field).
// So values keep the literal they were written as, and objects are scanned
// in order from the text (already validated by llvm::json::parse). Messages
// print values as Python's repr() would.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FRONTEND_PYTHONJSON_H
#define BITTTT_FRONTEND_PYTHONJSON_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bitttt::pyjson {

enum class PyType { None, Bool, Int, Float, Str, List, Dict };

/// A JSON value plus the literal it was written as.
struct PyValue {
  llvm::json::Value value = nullptr;
  std::string text;

  /// `literal` must be valid JSON (a part of a text llvm::json accepted).
  static PyValue parse(llvm::StringRef literal);
  static PyValue ofInt(int64_t v);

  /// The Python type json.load gives the value.
  PyType type() const;
  /// The value of an int literal that fits in 64 bits.
  std::optional<int64_t> asInt() const;
  /// The value of an int or float.
  double asDouble() const { return *value.getAsNumber(); }
  bool isString(llvm::StringRef s) const;
};

struct Member {
  std::string key;
  PyValue value;
};

/// A JSON object as Python's json.load builds a dict.
struct OrderedObject {
  std::vector<Member> members;

  const PyValue *find(llvm::StringRef key) const;
  bool has(llvm::StringRef key) const { return find(key) != nullptr; }
};

/// The members of `text`, a JSON object that llvm::json::parse accepted.
OrderedObject scanObject(llvm::StringRef text);

/// repr() of a float: the shortest digits that read back the same, in
/// positional notation for decimal exponents in [-4, 16) ("0.1", "2.0",
/// "1e-05", "inf").
std::string pyFloat(double v);

/// repr() of a value (lists and dicts as written in the file).
std::string pyRepr(const PyValue &v);

/// `not (a != b or type(a) is not type(b))`: same Python type and value.
bool pySame(const PyValue &a, const PyValue &b);

/// type(v).__name__: "int", "list", "NoneType", ...
const char *pyTypeName(const PyValue &v);

} // namespace bitttt::pyjson

#endif // BITTTT_FRONTEND_PYTHONJSON_H
