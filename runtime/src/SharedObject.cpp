//===- SharedObject.cpp - dlopen a compiled artifact from memory ----------===//
#include "SharedObject.h"
#include "Hex.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

using bitttt::format::ErrorCode;
using bitttt::format::Status;

namespace bitttt::rt {
namespace {

/// Closes a descriptor (and removes a temporary file) on scope exit.
struct FdGuard {
  int fd = -1;
  std::string unlinkPath;
  ~FdGuard() {
    if (fd >= 0)
      ::close(fd);
    if (!unlinkPath.empty())
      ::unlink(unlinkPath.c_str());
  }
};

bool writeAll(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= size_t(n);
  }
  return true;
}

/// An executable anonymous file; kernels with vm.memfd_noexec need MFD_EXEC,
/// older ones reject the flag (EINVAL).
int openMemfd() {
  int fd = ::memfd_create("bitttt-artifact", MFD_CLOEXEC | MFD_EXEC);
  if (fd < 0 && errno == EINVAL)
    fd = ::memfd_create("bitttt-artifact", MFD_CLOEXEC);
  return fd;
}

/// The bytes are a complete x86-64 ELF shared object: every header, segment
/// and section the loader will map lies inside them. dlopen maps a file
/// without checking that; a truncated artifact would raise SIGBUS in the
/// process when the loader touches a page past its end.
Status checkElf(const std::string &what, const unsigned char *p, size_t size) {
  auto bad = [&](const std::string &why) {
    return Status::error(ErrorCode::Format,
                         what + ": not a complete x86-64 ELF shared object (" +
                             why + ")");
  };
  auto within = [&](uint64_t offset, uint64_t bytes) {
    return offset <= size && bytes <= size - offset;
  };
  Elf64_Ehdr eh;
  if (size < sizeof(eh))
    return bad(std::to_string(size) + " bytes, shorter than an ELF header");
  std::memcpy(&eh, p, sizeof(eh));
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return bad("no ELF magic");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
    return bad("not 64-bit little-endian x86-64");
  if (eh.e_type != ET_DYN)
    return bad("not a shared object (e_type " + std::to_string(eh.e_type) +
               ")");
  if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
      !within(eh.e_phoff, uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr)))
    return bad("program headers past the end of its " + std::to_string(size) +
               " bytes");
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, p + eh.e_phoff + i * sizeof(ph), sizeof(ph));
    if (!within(ph.p_offset, ph.p_filesz) || ph.p_filesz > ph.p_memsz)
      return bad("segment " + std::to_string(i) + " ends at byte " +
                 std::to_string(ph.p_offset + ph.p_filesz) +
                 ", the artifact has " + std::to_string(size) +
                 " bytes: truncated?");
  }
  if (eh.e_shoff != 0) {
    if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
        !within(eh.e_shoff, uint64_t(eh.e_shnum) * sizeof(Elf64_Shdr)))
      return bad("section headers past the end of its " + std::to_string(size) +
                 " bytes: truncated?");
    for (unsigned i = 0; i < eh.e_shnum; ++i) {
      Elf64_Shdr sh;
      std::memcpy(&sh, p + eh.e_shoff + i * sizeof(sh), sizeof(sh));
      if (sh.sh_type != SHT_NOBITS && !within(sh.sh_offset, sh.sh_size))
        return bad("section " + std::to_string(i) +
                   " lies past the end of its " + std::to_string(size) +
                   " bytes: truncated?");
    }
  }
  return Status::ok();
}

/// Fallback: an unlinked-after-load file under $TMPDIR.
int openTempFile(std::string &path) {
  const char *dir = std::getenv("TMPDIR");
  std::string pattern =
      std::string(dir && *dir ? dir : "/tmp") + "/bitttt-artifact-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  int fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd >= 0)
    path = buf.data();
  return fd;
}

} // namespace

Status SharedObject::load(const std::string &what, const void *bytes,
                          size_t size, const std::string &xxh3,
                          std::unique_ptr<SharedObject> &out) {
  out.reset();
  if (xxh3.empty())
    return Status::error(ErrorCode::Format,
                         what + ": the header gives no 'xxh3_64' checksum "
                                "(written by an older bitttt-compile: "
                                "recompile the model)");
  std::string actual = hex64(XXH3_64bits(bytes, size));
  if (xxh3 != actual)
    return Status::error(ErrorCode::Format,
                         what + ": checksum mismatch: the header says " + xxh3 +
                             ", the " + std::to_string(size) +
                             " bytes hash to " + actual +
                             " (the file is corrupted)");
  // Allocated first: nothing can throw once dlopen has succeeded.
  std::unique_ptr<SharedObject> object(new SharedObject());
  if (Status s =
          checkElf(what, static_cast<const unsigned char *>(bytes), size);
      !s)
    return s;
  FdGuard guard;
  std::string loadPath;
  guard.fd = openMemfd();
  if (guard.fd >= 0) {
    loadPath = "/proc/self/fd/" + std::to_string(guard.fd);
  } else {
    int memfdErrno = errno;
    guard.fd = openTempFile(guard.unlinkPath);
    if (guard.fd < 0)
      return Status::error(
          ErrorCode::IO, what + ": cannot create an anonymous file (" +
                             std::strerror(memfdErrno) +
                             ") or a temporary file (" + std::strerror(errno) +
                             ") to load the shared object from");
    loadPath = guard.unlinkPath;
  }
  if (!writeAll(guard.fd, bytes, size))
    return Status::error(ErrorCode::IO, what +
                                            ": cannot write the shared "
                                            "object to " +
                                            loadPath + ": " +
                                            std::strerror(errno));
  void *handle = ::dlopen(loadPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *err = ::dlerror();
    return Status::error(
        ErrorCode::Format,
        what + ": dlopen failed: " + (err ? err : "unknown dlopen error"));
  }
  object->handle_ = handle;
  // The descriptor stays open while the object is loaded: the loader knows
  // objects by path, and a later artifact loaded through a reused
  // "/proc/self/fd/N" would otherwise be handed this one.
  if (guard.unlinkPath.empty()) {
    object->fd_ = guard.fd;
    guard.fd = -1;
  }
  out = std::move(object);
  return Status::ok();
}

SharedObject::~SharedObject() {
  if (handle_)
    ::dlclose(handle_);
  if (fd_ >= 0)
    ::close(fd_);
}

void *SharedObject::symbol(const std::string &name, std::string &error,
                           size_t *size) const {
  ::dlerror();
  void *address = ::dlsym(handle_, name.c_str());
  if (!address) {
    const char *err = ::dlerror();
    error = err ? err : "the symbol's address is NULL";
    return nullptr;
  }
  // Which object defines the address, and its symbol table entry.
  struct link_map *own = nullptr, *found = nullptr;
  Dl_info info;
  void *symEntry = nullptr;
  if (::dlinfo(handle_, RTLD_DI_LINKMAP, &own) != 0 ||
      !::dladdr1(address, &info, &symEntry, RTLD_DL_SYMENT) ||
      !::dladdr1(address, &info, reinterpret_cast<void **>(&found),
                 RTLD_DL_LINKMAP)) {
    error = "cannot tell which object defines it";
    return nullptr;
  }
  if (found != own) {
    error = std::string("it is not defined in the artifact (it resolves to ") +
            (info.dli_fname && *info.dli_fname ? info.dli_fname
                                               : "another object") +
            ")";
    return nullptr;
  }
  if (size)
    *size = symEntry ? size_t(static_cast<const ElfW(Sym) *>(symEntry)->st_size)
                     : 0;
  return address;
}

} // namespace bitttt::rt
