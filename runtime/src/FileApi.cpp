//===- FileApi.cpp - C API over the container library ---------------------===//
//
// Thin wrappers: argument checks, Status -> bitttt_status + thread-local
// message, and no exception ever leaves an extern "C" function.
//
//===----------------------------------------------------------------------===//
#include "CApi.h"
#include "Status.h"
#include "bitttt/Format/BittFile.h"

#include <cstring>
#include <new>

using bitttt::format::BittFile;
using bitttt::format::Status;
using bitttt::format::TensorInfo;
using bitttt::rt::fail;
using bitttt::rt::nullArgument;
using bitttt::rt::report;

struct bitttt_file {
  std::unique_ptr<BittFile> file;
};

namespace {

bitttt_status describe(const BittFile &file, const TensorInfo &t,
                       bitttt_tensor_info *out) {
  if (t.shape.size() > BITTTT_MAX_DIMS)
    return fail(BITTTT_ERR_UNSUPPORTED,
                file.path() + ": tensor '" + t.name + "' has " +
                    std::to_string(t.shape.size()) +
                    " dimensions; bitttt_tensor_info holds at most " +
                    std::to_string(BITTTT_MAX_DIMS));
  std::memset(out, 0, sizeof(*out));
  out->name = t.name.c_str();
  out->dtype = t.dtype.c_str();
  out->ndim = int(t.shape.size());
  for (size_t i = 0; i < t.shape.size(); ++i)
    out->shape[i] = t.shape[i];
  out->data = t.data;
  out->nbytes = t.nbytes;
  return BITTTT_OK;
}

} // namespace

extern "C" {

bitttt_status bitttt_file_open(const char *path, bitttt_file **out) {
  if (!out)
    return nullArgument("bitttt_file_open", "out");
  *out = nullptr;
  if (!path)
    return nullArgument("bitttt_file_open", "path");
  try {
    auto handle = std::make_unique<bitttt_file>();
    if (Status s = BittFile::open(path, handle->file); !s)
      return report(s);
    *out = handle.release();
    return BITTTT_OK;
  } catch (const std::bad_alloc &) {
    return fail(BITTTT_ERR_OUT_OF_MEMORY,
                std::string(path) + ": out of memory");
  } catch (...) {
    return fail(BITTTT_ERR_INTERNAL,
                std::string(path) + ": unexpected error while opening");
  }
}

void bitttt_file_close(bitttt_file *file) { delete file; }

int bitttt_file_version(const bitttt_file *file) {
  if (!file) {
    nullArgument("bitttt_file_version", "file");
    return -1;
  }
  return file->file->version();
}

const char *bitttt_file_header_json(const bitttt_file *file) {
  if (!file) {
    nullArgument("bitttt_file_header_json", "file");
    return nullptr;
  }
  return file->file->headerJson().c_str();
}

size_t bitttt_file_tensor_count(const bitttt_file *file) {
  if (!file) {
    nullArgument("bitttt_file_tensor_count", "file");
    return 0;
  }
  return file->file->tensors().size();
}

bitttt_status bitttt_file_tensor(const bitttt_file *file, size_t index,
                                 bitttt_tensor_info *out) {
  if (!file)
    return nullArgument("bitttt_file_tensor", "file");
  if (!out)
    return nullArgument("bitttt_file_tensor", "out");
  try {
    const auto &tensors = file->file->tensors();
    if (index >= tensors.size())
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  "bitttt_file_tensor: " + file->file->path() + ": index " +
                      std::to_string(index) + " out of range (" +
                      std::to_string(tensors.size()) + " tensors)");
    return describe(*file->file, tensors[index], out);
  } catch (...) {
    return fail(BITTTT_ERR_OUT_OF_MEMORY, "bitttt_file_tensor: out of memory");
  }
}

bitttt_status bitttt_file_find(const bitttt_file *file, const char *name,
                               bitttt_tensor_info *out) {
  if (!file)
    return nullArgument("bitttt_file_find", "file");
  if (!name)
    return nullArgument("bitttt_file_find", "name");
  if (!out)
    return nullArgument("bitttt_file_find", "out");
  try {
    const TensorInfo *t = file->file->find(name);
    if (!t)
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  file->file->path() + ": no tensor named '" + name + "'");
    return describe(*file->file, *t, out);
  } catch (...) {
    return fail(BITTTT_ERR_OUT_OF_MEMORY, "bitttt_file_find: out of memory");
  }
}

bitttt_status bitttt_file_copy_v2(const char *src, const char *dst) {
  if (!src)
    return nullArgument("bitttt_file_copy_v2", "src");
  if (!dst)
    return nullArgument("bitttt_file_copy_v2", "dst");
  try {
    return report(bitttt::format::copyAsBittV2(src, dst));
  } catch (...) {
    return fail(BITTTT_ERR_OUT_OF_MEMORY, "bitttt_file_copy_v2: out of memory");
  }
}

} // extern "C"
