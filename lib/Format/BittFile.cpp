//===- BittFile.cpp - mmapped .bitt / .safetensors reader -----------------===//
//
// Layout (docs/bitt-format.md):
//   "BITT" | H: u64 LE | header JSON (H bytes) | safetensors file
// where a safetensors file is  S: u64 LE | header JSON (S bytes) | data.
// A file without the magic whose ninth byte opens a JSON object is read as a
// plain safetensors file.
//
//===----------------------------------------------------------------------===//
#include "bitttt/Format/BittFile.h"
#include "BittHeader.h"
#include "bitttt/Format/Packing.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using nlohmann::json;

namespace bitttt::format {
namespace {

uint64_t readLe64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

Status formatError(const std::string &file, const std::string &message) {
  return Status::error(ErrorCode::Format, file + ": " + message);
}

std::string bytes(uint64_t n) {
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

std::string trimRight(const char *text, size_t len) {
  while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
                     text[len - 1] == '\n' || text[len - 1] == '\r'))
    --len;
  return std::string(text, len);
}

bool isPadding(const std::string &name) {
  return name.compare(0, std::strlen(kPaddingPrefix), kPaddingPrefix) == 0;
}

} // namespace

BittFile::~BittFile() {
  if (base_ && mapped_)
    ::munmap(const_cast<unsigned char *>(base_), size_);
  if (fd_ >= 0)
    ::close(fd_);
}

const TensorInfo *BittFile::find(const std::string &name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : &tensors_[it->second];
}

void BittFile::release(const TensorInfo &t) const {
  static const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  uint64_t begin = (t.fileOffset + page - 1) / page * page;
  uint64_t end = (t.fileOffset + t.nbytes) / page * page;
  if (base_ && mapped_ && end > begin)
    (void)::madvise(const_cast<unsigned char *>(base_) + begin, end - begin,
                    MADV_DONTNEED);
}

Status BittFile::open(const std::string &path, std::unique_ptr<BittFile> &out) {
  out.reset();
  if (path.empty())
    return Status::error(ErrorCode::InvalidArgument, "empty file path");
  try {
    std::unique_ptr<BittFile> file(new BittFile());
    file->path_ = path;
    if (Status s = openRegularFile(path, file->fd_, file->size_); !s)
      return s;
    if (file->size_ == 0)
      return formatError(path, "truncated: the file is empty");
    void *map =
        ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, file->fd_, 0);
    if (map == MAP_FAILED)
      return Status::error(errno == ENOMEM ? ErrorCode::OutOfMemory
                                           : ErrorCode::IO,
                           path + ": cannot mmap " + bytes(file->size_) + ": " +
                               std::strerror(errno));
    file->base_ = static_cast<const unsigned char *>(map);
    file->mapped_ = true;
    if (Status s = file->parse(); !s)
      return s;
    out = std::move(file);
    return Status::ok();
  } catch (const std::bad_alloc &) {
    return Status::error(ErrorCode::OutOfMemory, path + ": out of memory");
  } catch (const std::exception &e) {
    return Status::error(ErrorCode::Internal, path + ": " + e.what());
  }
}

Status BittFile::openBytes(const std::string &name, std::string bytes,
                           std::unique_ptr<BittFile> &out) {
  out.reset();
  try {
    std::unique_ptr<BittFile> file(new BittFile());
    file->path_ = name;
    file->owned_ = std::move(bytes);
    file->size_ = file->owned_.size();
    if (file->size_ == 0)
      return formatError(name, "truncated: the file is empty");
    file->base_ = reinterpret_cast<const unsigned char *>(file->owned_.data());
    if (Status s = file->parse(); !s)
      return s;
    out = std::move(file);
    return Status::ok();
  } catch (const std::bad_alloc &) {
    return Status::error(ErrorCode::OutOfMemory, name + ": out of memory");
  } catch (const std::exception &e) {
    return Status::error(ErrorCode::Internal, name + ": " + e.what());
  }
}

Status BittFile::parse() {
  const std::string &file = path_;
  uint64_t stOffset = 0; // where the safetensors part starts
  json header = json::object();
  if (size_ >= 4 && std::memcmp(base_, kBittMagic, 4) == 0) {
    if (size_ < 12)
      return formatError(file, "truncated: the header length field needs "
                               "12 bytes, the file has " +
                                   bytes(size_));
    uint64_t h = readLe64(base_ + 4);
    if (h > size_ - 12)
      return formatError(file, "truncated: header length " + std::to_string(h) +
                                   " past end of file (" + bytes(size_) + ")");
    const char *text = reinterpret_cast<const char *>(base_ + 12);
    if (Status s = detail::parseJson(file, "header", text, h, header); !s)
      return s;
    if (Status s = detail::headerVersion(file, header, version_); !s)
      return s;
    headerJson_ = trimRight(text, h);
    stOffset = 12 + h;
    if (version_ >= 2 && stOffset % kAlignment != 0)
      return formatError(file, "header length " + std::to_string(h) +
                                   ": the header ends at offset " +
                                   std::to_string(stOffset) +
                                   ", not a multiple of 64 (v2 pads it)");
  } else {
    // A plain safetensors file starts with its u64 header length and then
    // the JSON header. Only a length that cannot be one (past the end) and
    // no '{' after it means neither format; otherwise the safetensors checks
    // below say what is wrong (truncated, bad JSON, ...).
    if (size_ < 8)
      return formatError(file, "truncated: the file has only " + bytes(size_) +
                                   "; a .safetensors file starts with an "
                                   "8-byte header length, a .bitt with 12 "
                                   "bytes");
    if (readLe64(base_) > size_ - 8 && base_[8] != '{') {
      static const char hex[] = "0123456789abcdef";
      std::string head;
      for (uint64_t i = 0; i < 4; ++i) {
        unsigned char c = base_[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
          head += char(c);
        else
          head += std::string("\\x") + hex[c >> 4] + hex[c & 15];
      }
      return formatError(file, "bad magic '" + head +
                                   "': neither a .bitt container ('BITT') "
                                   "nor a .safetensors file");
    }
    version_ = 0;
    headerJson_ = "{}";
  }

  if (size_ - stOffset < 8)
    return formatError(file, "truncated: the safetensors header length at "
                             "offset " +
                                 std::to_string(stOffset) +
                                 " is past end of file (" + bytes(size_) + ")");
  uint64_t s = readLe64(base_ + stOffset);
  if (s > size_ - stOffset - 8)
    return formatError(file, "truncated: safetensors header length " +
                                 std::to_string(s) + " past end of file (" +
                                 bytes(size_) + ")");
  uint64_t dataStart = stOffset + 8 + s;
  if (version_ >= 2 && dataStart % kAlignment != 0)
    return formatError(file, "safetensors header length " + std::to_string(s) +
                                 ": the data section starts at offset " +
                                 std::to_string(dataStart) +
                                 ", not a multiple of 64 (v2 pads it)");
  std::vector<detail::RawTensor> raw;
  if (Status st = detail::parseSafeTensorsHeader(
          file, reinterpret_cast<const char *>(base_ + stOffset + 8), s,
          size_ - dataStart, raw, metadata_);
      !st)
    return st;

  tensors_.clear();
  std::map<std::string, const detail::RawTensor *> rawByName;
  for (const detail::RawTensor &t : raw) {
    if (version_ >= 2 && isPadding(t.name)) {
      if (t.dtype != "U8" || t.shape.size() != 1)
        return formatError(file, "padding tensor '" + t.name + "' is " +
                                     t.dtype + " " + shapeText(t.shape) +
                                     ", expected a 1-D U8 tensor");
      continue;
    }
    if (version_ >= 2 && t.begin % kAlignment != 0)
      return formatError(file, "tensor '" + t.name + "': data_offsets[0] = " +
                                   std::to_string(t.begin) +
                                   " is not a multiple of 64 (v2 keeps every "
                                   "tensor 64-byte aligned)");
    rawByName[t.name] = &t;
    TensorInfo info;
    info.name = t.name;
    info.dtype = t.dtype;
    info.shape = t.shape;
    info.fileOffset = dataStart + t.begin;
    info.data = base_ + info.fileOffset;
    info.nbytes = t.end - t.begin;
    tensors_.push_back(std::move(info));
  }
  if (version_ >= 2) {
    auto lookup = [&](const std::string &name) -> const detail::RawTensor * {
      auto it = rawByName.find(name);
      return it == rawByName.end() ? nullptr : it->second;
    };
    if (Status st =
            detail::validateBitttSection(file, header["bitttt"], lookup);
        !st)
      return st;
  }
  byName_.clear();
  for (size_t i = 0; i < tensors_.size(); ++i)
    byName_[tensors_[i].name] = i;
  return Status::ok();
}

Status copyAsBittV2(const std::string &src, const std::string &dst) {
  std::unique_ptr<BittFile> in;
  if (Status s = BittFile::open(src, in); !s)
    return s;
  try {
    std::vector<TensorData> tensors;
    tensors.reserve(in->tensors().size());
    for (const TensorInfo &t : in->tensors())
      tensors.push_back({t.name, t.dtype, t.shape, t.data, t.nbytes});
    // The source stays mapped while the copy is written, so dst == src is
    // safe: the rename replaces the directory entry, not the mapped pages.
    return writeBittV2(dst, in->headerJson(), tensors, in->metadata());
  } catch (const std::bad_alloc &) {
    return Status::error(ErrorCode::OutOfMemory, src + ": out of memory");
  }
}

namespace {

/// Reads from `fd` until end of file or `limit` bytes; closes `fd`.
Status readAll(const std::string &path, int fd, uint64_t limit,
               bool limitIsError, std::string &out) {
  out.clear();
  char buffer[1 << 16];
  for (;;) {
    size_t want = sizeof buffer;
    if (limitIsError ? out.size() > limit : out.size() >= limit)
      break;
    if (!limitIsError && limit - out.size() < want)
      want = size_t(limit - out.size());
    ssize_t n = ::read(fd, buffer, want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::error(ErrorCode::IO,
                           path + ": cannot read: " + std::strerror(e));
    }
    if (n == 0)
      break;
    out.append(buffer, size_t(n));
  }
  ::close(fd);
  if (limitIsError && out.size() > limit) {
    out.clear();
    return Status::error(ErrorCode::InvalidArgument,
                         path + ": more than " + std::to_string(limit >> 20) +
                             " MiB; not read (an endless device?)");
  }
  return Status::ok();
}

} // namespace

/// An error naming the file, the tensor and the first index of a NaN or
/// ±Inf in the F32 tensor `t`, or ok. Weights come from training; a
/// non-finite one would only show as NaN logits at run time.
Status checkFinite(const BittFile &file, const TensorInfo &t) {
  int64_t i = firstNonFinite(t.data, int64_t(t.nbytes / 4));
  if (i < 0)
    return Status::ok();
  float v;
  std::memcpy(&v, static_cast<const char *>(t.data) + i * 4, 4);
  std::string at;
  for (int64_t d = int64_t(t.shape.size()) - 1, rest = i; d >= 0; --d) {
    at = std::to_string(rest % t.shape[d]) + (at.empty() ? "" : ", ") + at;
    rest /= t.shape[d];
  }
  return Status::error(ErrorCode::Format, file.path() + ": tensor '" + t.name +
                                              "' has a non-finite value (" +
                                              (std::isnan(v) ? "nan"
                                               : v > 0       ? "inf"
                                                             : "-inf") +
                                              ") at [" + at +
                                              "]: weights must be finite");
}

Status openRegularFile(const std::string &path, int &fd, uint64_t &size) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer. It has no effect
  // on reads of a regular file.
  fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return Status::error(ErrorCode::IO,
                         path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fd = -1;
    return Status::error(ErrorCode::IO,
                         path + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fd = -1;
    return Status::error(ErrorCode::IO, path + ": not a regular file (" +
                                            detail::fileKind(st.st_mode) + ")");
  }
  size = uint64_t(st.st_size);
  return Status::ok();
}

Status readFile(const std::string &path, std::string &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::error(ErrorCode::IO,
                         path + ": cannot open: " + std::strerror(errno));
  return readAll(path, fd, kMaxStreamBytes, /*limitIsError=*/true, out);
}

Status readRegularFile(const std::string &path, std::string &out) {
  int fd = -1;
  uint64_t size = 0;
  if (Status s = openRegularFile(path, fd, size); !s)
    return s;
  return readAll(path, fd, size, /*limitIsError=*/false, out);
}

} // namespace bitttt::format
