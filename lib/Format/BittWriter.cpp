//===- BittWriter.cpp - atomic, deterministic .bitt v2 writer -------------===//
//
// Tensors are laid out sorted by name; a tensor whose offset would not be a
// multiple of 64 is preceded by a U8 padding tensor ("__pad__.<n>"), so the
// safetensors part stays contiguous and readable by safetensors itself. Both
// JSON headers are padded with spaces so that the safetensors part and the
// data section start on 64-byte boundaries.
//
// Tensors with a `produce` callback are made only when the writer gets near
// them: worker threads fill them in name order, at most a window ahead of
// the write, and each buffer is freed once written, so peak memory is a few
// tensors whatever the model's size; the bytes do not depend on the number
// of threads.
//
//===----------------------------------------------------------------------===//
#include "BittHeader.h"
#include "bitttt/Format/BittFile.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <set>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using nlohmann::json;

namespace bitttt::format {
namespace {

Status invalid(const std::string &file, const std::string &message) {
  return Status::error(ErrorCode::InvalidArgument, file + ": " + message);
}

uint64_t alignUp(uint64_t n) {
  return (n + kAlignment - 1) / kAlignment * kAlignment;
}

void appendLe64(std::string &out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(char((v >> (8 * i)) & 0xff));
}

/// Writes to `<path>.tmp.<pid>`; commit() fsyncs and renames it over path,
/// the destructor removes the temporary file unless committed.
class AtomicFile {
public:
  explicit AtomicFile(std::string path)
      : path_(std::move(path)),
        tmp_(path_ + ".tmp." + std::to_string(::getpid())) {}
  ~AtomicFile() {
    if (fd_ >= 0)
      ::close(fd_);
    if (created_ && !committed_)
      ::unlink(tmp_.c_str());
  }

  /// An existing `path` that is a symbolic link is followed (the file it
  /// names is replaced, the link stays); a FIFO or a device (`-o
  /// /dev/null`, `-o /dev/stdout`) is written in place, never renamed over;
  /// a directory or other kind is refused.
  Status open() {
    struct stat st;
    if (::lstat(path_.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      char *real = ::realpath(path_.c_str(), nullptr);
      if (!real)
        return ioError("a symbolic link to nowhere; not replaced");
      path_ = real;
      std::free(real);
      tmp_ = path_ + ".tmp." + std::to_string(::getpid());
    }
    if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
        return Status::error(ErrorCode::IO, path_ + ": exists and is " +
                                                detail::fileKind(st.st_mode) +
                                                ", not a file: not replaced");
      inPlace_ = true;
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0)
        return ioError("cannot open for writing");
      return Status::ok();
    }
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0)
      return ioError("cannot create " + tmp_);
    created_ = true;
    return Status::ok();
  }

  Status write(const void *data, uint64_t len) {
    const char *p = static_cast<const char *>(data);
    while (len > 0) {
      size_t chunk = size_t(std::min<uint64_t>(len, uint64_t(1) << 30));
      ssize_t n = ::write(fd_, p, chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return ioError("cannot write " + tmp_);
      p += n;
      len -= uint64_t(n);
    }
    return Status::ok();
  }

  Status commit() {
    if (inPlace_) {
      int fd = fd_;
      fd_ = -1;
      committed_ = true;
      if (::close(fd) != 0)
        return ioError("cannot close");
      return Status::ok();
    }
    if (::fsync(fd_) != 0)
      return ioError("cannot fsync " + tmp_);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0)
      return ioError("cannot close " + tmp_);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
      return ioError("cannot rename " + tmp_ + " to " + path_);
    committed_ = true;
    // Make the rename durable; failing here does not undo a complete file.
    std::string dir = ".";
    if (size_t slash = path_.rfind('/'); slash != std::string::npos)
      dir = slash == 0 ? "/" : path_.substr(0, slash);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
    return Status::ok();
  }

private:
  Status ioError(const std::string &what) {
    return Status::error(ErrorCode::IO,
                         path_ + ": " + what + ": " + std::strerror(errno));
  }

  std::string path_, tmp_;
  int fd_ = -1;
  bool created_ = false, committed_ = false, inPlace_ = false;
};

/// One entry of the data section: a caller's tensor or a padding run.
struct Slot {
  const TensorData *tensor = nullptr; // nullptr: padding
  std::string name;
  uint64_t begin = 0, size = 0;
};

Status checkTensors(const std::string &path,
                    const std::vector<TensorData> &tensors) {
  std::set<std::string> names;
  for (const TensorData &t : tensors) {
    std::string where = "tensor '" + t.name + "': ";
    if (t.name.empty())
      return invalid(path, "a tensor has an empty name");
    if (t.name == "__metadata__" ||
        t.name.compare(0, std::strlen(kPaddingPrefix), kPaddingPrefix) == 0)
      return invalid(path, where + "the name is reserved");
    if (!names.insert(t.name).second)
      return invalid(path, where + "the name appears twice");
    if (dtypeSize(t.dtype) == 0)
      return invalid(path, where + "unknown dtype '" + t.dtype + "'");
    std::string described = shapeText(t.shape) + " x " + t.dtype;
    uint64_t bytes;
    if (!shapeBytes(t.shape, t.dtype, bytes))
      return invalid(path, where + "shape " + described +
                               " has a negative dimension or overflows");
    if (bytes != t.nbytes)
      return invalid(path, where + std::to_string(t.nbytes) +
                               " bytes do not match shape " + described + " (" +
                               std::to_string(bytes) + " bytes)");
    if (bytes > 0 && !t.data && !t.produce)
      return invalid(path, where + "data is NULL");
  }
  return Status::ok();
}

/// Runs the `produce` callbacks of `tensors` (in that order) on worker
/// threads, at most `window` tensors past the last one taken.
class Producer {
public:
  Producer(std::vector<const TensorData *> tensors, unsigned threads)
      : jobs(tensors.size()) {
    for (size_t i = 0; i < tensors.size(); ++i)
      jobs[i].tensor = tensors[i];
    window = std::max<size_t>(2, 2 * size_t(threads));
    if (threads > 1)
      for (unsigned i = 0; i < threads; ++i)
        workers.emplace_back([this] { work(); });
  }
  ~Producer() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    changed.notify_all();
    for (std::thread &t : workers)
      t.join();
  }

  /// The bytes of job `i` (jobs are taken in order, each once).
  Status take(size_t i, std::vector<unsigned char> &bytes) {
    Job &job = jobs[i];
    if (workers.empty()) {
      run(job);
    } else {
      std::unique_lock<std::mutex> lock(mutex);
      changed.wait(lock, [&] { return job.done; });
    }
    bytes = std::move(job.bytes);
    Status status = std::move(job.status);
    {
      std::lock_guard<std::mutex> lock(mutex);
      taken = i + 1;
    }
    changed.notify_all();
    return status;
  }

private:
  struct Job {
    const TensorData *tensor = nullptr;
    std::vector<unsigned char> bytes;
    Status status;
    bool done = false;
  };

  static void run(Job &job) {
    try {
      job.bytes.resize(size_t(job.tensor->nbytes));
      job.status = job.tensor->produce(job.bytes.data());
    } catch (const std::bad_alloc &) {
      job.status = Status::error(ErrorCode::OutOfMemory, "out of memory");
    } catch (const std::exception &e) {
      job.status = Status::error(ErrorCode::Internal, e.what());
    }
  }

  void work() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      changed.wait(lock, [&] {
        return stop || next == jobs.size() || next < taken + window;
      });
      if (stop || next == jobs.size())
        return;
      Job &job = jobs[next++];
      lock.unlock();
      run(job);
      lock.lock();
      job.done = true;
      changed.notify_all();
    }
  }

  std::vector<Job> jobs;
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable changed;
  size_t next = 0, taken = 0, window = 2;
  bool stop = false;
};

/// The BITT header with "bitttt.format_version" = 2, checked against the
/// tensors to be written.
Status buildHeader(const std::string &path, const std::string &headerJson,
                   const std::vector<TensorData> &tensors, json &header) {
  if (Status s = detail::parseJson(path, "header", headerJson.data(),
                                   headerJson.size(), header);
      !s)
    return Status::error(ErrorCode::InvalidArgument, s.message());
  json &section = header["bitttt"];
  if (section.is_null())
    section = json::object();
  if (!section.is_object())
    return invalid(path, "header field 'bitttt' is not an object");
  if (!section.contains("format_version"))
    section["format_version"] = kFormatVersion;
  int version = 0;
  if (Status s = detail::headerVersion(path, header, version); !s)
    return Status::error(ErrorCode::InvalidArgument, s.message());
  std::map<std::string, detail::RawTensor> byName;
  for (const TensorData &t : tensors)
    byName[t.name] = {t.name, t.dtype, t.shape, 0, t.nbytes};
  auto lookup = [&](const std::string &name) -> const detail::RawTensor * {
    auto it = byName.find(name);
    return it == byName.end() ? nullptr : &it->second;
  };
  if (Status s = detail::validateBitttSection(path, section, lookup); !s)
    return Status::error(ErrorCode::InvalidArgument, s.message());
  return Status::ok();
}

Status writeImpl(const std::string &path, const std::string &headerJson,
                 const std::vector<TensorData> &tensors,
                 const std::map<std::string, std::string> &metadata,
                 const WriteOptions &options) {
  if (path.empty())
    return Status::error(ErrorCode::InvalidArgument, "empty file path");
  if (Status s = checkTensors(path, tensors); !s)
    return s;
  json header;
  if (Status s = buildHeader(path, headerJson, tensors, header); !s)
    return s;

  std::vector<const TensorData *> sorted;
  for (const TensorData &t : tensors)
    sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorData *a, const TensorData *b) {
              return a->name < b->name;
            });
  std::vector<Slot> slots;
  uint64_t offset = 0, pads = 0;
  json st = json::object();
  for (const TensorData *t : sorted) {
    if (offset % kAlignment != 0) {
      Slot pad;
      pad.name = kPaddingPrefix + std::to_string(pads++);
      pad.begin = offset;
      pad.size = alignUp(offset) - offset;
      st[pad.name] = {
          {"dtype", "U8"},
          {"shape", json::array({pad.size})},
          {"data_offsets", json::array({pad.begin, pad.begin + pad.size})}};
      offset += pad.size;
      slots.push_back(std::move(pad));
    }
    st[t->name] = {{"dtype", t->dtype},
                   {"shape", t->shape},
                   {"data_offsets", json::array({offset, offset + t->nbytes})}};
    slots.push_back({t, t->name, offset, t->nbytes});
    offset += t->nbytes;
  }
  if (!metadata.empty())
    st["__metadata__"] = metadata;

  // Compact JSON with sorted keys: deterministic. Strings that are not valid
  // UTF-8 throw json::type_error, reported by the caller.
  std::string headerText = header.dump();
  std::string stText = st.dump();
  uint64_t h = alignUp(12 + headerText.size()) - 12;
  uint64_t s = alignUp(8 + stText.size()) - 8;
  std::string prefix(kBittMagic, 4);
  appendLe64(prefix, h);
  prefix += headerText;
  prefix.append(h - headerText.size(), ' ');
  appendLe64(prefix, s);
  prefix += stText;
  prefix.append(s - stText.size(), ' ');

  AtomicFile out(path);
  if (Status r = out.open(); !r)
    return r;
  if (Status r = out.write(prefix.data(), prefix.size()); !r)
    return r;
  std::vector<const TensorData *> produced;
  for (const Slot &slot : slots)
    if (slot.tensor && !slot.tensor->data && slot.tensor->produce)
      produced.push_back(slot.tensor);
  Producer producer(produced, options.threads);
  size_t taken = 0;
  std::vector<unsigned char> bytes;
  static const char zeros[kAlignment] = {};
  for (const Slot &slot : slots) {
    const TensorData *t = slot.tensor;
    if (!t) {
      if (Status r = out.write(zeros, slot.size); !r)
        return r;
      continue;
    }
    const void *data = t->data;
    if (!data && t->produce) {
      if (Status r = producer.take(taken++, bytes); !r)
        return invalid(path, "tensor '" + t->name + "': " + r.message());
      data = bytes.data();
    }
    if (Status r = out.write(data, slot.size); !r)
      return r;
    std::vector<unsigned char>().swap(bytes);
    if (t->written)
      t->written();
  }
  return out.commit();
}

} // namespace

Status writeBittV2(const std::string &path, const std::string &headerJson,
                   const std::vector<TensorData> &tensors,
                   const std::map<std::string, std::string> &metadata,
                   const WriteOptions &options) {
  try {
    return writeImpl(path, headerJson, tensors, metadata, options);
  } catch (const json::exception &e) {
    return invalid(path, std::string("cannot encode the header: ") + e.what());
  } catch (const std::bad_alloc &) {
    return Status::error(ErrorCode::OutOfMemory, path + ": out of memory");
  } catch (const std::exception &e) {
    return Status::error(ErrorCode::Internal, path + ": " + e.what());
  }
}

Status writeFileAtomically(const std::string &path, std::string_view bytes) {
  AtomicFile file(path);
  if (Status s = file.open(); !s)
    return s;
  if (Status s = file.write(bytes.data(), bytes.size()); !s)
    return s;
  return file.commit();
}

} // namespace bitttt::format
