//===- SharedObject.h - dlopen a compiled artifact from memory --*- C++ -*-===//
#ifndef BITTTT_RUNTIME_SHAREDOBJECT_H
#define BITTTT_RUNTIME_SHAREDOBJECT_H

#include "bitttt/Format/BittFile.h"

#include <memory>
#include <string>

namespace bitttt::rt {

/// A shared object loaded from bytes (an "elf-so" artifact): written to an
/// anonymous memfd and dlopened through /proc/self/fd/N, so nothing touches
/// the file system (a temporary file under $TMPDIR is the fallback where
/// memfd_create is unavailable). dlclosed on destruction.
class SharedObject {
public:
  /// `what` names the artifact in messages ("model.bitt: artifact
  /// 'x86-64-v3'"). `xxh3` is the header's checksum of the bytes (16
  /// lowercase hex digits of XXH3-64): nothing is mapped unless the bytes
  /// hash to it, so a corrupted or truncated artifact is a named error, not
  /// a crash in dlopen or in the code.
  static format::Status load(const std::string &what, const void *bytes,
                             size_t size, const std::string &xxh3,
                             std::unique_ptr<SharedObject> &out);
  ~SharedObject();
  SharedObject(const SharedObject &) = delete;
  SharedObject &operator=(const SharedObject &) = delete;

  /// The address of `name` as the object itself defines it, or nullptr with
  /// the reason in `error`: not found (dlerror()'s text), or found only in
  /// another object (dlsym also searches the artifact's dependencies: a
  /// header naming `abort` must not call libc's). `size` receives the
  /// symbol's st_size when not NULL.
  void *symbol(const std::string &name, std::string &error,
               size_t *size = nullptr) const;

private:
  SharedObject() = default;
  void *handle_ = nullptr;
  int fd_ = -1; ///< the memfd it was loaded from, open while loaded
};

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_SHAREDOBJECT_H
