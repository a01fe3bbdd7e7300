//===- Checkpoint.cpp - the trainer's checkpoint files --------------------===//
//
// Layout (a plain safetensors file, readable by the safetensors package):
//   N: u64 LE | header JSON (N bytes, space padded so the data section
//   starts at a multiple of 64) | data: the F32 tensors back to back, in
//   the order written, without holes (safetensors forbids them, so single
//   tensors are 4-byte aligned only; empty tensors sharing an offset read
//   back in name order).
// __metadata__ = {"bitttt_checkpoint": meta.dump(), "checksum": XXH3-64 of
// the data section, "meta_checksum": XXH3-64 of the meta text,
// "format_version": "1"}; the checksums are 16 lowercase hex digits.
//
// Atomicity: write to `.<file>.tmp.<pid>` in the same directory, fsync,
// rename over the file, fsync the directory. A kill at any point leaves the
// old file or the new one, never a mix; only a temporary can be partial, and
// the next write in the directory removes temporaries of dead processes.
//
//===----------------------------------------------------------------------===//
#include "Checkpoint.h"
#include "Fuzzing.h"
#include "Hex.h"
#include "bitttt/Format/JsonDepth.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <new>
#include <set>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

using nlohmann::json;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "checkpoint files store little-endian F32 as raw bytes");

namespace bitttt::ckpt {
using rt::hex64;
namespace {

using format::ErrorCode;

constexpr const char *kMetaKey = "bitttt_checkpoint";
constexpr uint64_t kAlignment = 64;
/// safetensors' own limit on the header; a larger length is garbage.
constexpr uint64_t kMaxHeader = uint64_t(100) << 20;

Status error(ErrorCode code, const std::string &message) {
  return Status::error(code, message);
}

/// "<path>: <what>: <strerror(errno)>".
Status sysError(const std::string &path, const std::string &what) {
  int e = errno;
  return error(ErrorCode::IO, path + ": " + what + ": " + std::strerror(e));
}

std::string quote(const std::string &s) { return "'" + s + "'"; }

std::string joinPath(const std::string &dir, const std::string &name) {
  if (dir.empty())
    return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string tempName(const std::string &file) {
  return "." + file + ".tmp." + std::to_string(::getpid());
}

/// A plain file name: not empty, no '/', not "." or "..".
Status checkName(const std::string &dir, const std::string &file) {
  if (file.empty() || file == "." || file == ".." ||
      file.find('/') != std::string::npos ||
      file.find('\0') != std::string::npos)
    return error(ErrorCode::InvalidArgument,
                 joinPath(dir, file) + ": the checkpoint name " + quote(file) +
                     " is not a plain file name");
  return Status::ok();
}

/// mkdir -p.
Status makeDirs(const std::string &dir) {
  for (size_t end = 1; end <= dir.size(); ++end) {
    if (end != dir.size() && dir[end] != '/')
      continue;
    std::string prefix = dir.substr(0, end);
    if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST)
      return sysError(prefix, "cannot create directory");
    struct stat st;
    if (::stat(prefix.c_str(), &st) != 0)
      return sysError(prefix, "cannot create directory");
    if (!S_ISDIR(st.st_mode))
      return error(ErrorCode::IO, prefix + ": not a directory");
  }
  return Status::ok();
}

/// fsync of a directory, so that a rename or link in it is durable.
Status syncDir(const std::string &dir) {
  std::string d = dir.empty() ? "." : dir;
  int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sysError(d, "cannot open directory to fsync it");
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  errno = e;
  if (rc != 0 && errno != EINVAL) // EINVAL: the file system cannot sync dirs
    return sysError(d, "cannot fsync directory");
  return Status::ok();
}

Status writeAll(int fd, const void *data, uint64_t len, const std::string &path,
                const std::string &tmp) {
  const char *p = static_cast<const char *>(data);
  while (len > 0) {
    size_t chunk = size_t(std::min<uint64_t>(len, uint64_t(1) << 30));
    ssize_t n = ::write(fd, p, chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      errno = ENOSPC; // no progress and no error: the device is full
    if (n <= 0)
      return sysError(path, "cannot write " + tmp);
    p += n;
    len -= uint64_t(n);
  }
  return Status::ok();
}

/// Reads exactly `len` bytes at `offset`; a short file reads as truncated.
Status readAt(int fd, void *data, uint64_t len, uint64_t offset,
              const std::string &path) {
  char *p = static_cast<char *>(data);
  while (len > 0) {
    size_t chunk = size_t(std::min<uint64_t>(len, uint64_t(1) << 30));
    ssize_t n = ::pread(fd, p, chunk, off_t(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return sysError(path, "cannot read");
    if (n == 0)
      return error(ErrorCode::Format,
                   path + ": truncated: the file ended at offset " +
                       std::to_string(offset) + " while it was being read");
    p += n;
    len -= uint64_t(n);
    offset += uint64_t(n);
  }
  return Status::ok();
}

/// An XXH3-64 state, freed on every path.
class Hasher {
public:
  Hasher() : st_(XXH3_createState()) {
    if (!st_)
      throw std::bad_alloc();
    XXH3_64bits_reset(st_);
  }
  Hasher(const Hasher &) = delete;
  Hasher &operator=(const Hasher &) = delete;
  ~Hasher() { XXH3_freeState(st_); }
  void update(const void *data, uint64_t len) {
    if (len)
      XXH3_64bits_update(st_, data, size_t(len));
  }
  std::string hex() const { return hex64(XXH3_64bits_digest(st_)); }

private:
  XXH3_state_t *st_;
};

/// A writer's temporary (".<name>.ckpt.tmp.<pid>"): its pid, or 0.
long tempOwner(const std::string &name) {
  size_t at = name.rfind(".tmp.");
  if (name.size() < 2 || name[0] != '.' || at == std::string::npos || at < 6 ||
      name.compare(at - 5, 5, ".ckpt") != 0)
    return 0;
  std::string digits = name.substr(at + 5);
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return 0;
  return std::stol(digits);
}

/// Removes temporaries left in `dir` by processes that no longer exist
/// (killed writers). Live writers' temporaries, ours included, stay.
void removeStaleTemporaries(const std::string &dir) {
  DIR *d = ::opendir(dir.empty() ? "." : dir.c_str());
  if (!d)
    return;
  std::vector<std::string> stale;
  while (struct dirent *e = ::readdir(d)) {
    long pid = tempOwner(e->d_name);
    if (pid > 0 && pid != long(::getpid()) && pid <= INT_MAX &&
        ::kill(pid_t(pid), 0) != 0 && errno == ESRCH)
      stale.push_back(e->d_name);
  }
  ::closedir(d);
  for (const std::string &name : stale)
    ::unlink(joinPath(dir, name).c_str());
}

/// The temporary file of one write: removed unless committed.
class TempFile {
public:
  TempFile(std::string path, std::string tmp)
      : path_(std::move(path)), tmp_(std::move(tmp)) {}
  TempFile(const TempFile &) = delete;
  TempFile &operator=(const TempFile &) = delete;
  ~TempFile() {
    if (fd_ >= 0)
      ::close(fd_);
    if (created_ && !committed_)
      ::unlink(tmp_.c_str());
  }

  Status create() {
    ::unlink(tmp_.c_str()); // a leftover of this pid: O_EXCL must not fail
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0)
      return sysError(path_, "cannot create " + tmp_);
    created_ = true;
    return Status::ok();
  }
  int fd() const { return fd_; }
  const std::string &path() const { return path_; }
  const std::string &tmp() const { return tmp_; }

  /// fsync, close, then publish().
  Status commit(const std::string &dir) {
    if (::fsync(fd_) != 0)
      return sysError(path_, "cannot fsync " + tmp_);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0)
      return sysError(path_, "cannot close " + tmp_);
    return publish(dir);
  }
  /// Renames the complete temporary over the path, fsyncs the directory.
  Status publish(const std::string &dir) {
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
      return sysError(path_, "cannot rename " + tmp_ + " to it");
    committed_ = true;
    if (Status s = syncDir(dir); !s)
      return error(ErrorCode::IO, path_ +
                                      ": written, but the rename may not "
                                      "be durable: " +
                                      s.message());
    return Status::ok();
  }
  /// For a temporary made by link(): it exists, nothing is open.
  void adopt() { created_ = true; }

private:
  std::string path_, tmp_;
  int fd_ = -1;
  bool created_ = false, committed_ = false;
};

Status checkTensors(const std::string &path,
                    const std::vector<TensorView> &tensors,
                    std::vector<uint64_t> &bytes) {
  std::set<std::string> names;
  for (const TensorView &t : tensors) {
    std::string where = "tensor " + quote(t.name) + ": ";
    if (t.name.empty())
      return error(ErrorCode::InvalidArgument,
                   path + ": a tensor has an empty name");
    if (t.name == "__metadata__")
      return error(ErrorCode::InvalidArgument,
                   path + ": " + where + "the name is reserved");
    if (!names.insert(t.name).second)
      return error(ErrorCode::InvalidArgument,
                   path + ": " + where + "the name appears twice");
    uint64_t n;
    if (!format::shapeBytes(t.shape, "F32", n))
      return error(ErrorCode::InvalidArgument,
                   path + ": " + where + "shape " + format::shapeText(t.shape) +
                       " has a negative dimension or overflows");
    if (n > 0 && !t.data)
      return error(ErrorCode::InvalidArgument,
                   path + ": " + where + "data is NULL");
    bytes.push_back(n);
  }
  return Status::ok();
}

Status writeImpl(const std::string &dir, const std::string &file,
                 const json &meta, const std::vector<TensorView> &tensors) {
  if (Status s = checkName(dir, file); !s)
    return s;
  std::string path = joinPath(dir, file);
  std::vector<uint64_t> bytes;
  if (Status s = checkTensors(path, tensors, bytes); !s)
    return s;

  // The checksum goes in the header, before the data: hash first.
  Hasher hasher;
  json header = json::object();
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    header[tensors[i].name] = {
        {"dtype", "F32"},
        {"shape", tensors[i].shape},
        {"data_offsets", json::array({offset, offset + bytes[i]})}};
    hasher.update(tensors[i].data, bytes[i]);
    offset += bytes[i];
  }
  std::string metaText = meta.dump(); // invalid UTF-8 throws, caught above
  header["__metadata__"] = {
      {kMetaKey, metaText},
      {"checksum", hasher.hex()},
      {"meta_checksum", hex64(XXH3_64bits(metaText.data(), metaText.size()))},
      {"format_version", kFormatVersion}};
  std::string text = header.dump();
  text.append((kAlignment - (8 + text.size()) % kAlignment) % kAlignment, ' ');
  std::string prefix;
  for (int i = 0; i < 8; ++i)
    prefix.push_back(char((uint64_t(text.size()) >> (8 * i)) & 0xff));
  prefix += text;

  if (Status s = makeDirs(dir); !s)
    return error(s.code(), path + ": " + s.message());
  removeStaleTemporaries(dir);
  TempFile out(path, joinPath(dir, tempName(file)));
  if (Status s = out.create(); !s)
    return s;
  if (Status s =
          writeAll(out.fd(), prefix.data(), prefix.size(), path, out.tmp());
      !s)
    return s;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (Status s =
            writeAll(out.fd(), tensors[i].data, bytes[i], path, out.tmp());
        !s)
      return s;
  return out.commit(dir);
}

/// A tensor entry of the header, checked: F32, sizes match the shape.
struct Entry {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

Status parseEntry(const std::string &path, const std::string &name,
                  const json &v, Entry &out) {
  auto bad = [&](const std::string &why) {
    return error(ErrorCode::Format,
                 path + ": tensor " + quote(name) + ": " + why);
  };
  if (!v.is_object())
    return bad("the header entry is not an object");
  out.name = name;
  auto dtype = v.find("dtype");
  if (dtype == v.end() || !dtype->is_string())
    return bad("missing field 'dtype'");
  if (*dtype != "F32")
    return bad("dtype " + quote(dtype->get<std::string>()) +
               "; checkpoints hold F32 tensors only");
  auto shape = v.find("shape");
  if (shape == v.end() || !shape->is_array())
    return bad("missing field 'shape'");
  for (const json &d : *shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(INT64_MAX))
      return bad("field 'shape' is " + shape->dump() +
                 ", expected non-negative integers");
    out.shape.push_back(d.get<int64_t>());
  }
  auto offsets = v.find("data_offsets");
  if (offsets == v.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    return bad("field 'data_offsets' is " +
               (offsets == v.end() ? std::string("missing") : offsets->dump()) +
               ", expected [begin, end]");
  out.begin = (*offsets)[0].get<uint64_t>();
  out.end = (*offsets)[1].get<uint64_t>();
  if (out.begin > out.end)
    return bad("data_offsets " + offsets->dump() + ": begin is past end");
  uint64_t n;
  if (!format::shapeBytes(out.shape, "F32", n))
    return bad("shape " + format::shapeText(out.shape) + " overflows");
  if (out.end - out.begin != n)
    return bad("data_offsets " + offsets->dump() + " hold " +
               std::to_string(out.end - out.begin) + " bytes, shape " +
               format::shapeText(out.shape) + " x F32 needs " +
               std::to_string(n));
  return Status::ok();
}

/// A required string of __metadata__.
Status metaString(const std::string &path, const json &metadata,
                  const char *key, std::string &out) {
  auto it = metadata.find(key);
  if (it == metadata.end())
    return error(ErrorCode::Format,
                 path + ": not a bitttt checkpoint (no __metadata__ field " +
                     quote(key) + ")");
  if (!it->is_string())
    return error(ErrorCode::Format, path + ": __metadata__ field " +
                                        quote(key) + " is not a string");
  out = it->get<std::string>();
  return Status::ok();
}

Status readImpl(const std::string &path, Checkpoint &out) {
  auto bad = [&](const std::string &why) {
    return error(ErrorCode::Format, path + ": " + why);
  };
  int fd = -1;
  uint64_t size = 0;
  if (Status s = format::openRegularFile(path, fd, size); !s)
    return s;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (size < 8)
    return bad("truncated: the file has " + std::to_string(size) +
               " bytes, less than the 8-byte header length");
  unsigned char le[8];
  if (Status s = readAt(fd, le, 8, 0, path); !s)
    return s;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | le[i];
  if (n > size - 8)
    return bad("truncated: the header length says " + std::to_string(n) +
               " bytes of header, the file has " + std::to_string(size - 8) +
               " after the length");
  if (n > kMaxHeader)
    return bad("header length " + std::to_string(n) + " is over 100 MiB");
  std::string text(n, '\0');
  if (Status s = readAt(fd, text.data(), n, 8, path); !s)
    return s;
  if (text.find('\0') != std::string::npos)
    return bad("invalid safetensors header JSON: contains a NUL byte");
  if (std::string deep = bitttt::format::jsonDepthError(text); !deep.empty())
    return bad("invalid safetensors header JSON: " + deep);
  json header = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) {
    try {
      (void)json::parse(text); // again, for nlohmann's positioned message
    } catch (const json::exception &e) {
      return bad(std::string("invalid safetensors header JSON: ") + e.what());
    }
    return bad("invalid safetensors header JSON");
  }
  if (!header.is_object())
    return bad("the safetensors header is not a JSON object");

  auto metadata = header.find("__metadata__");
  if (metadata == header.end() || !metadata->is_object())
    return bad("not a bitttt checkpoint (no __metadata__)");
  std::string version, sum, metaSum, metaText;
  if (Status s = metaString(path, *metadata, "format_version", version); !s)
    return s;
  if (version != kFormatVersion)
    return error(ErrorCode::Unsupported,
                 path + ": checkpoint format_version " + quote(version) +
                     "; this runtime reads " + quote(kFormatVersion));
  for (auto [key, value] :
       {std::pair{"checksum", &sum}, std::pair{"meta_checksum", &metaSum},
        std::pair{kMetaKey, &metaText}})
    if (Status s = metaString(path, *metadata, key, *value); !s)
      return s;

  std::vector<Entry> entries;
  for (const auto &[name, value] : header.items()) {
    if (name == "__metadata__")
      continue;
    if (name.empty())
      return bad("the header has a tensor with an empty name");
    Entry e;
    if (Status s = parseEntry(path, name, value, e); !s)
      return s;
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Back to back from 0: an entry starting before the previous end overlaps
  // it, one starting after it leaves a hole.
  uint64_t dataSize = 0;
  const Entry *prev = nullptr;
  for (const Entry &e : entries) {
    std::string range =
        "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
    if (e.begin < dataSize)
      return bad("tensor " + quote(e.name) + ": data_offsets " + range +
                 " overlap tensor " + quote(prev->name));
    if (e.begin > dataSize)
      return bad("tensor " + quote(e.name) + ": data_offsets " + range +
                 " leave a hole after byte " + std::to_string(dataSize) +
                 " of the data section");
    dataSize = e.end;
    prev = &e;
  }
  uint64_t dataStart = 8 + n;
  if (size - dataStart < dataSize)
    return bad("truncated: the header says " + std::to_string(dataSize) +
               " bytes of data, the file has " +
               std::to_string(size - dataStart));
  if (size - dataStart > dataSize)
    return bad("the header says " + std::to_string(dataSize) +
               " bytes of data, the file has " +
               std::to_string(size - dataStart) + " (trailing bytes)");

  std::string metaHash = hex64(XXH3_64bits(metaText.data(), metaText.size()));
  if (metaHash != metaSum && rt::kEnforceChecksums)
    return bad("meta checksum mismatch: the header says " + metaSum +
               ", the metadata hashes to " + metaHash +
               " (the file is corrupted)");
  Checkpoint ck;
  if (std::string deep = bitttt::format::jsonDepthError(metaText);
      !deep.empty())
    return bad("__metadata__ field '" + std::string(kMetaKey) + "' " + deep);
  ck.meta = json::parse(metaText, nullptr, /*allow_exceptions=*/false);
  if (ck.meta.is_discarded())
    return bad("__metadata__ field '" + std::string(kMetaKey) +
               "' is not valid JSON");

  Hasher hasher;
  for (const Entry &e : entries) {
    Tensor t{e.name, e.shape, std::vector<float>((e.end - e.begin) / 4)};
    if (Status s = readAt(fd, t.data.data(), e.end - e.begin,
                          dataStart + e.begin, path);
        !s)
      return s;
    hasher.update(t.data.data(), e.end - e.begin);
    ck.tensors.push_back(std::move(t));
  }
  std::string dataHash = hasher.hex();
  if (dataHash != sum && rt::kEnforceChecksums)
    return bad("checksum mismatch: the header says " + sum +
               ", the data hashes to " + dataHash + " (the file is corrupted)");
  out = std::move(ck);
  return Status::ok();
}

/// "step-<digits>.ckpt" (8 digits or more): the step, or -1.
int64_t stepOf(const std::string &name) {
  const size_t prefix = 5, suffix = 5; // "step-", ".ckpt"
  if (name.size() < prefix + 8 + suffix || name.compare(0, prefix, "step-") ||
      name.compare(name.size() - suffix, suffix, ".ckpt"))
    return -1;
  std::string digits = name.substr(prefix, name.size() - prefix - suffix);
  if (digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  int64_t step = std::stoll(digits);
  // One name per step: "step-000000042.ckpt" is not step 42's file.
  return stepFileName(step) == name ? step : -1;
}

/// Runs `body`, turning exceptions into a Status naming `path`.
template <typename Body> Status guarded(const std::string &path, Body &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return error(ErrorCode::OutOfMemory, path + ": out of memory");
  } catch (const json::exception &e) {
    return error(ErrorCode::InvalidArgument, path + ": " + e.what());
  } catch (const std::exception &e) {
    return error(ErrorCode::Internal, path + ": " + e.what());
  }
}

Status copyFile(const std::string &src, TempFile &out) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return sysError(src, "cannot open");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{in};
  if (Status s = out.create(); !s)
    return s;
  std::vector<char> buffer(1 << 20);
  for (;;) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return sysError(src, "cannot read");
    if (n == 0)
      return Status::ok();
    if (Status s = writeAll(out.fd(), buffer.data(), uint64_t(n), out.path(),
                            out.tmp());
        !s)
      return s;
  }
}

} // namespace

const Tensor *Checkpoint::find(const std::string &name) const {
  for (const Tensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

std::string stepFileName(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld.ckpt",
                static_cast<long long>(step));
  return buf;
}

Status write(const std::string &dir, const std::string &file, const json &meta,
             const std::vector<TensorView> &tensors) {
  return guarded(joinPath(dir, file),
                 [&] { return writeImpl(dir, file, meta, tensors); });
}

Status read(const std::string &path, Checkpoint &out) {
  return guarded(path, [&] { return readImpl(path, out); });
}

std::vector<std::pair<int64_t, std::string>> list(const std::string &dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  DIR *d = ::opendir(dir.empty() ? "." : dir.c_str());
  if (!d)
    return out;
  while (struct dirent *e = ::readdir(d)) {
    int64_t step = stepOf(e->d_name);
    std::string path = joinPath(dir, e->d_name);
    struct stat st;
    if (step >= 0 && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      out.emplace_back(step, std::move(path));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status prune(const std::string &dir, int keep) {
  if (keep < 1)
    return error(ErrorCode::InvalidArgument,
                 dir +
                     ": prune must keep at least one checkpoint, asked to "
                     "keep " +
                     std::to_string(keep));
  return guarded(dir, [&] {
    auto files = list(dir);
    Status first;
    for (size_t i = 0; i + size_t(keep) < files.size(); ++i)
      if (::unlink(files[i].second.c_str()) != 0 && errno != ENOENT && first)
        first = sysError(files[i].second, "cannot delete");
    // Not fsynced: a deletion lost in a crash only brings back a valid file.
    return first;
  });
}

Status markBest(const std::string &dir, const std::string &file) {
  std::string best = joinPath(dir, kBestFile);
  return guarded(best, [&]() -> Status {
    if (Status s = checkName(dir, file); !s)
      return s;
    if (file == kBestFile)
      return Status::ok();
    std::string src = joinPath(dir, file);
    struct stat st;
    if (::stat(src.c_str(), &st) != 0)
      return sysError(src, "cannot mark it best");
    if (!S_ISREG(st.st_mode))
      return error(ErrorCode::IO, src + ": not a regular file");
    TempFile tmp(best, joinPath(dir, tempName(kBestFile)));
    ::unlink(tmp.tmp().c_str());
    // A hard link shares the bytes; writes never modify a file in place
    // (they rename a new one over it), so best.ckpt cannot change later.
    if (::link(src.c_str(), tmp.tmp().c_str()) == 0) {
      tmp.adopt();
      return tmp.publish(dir);
    }
    if (errno == ENOENT)
      return sysError(src, "cannot link it to " + tmp.tmp());
    // The file system refuses links (EPERM, EMLINK, ...): copy.
    if (Status s = copyFile(src, tmp); !s)
      return s;
    return tmp.commit(dir);
  });
}

Status latestValid(const std::string &dir, std::string &path, Checkpoint &out,
                   const std::function<void(const std::string &)> &warn) {
  return guarded(dir, [&] {
    auto files = list(dir);
    if (files.empty())
      return error(ErrorCode::IO,
                   dir + ": no checkpoint (no step-<step>.ckpt file)");
    std::string newest;
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
      Status s = read(it->second, out);
      if (s) {
        path = it->second;
        return s;
      }
      if (newest.empty())
        newest = s.message();
      if (warn)
        warn("skipping checkpoint " + s.message());
    }
    return error(ErrorCode::Format,
                 dir + ": none of the " + std::to_string(files.size()) +
                     " checkpoints reads back valid (the newest: " + newest +
                     ")");
  });
}

} // namespace bitttt::ckpt
