//===- BittFile.h - .bitt v1/v2 and .safetensors reader/writer --*- C++ -*-===//
//
// The container library (`bitttt_format`) shared by the runtime and the
// compiler. Plain C++17, no LLVM, no dependency on the C API's thread-local
// error: every fallible call returns a Status carrying a code and a message
// that names the file and the offending tensor or field. Nothing here throws
// across this interface (callers may be built with -fno-exceptions).
//
// The format is specified in docs/bitt-format.md.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_FORMAT_BITTFILE_H
#define BITTTT_FORMAT_BITTFILE_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bitttt::format {

enum class ErrorCode {
  Ok = 0,
  InvalidArgument, ///< a caller error (empty name, NULL data, ...)
  IO,              ///< the file could not be opened, read or written
  Format,          ///< the file is truncated or malformed
  Unsupported,     ///< well formed, but a version/layout we do not handle
  OutOfMemory,
  Internal,
};

/// Success, or an error code with a human-readable message.
class [[nodiscard]] Status {
public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(ErrorCode code, std::string message) {
    Status s;
    s.code_ = code;
    s.message_ = std::move(message);
    return s;
  }

  bool isOk() const { return code_ == ErrorCode::Ok; }
  explicit operator bool() const { return isOk(); }
  ErrorCode code() const { return code_; }
  const std::string &message() const { return message_; }

private:
  ErrorCode code_ = ErrorCode::Ok;
  std::string message_;
};

/// Size in bytes of one element of the safetensors dtype `name` ("F32",
/// "BF16", "BOOL", ...), or 0 when the name is unknown.
size_t dtypeSize(const std::string &name);

/// A shape as messages print it: "[32, 16]" ("[]" for a scalar).
std::string shapeText(const std::vector<int64_t> &shape);

/// Byte size of `shape` x `dtype` in `bytes`; false on overflow, a negative
/// dimension or an unknown dtype.
bool shapeBytes(const std::vector<int64_t> &shape, const std::string &dtype,
                uint64_t &bytes);

/// Magic of a .bitt container, and the alignment v2 guarantees.
inline constexpr char kBittMagic[4] = {'B', 'I', 'T', 'T'};
inline constexpr uint64_t kAlignment = 64;
inline constexpr int kFormatVersion = 2;
/// v2 writers fill alignment gaps with U8 1-D tensors whose names start with
/// this prefix, so that the safetensors part stays contiguous (as safetensors
/// readers require). Readers skip them; they are not listed as tensors.
inline constexpr const char *kPaddingPrefix = "__pad__.";

/// One tensor of an opened file. `data` points into the read-only mapping.
struct TensorInfo {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  uint64_t nbytes = 0;
  uint64_t fileOffset = 0; ///< absolute offset of the first byte in the file
};

/// A read-only, mmapped `.bitt` (v1 or v2) or plain `.safetensors` file,
/// validated in full on open. Tensor data stays valid while the object lives.
class BittFile {
public:
  /// Opens, maps and validates `path`.
  static Status open(const std::string &path, std::unique_ptr<BittFile> &out);
  /// Validates `bytes` as the contents of a file called `name` (messages
  /// name it), which the object keeps: the fuzzers' entry (test/fuzz/).
  static Status openBytes(const std::string &name, std::string bytes,
                          std::unique_ptr<BittFile> &out);
  ~BittFile();
  BittFile(const BittFile &) = delete;
  BittFile &operator=(const BittFile &) = delete;

  const std::string &path() const { return path_; }
  /// 0 = plain safetensors, 1 = .bitt v1, 2 = .bitt v2.
  int version() const { return version_; }
  /// The BITT header JSON text with v2's trailing padding removed ("{}" for
  /// plain safetensors).
  const std::string &headerJson() const { return headerJson_; }
  /// The safetensors `__metadata__` (string to string), possibly empty.
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }
  /// Tensors in file order (padding tensors excluded).
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  /// The tensor called `name`, or nullptr.
  const TensorInfo *find(const std::string &name) const;
  uint64_t fileSize() const { return size_; }
  /// Hint that `t`'s bytes will not be read again soon: drops its whole
  /// pages from this process's mapping (madvise MADV_DONTNEED), so a writer
  /// that streams through a large checkpoint does not keep all of it
  /// resident. Reading the tensor afterwards is still valid (the pages come
  /// back from the file).
  void release(const TensorInfo &t) const;

private:
  BittFile() = default;
  Status parse();

  std::string path_;
  std::string owned_; ///< openBytes' contents (base_ points into it)
  bool mapped_ = false;
  int fd_ = -1;
  const unsigned char *base_ = nullptr;
  uint64_t size_ = 0;
  int version_ = 0;
  std::string headerJson_;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> byName_;
};

/// A tensor to write: `data` must hold exactly product(shape)·dtypeSize bytes.
struct TensorData {
  TensorData() = default;
  TensorData(std::string name, std::string dtype, std::vector<int64_t> shape,
             const void *data, uint64_t nbytes)
      : name(std::move(name)), dtype(std::move(dtype)), shape(std::move(shape)),
        data(data), nbytes(nbytes) {}

  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  uint64_t nbytes = 0;
  /// Instead of `data`: fills the nbytes at `out` when the writer gets to
  /// the tensor, so it never has to exist in memory beside all the others.
  /// Producers of different tensors may run at once (WriteOptions::threads)
  /// and must give the same bytes whatever the order. `out` may be null
  /// when nbytes is 0.
  std::function<Status(void *out)> produce;
  /// Called once the tensor's bytes are written (e.g. BittFile::release).
  std::function<void()> written;
};

struct WriteOptions {
  /// Threads that run the tensors' `produce` callbacks ahead of the write
  /// (in name order, a bounded window ahead); <= 1 runs them inline. The
  /// file is the same for any count.
  unsigned threads = 1;
};

/// Writes a v2 container at `path`. `headerJson` is the BITT header (a JSON
/// object: "config", "tokenizer", "bitttt", ...); its "bitttt" section gets
/// "format_version": 2 if absent. Tensors are stored sorted by name, each
/// 64-byte aligned. The file is written to `<path>.tmp.<pid>`, fsynced and
/// renamed over `path`; on failure no file (temporary or final) is left.
/// The output is a deterministic function of the arguments.
Status writeBittV2(const std::string &path, const std::string &headerJson,
                   const std::vector<TensorData> &tensors,
                   const std::map<std::string, std::string> &metadata = {},
                   const WriteOptions &options = {});

/// An error naming `file`, the F32 tensor `t` and the first index of a NaN
/// or ±Inf in it, or ok. Weights come from training; a non-finite one would
/// only show as NaN logits at run time (the compiler's writer checks every
/// F32 weight it stores or quantizes).
Status checkFinite(const BittFile &file, const TensorInfo &t);

/// Reads a whole file that may be a stream (a prompt, a data file: a pipe
/// or `/dev/stdin` works); errors name the file and the system's reason.
/// At most kMaxStreamBytes: an endless device is refused, not read until
/// memory runs out.
Status readFile(const std::string &path, std::string &out);
inline constexpr uint64_t kMaxStreamBytes = uint64_t(1) << 30;

/// Reads a model file (config.json, tokenizer.json, a --config file): it
/// must be a regular file, which is checked without blocking (a FIFO is
/// refused, not waited on), and is read up to the size fstat reports.
Status readRegularFile(const std::string &path, std::string &out);

/// Opens `path` for reading without blocking on a FIFO and requires a
/// regular file: the descriptor (O_CLOEXEC) and its size, or an error naming
/// the file and what it is instead ("a FIFO", "a directory", ...).
Status openRegularFile(const std::string &path, int &fd, uint64_t &size);

/// Writes `bytes` to `path` the same way (temporary, fsync, rename; no
/// file left on failure): tokenizer.json, token files, metadata.
Status writeFileAtomically(const std::string &path, std::string_view bytes);

/// Rewrites any readable container (`.safetensors`, v1, v2) as v2 at `dst`
/// (which may equal `src`), keeping the header, metadata and every tensor.
Status copyAsBittV2(const std::string &src, const std::string &dst);

} // namespace bitttt::format

#endif // BITTTT_FORMAT_BITTFILE_H
