//===- SafeTensors.cpp - read-only, memory-mapped safetensors ---*- C++ -*-===//
#include "lib/Frontend/SafeTensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <limits>
#include <tuple>

using namespace llvm;
using namespace bitttt;

namespace {

struct DTypeInfo {
  DType dtype;
  StringRef name;
  unsigned size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::Bool, "BOOL", 1},      {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},          {DType::F8E5M2, "F8_E5M2", 1},
    {DType::F8E4M3, "F8_E4M3", 1}, {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},        {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},      {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},        {DType::F32, "F32", 4},
    {DType::I64, "I64", 8},        {DType::U64, "U64", 8},
    {DType::F64, "F64", 8},
};

const DTypeInfo &info(DType dtype) {
  for (const DTypeInfo &i : kDTypes)
    if (i.dtype == dtype)
      return i;
  llvm_unreachable("every DType is in kDTypes");
}

/// A JSON integer in [0, INT64_MAX] (not `2.0`, not negative).
std::optional<int64_t> nonNegativeInt(const json::Value &v) {
  std::optional<uint64_t> u = v.getAsUINT64();
  if (!u || *u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return std::nullopt;
  return static_cast<int64_t>(*u);
}

class HeaderReader {
public:
  explicit HeaderReader(StringRef path) : path(path) {}

  Error error(const Twine &message) const {
    return createStringError(inconvertibleErrorCode(),
                             (path + ": " + message).str());
  }
  Error tensorError(StringRef tensor, const Twine &message) const {
    return error("tensor '" + tensor + "' " + message);
  }

  /// Checks one header entry and fills `view` (data pointer excluded).
  Error readEntry(StringRef name, const json::Value &entry, uint64_t dataSize,
                  TensorView &view) const;

private:
  StringRef path;
};

Error HeaderReader::readEntry(StringRef name, const json::Value &entry,
                              uint64_t dataSize, TensorView &view) const {
  const json::Object *object = entry.getAsObject();
  if (!object)
    return tensorError(name, "has a header entry that is not a JSON object");
  view.name = name.str();

  const json::Value *dtypeValue = object->get("dtype");
  if (!dtypeValue)
    return tensorError(name, "has no 'dtype'");
  std::optional<StringRef> dtypeText = dtypeValue->getAsString();
  if (!dtypeText)
    return tensorError(name, "has a 'dtype' that is not a string");
  std::optional<DType> dtype = parseDType(*dtypeText);
  if (!dtype)
    return tensorError(name, "has unknown dtype '" + *dtypeText + "'");
  view.dtype = *dtype;

  const json::Value *shapeValue = object->get("shape");
  const json::Array *shape = shapeValue ? shapeValue->getAsArray() : nullptr;
  if (!shape)
    return tensorError(name, "has no 'shape' list");
  for (const json::Value &d : *shape) {
    std::optional<int64_t> size = nonNegativeInt(d);
    if (!size)
      return tensorError(name, "has a 'shape' entry that is not a "
                               "non-negative integer");
    view.shape.push_back(*size);
  }

  const json::Value *offsetsValue = object->get("data_offsets");
  const json::Array *offsets =
      offsetsValue ? offsetsValue->getAsArray() : nullptr;
  std::optional<int64_t> begin, end;
  if (offsets && offsets->size() == 2) {
    begin = nonNegativeInt((*offsets)[0]);
    end = nonNegativeInt((*offsets)[1]);
  }
  if (!begin || !end)
    return tensorError(name, "needs 'data_offsets' [begin, end] with two "
                             "non-negative integers");
  std::string range =
      "[" + std::to_string(*begin) + ", " + std::to_string(*end) + "]";
  if (*begin > *end)
    return tensorError(name, "has data_offsets " + range +
                                 " that are not ordered (begin > end)");
  if (static_cast<uint64_t>(*end) > dataSize)
    return tensorError(name, "has data_offsets " + range +
                                 " past the end of the data section (" +
                                 Twine(dataSize) +
                                 " bytes); is the file truncated?");
  view.offset = *begin;
  view.numBytes = *end - *begin;

  uint64_t expected = dtypeSize(view.dtype);
  bool overflow = false;
  for (int64_t d : view.shape) {
    bool stepOverflow = false;
    expected = SaturatingMultiply<uint64_t>(expected, d, &stepOverflow);
    overflow |= stepOverflow;
  }
  if (llvm::is_contained(view.shape, 0))
    expected = 0; // an empty tensor, however large its other dimensions
  else if (overflow)
    return tensorError(name, "has shape " + formatShape(view.shape) +
                                 " whose byte size overflows 64 bits");
  if (expected != view.numBytes)
    return tensorError(
        name, "has " + Twine(view.numBytes) + " bytes of data, but dtype " +
                  dtypeName(view.dtype) + " and shape " +
                  formatShape(view.shape) + " need " + Twine(expected));
  return Error::success();
}

} // namespace

StringRef bitttt::dtypeName(DType dtype) { return info(dtype).name; }

unsigned bitttt::dtypeSize(DType dtype) { return info(dtype).size; }

std::optional<DType> bitttt::parseDType(StringRef name) {
  for (const DTypeInfo &i : kDTypes)
    if (i.name == name)
      return i.dtype;
  return std::nullopt;
}

int64_t TensorView::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string bitttt::formatShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  raw_string_ostream os(s);
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}

const TensorView *SafeTensorsFile::lookup(StringRef name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &tensorList[it->second];
}

Expected<SafeTensorsFile> SafeTensorsFile::open(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(
      path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return createStringError(
        buffer.getError(),
        (path + ": cannot read: " + buffer.getError().message()).str());
  return fromBuffer(std::move(*buffer), path);
}

Expected<SafeTensorsFile>
SafeTensorsFile::fromBuffer(std::unique_ptr<MemoryBuffer> buffer,
                            StringRef name) {
  HeaderReader reader(name);
  StringRef bytes = buffer->getBuffer();
  if (bytes.size() < 8)
    return reader.error("file is " + Twine(bytes.size()) +
                        " bytes, too short for a safetensors file (it starts "
                        "with an 8-byte header length)");
  uint64_t headerSize =
      support::endian::read64le(reinterpret_cast<const void *>(bytes.data()));
  if (headerSize > bytes.size() - 8)
    return reader.error("header length " + Twine(headerSize) +
                        " runs past the end of the file (" +
                        Twine(bytes.size()) + " bytes)");
  StringRef headerText = bytes.substr(8, headerSize);
  StringRef data = bytes.substr(8 + headerSize);

  Expected<json::Value> header = json::parse(headerText);
  if (!header)
    return reader.error("header is not valid JSON: " +
                        toString(header.takeError()));
  const json::Object *entries = header->getAsObject();
  if (!entries)
    return reader.error("header is not a JSON object");

  SafeTensorsFile file;
  file.filePath = name.str();
  // Entries in name order, so the first error reported does not depend on
  // hashing.
  std::vector<StringRef> names;
  for (const auto &kv : *entries)
    names.push_back(kv.first);
  llvm::sort(names);
  for (StringRef entryName : names) {
    const json::Value &entry = *entries->get(entryName);
    if (entryName == "__metadata__") {
      const json::Object *metadata = entry.getAsObject();
      if (!metadata)
        return reader.error("'__metadata__' is not a JSON object");
      for (const auto &kv : *metadata) {
        std::optional<StringRef> value = kv.second.getAsString();
        if (!value)
          return reader.error("'__metadata__' entry '" + kv.first.str() +
                              "' is not a string");
        file.metadataMap[kv.first.str()] = value->str();
      }
      continue;
    }
    TensorView view;
    if (Error e = reader.readEntry(entryName, entry, data.size(), view))
      return std::move(e);
    view.data = data.data() + view.offset;
    file.tensorList.push_back(std::move(view));
  }

  // No two tensors may share bytes.
  std::vector<const TensorView *> byOffset;
  for (const TensorView &view : file.tensorList)
    if (view.numBytes)
      byOffset.push_back(&view);
  llvm::sort(byOffset, [](const TensorView *a, const TensorView *b) {
    return std::tie(a->offset, a->name) < std::tie(b->offset, b->name);
  });
  for (size_t i = 1; i < byOffset.size(); ++i) {
    const TensorView &prev = *byOffset[i - 1], &next = *byOffset[i];
    if (next.offset < prev.offset + prev.numBytes)
      return reader.error("tensors '" + prev.name + "' and '" + next.name +
                          "' overlap in the data section");
  }

  for (size_t i = 0; i < file.tensorList.size(); ++i)
    file.index[file.tensorList[i].name] = i;
  file.buffer = std::move(buffer);
  return std::move(file);
}
