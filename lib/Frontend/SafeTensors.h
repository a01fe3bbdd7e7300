//===- SafeTensors.h - read-only, memory-mapped safetensors -----*- C++ -*-===//
//
// A safetensors file is: u64 little-endian header length N, N bytes of JSON
// header `{name: {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {str: str}}`, then the data section; offsets are relative
// to the start of the data section. The file is mapped with
// llvm::MemoryBuffer; tensors point into the mapping, which lives as long as
// the SafeTensorsFile.
//
// Every check of `open` fails with an llvm::Error naming the file and, where
// one is at fault, the tensor.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FRONTEND_SAFETENSORS_H
#define BITTTT_FRONTEND_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bitttt {

enum class DType {
  Bool,
  U8,
  I8,
  F8E5M2,
  F8E4M3,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  I64,
  U64,
  F64,
};

/// The safetensors spelling of a dtype ("F32", "BF16", ...).
llvm::StringRef dtypeName(DType dtype);
/// Parses a safetensors dtype name; std::nullopt when unknown.
std::optional<DType> parseDType(llvm::StringRef name);
/// Bytes per element.
unsigned dtypeSize(DType dtype);

struct TensorView {
  std::string name;
  DType dtype;
  llvm::SmallVector<int64_t, 4> shape;
  /// First byte of the tensor's data inside the mapped file (no alignment
  /// guarantee: copy out or check before reading multi-byte elements).
  const char *data;
  uint64_t numBytes;
  /// data_offsets[0], relative to the data section.
  uint64_t offset;

  int64_t numElements() const;
  llvm::ArrayRef<char> bytes() const { return {data, numBytes}; }
};

/// "[32, 16]", as messages print shapes.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

class SafeTensorsFile {
public:
  /// Maps and validates the file at `path`.
  static llvm::Expected<SafeTensorsFile> open(llvm::StringRef path);

  /// Validates an in-memory file; `name` stands for the file in messages.
  static llvm::Expected<SafeTensorsFile>
  fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef name);

  llvm::StringRef path() const { return filePath; }
  /// The tensors, sorted by name.
  llvm::ArrayRef<TensorView> tensors() const { return tensorList; }
  const TensorView *lookup(llvm::StringRef name) const;
  const std::map<std::string, std::string> &metadata() const {
    return metadataMap;
  }

private:
  SafeTensorsFile() = default;

  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::vector<TensorView> tensorList;
  llvm::StringMap<size_t> index;
  std::map<std::string, std::string> metadataMap;
};

} // namespace bitttt

#endif // BITTTT_FRONTEND_SAFETENSORS_H
