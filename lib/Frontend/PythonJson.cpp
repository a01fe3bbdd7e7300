//===- PythonJson.cpp - JSON as Python's json module reads it ------------===//
#include "PythonJson.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace llvm;
using namespace bitttt;
using namespace bitttt::pyjson;

PyValue PyValue::parse(StringRef literal) {
  return {cantFail(json::parse(literal)), literal.str()};
}

PyValue PyValue::ofInt(int64_t v) {
  return {json::Value(v), std::to_string(v)};
}

PyType PyValue::type() const {
  switch (value.kind()) {
  case json::Value::Null:
    return PyType::None;
  case json::Value::Boolean:
    return PyType::Bool;
  case json::Value::String:
    return PyType::Str;
  case json::Value::Array:
    return PyType::List;
  case json::Value::Object:
    return PyType::Dict;
  case json::Value::Number:
    break;
  }
  // json.load makes an int of a number literal without '.', 'e' or 'E'.
  return StringRef(text).find_first_of(".eE") == StringRef::npos
             ? PyType::Int
             : PyType::Float;
}

std::optional<int64_t> PyValue::asInt() const {
  int64_t v;
  if (type() != PyType::Int || StringRef(text).getAsInteger(10, v))
    return std::nullopt;
  return v;
}

bool PyValue::isString(StringRef s) const {
  std::optional<StringRef> str = value.getAsString();
  return str && *str == s;
}

const PyValue *OrderedObject::find(StringRef key) const {
  for (const Member &m : members)
    if (m.key == key)
      return &m.value;
  return nullptr;
}

namespace {

size_t skipSpace(StringRef s, size_t i) {
  while (i < s.size() &&
         (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    ++i;
  return i;
}

size_t skipString(StringRef s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\')
      ++i;
    else if (s[i] == '"')
      return i + 1;
  }
  return s.size();
}

size_t skipValue(StringRef s, size_t i) {
  if (s[i] == '"')
    return skipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = skipString(s, i);
        continue;
      }
      if (c == '{' || c == '[')
        ++depth;
      else if ((c == '}' || c == ']') && --depth == 0)
        return i + 1;
      ++i;
    }
    return i;
  }
  while (i < s.size() && !std::strchr(",}] \t\r\n", s[i]))
    ++i;
  return i;
}

} // namespace

/// The members of `text`, a JSON object that llvm::json::parse accepted.
OrderedObject pyjson::scanObject(StringRef text) {
  OrderedObject object;
  size_t i = skipSpace(text, skipSpace(text, 0) + 1); // past '{'
  while (i < text.size() && text[i] != '}') {
    size_t keyEnd = skipString(text, i);
    std::string key =
        cantFail(json::parse(text.slice(i, keyEnd))).getAsString()->str();
    i = skipSpace(text, skipSpace(text, keyEnd) + 1); // past ':'
    size_t valueEnd = skipValue(text, i);
    PyValue value = PyValue::parse(text.slice(i, valueEnd));
    i = skipSpace(text, valueEnd);
    if (i < text.size() && text[i] == ',')
      i = skipSpace(text, i + 1);
    auto it = llvm::find_if(object.members,
                            [&](const Member &m) { return m.key == key; });
    if (it != object.members.end())
      it->value = std::move(value);
    else
      object.members.push_back({std::move(key), std::move(value)});
  }
  return object;
}

/// Python's repr() of a float: the shortest digits that read back the same,
/// positional notation for exponents in [-4, 16).
std::string pyjson::pyFloat(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  if (v == 0)
    return std::signbit(v) ? "-0.0" : "0.0";
  char buf[48];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*e", precision - 1, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  StringRef s(buf);
  bool negative = s.consume_front("-");
  auto [mantissa, exponentText] = s.split('e');
  int exponent =
      static_cast<int>(std::strtol(exponentText.str().c_str(), nullptr, 10));
  std::string digits = mantissa.str();
  llvm::erase(digits, '.');
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(-exponent - 1, '0') + digits;
    } else {
      if (digits.size() < static_cast<size_t>(exponent) + 1)
        digits.append(exponent + 1 - digits.size(), '0');
      out += digits.substr(0, exponent + 1) + ".";
      std::string fraction = digits.substr(exponent + 1);
      out += fraction.empty() ? "0" : fraction;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1)
    out += "." + digits.substr(1);
  char exp[8];
  std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+',
                std::abs(exponent));
  return out + exp;
}

static std::string pyString(StringRef s) {
  char quote = s.contains('\'') && !s.contains('"') ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    if (c == quote || c == '\\')
      out += std::string("\\") + c;
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += "\\x" + llvm::utohexstr(static_cast<unsigned char>(c), true, 2);
    else
      out += c;
  }
  return out + quote;
}

/// Python's repr() of a value (containers as written in the file).
std::string pyjson::pyRepr(const PyValue &v) {
  switch (v.type()) {
  case PyType::None:
    return "None";
  case PyType::Bool:
    return *v.value.getAsBoolean() ? "True" : "False";
  case PyType::Int:
    if (std::optional<int64_t> i = v.asInt())
      return std::to_string(*i);
    return v.text;
  case PyType::Float:
    return pyFloat(v.asDouble());
  case PyType::Str:
    return pyString(*v.value.getAsString());
  case PyType::List:
  case PyType::Dict:
    return v.text;
  }
  return v.text;
}

/// Python's `a != b or type(a) is not type(b)`, negated.
bool pyjson::pySame(const PyValue &a, const PyValue &b) {
  if (a.type() != b.type())
    return false;
  if (a.type() == PyType::Int) {
    std::optional<int64_t> x = a.asInt(), y = b.asInt();
    return x && y ? *x == *y : a.asDouble() == b.asDouble();
  }
  if (a.type() == PyType::Float)
    return a.asDouble() == b.asDouble();
  return a.value == b.value;
}

const char *pyjson::pyTypeName(const PyValue &v) {
  switch (v.type()) {
  case PyType::None:
    return "NoneType";
  case PyType::Bool:
    return "bool";
  case PyType::Int:
    return "int";
  case PyType::Float:
    return "float";
  case PyType::Str:
    return "str";
  case PyType::List:
    return "list";
  case PyType::Dict:
    return "dict";
  }
  return "object";
}
