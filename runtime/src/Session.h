//===- Session.h - a session's buffers (internal) ---------------*- C++ -*-===//
#ifndef BITTTT_RUNTIME_SESSION_H
#define BITTTT_RUNTIME_SESSION_H

#include "Model.h"

#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

namespace bitttt::rt {

/// A 64-byte aligned heap block (never NULL, even for 0 bytes).
class AlignedBuffer {
public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size) : size_(size) {
    size_t rounded = (size + 63) / 64 * 64;
    data_ = std::aligned_alloc(64, rounded ? rounded : 64);
    if (!data_)
      throw std::bad_alloc();
  }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(AlignedBuffer &&o) noexcept { swap(o); }
  AlignedBuffer &operator=(AlignedBuffer &&o) noexcept {
    swap(o);
    return *this;
  }
  void swap(AlignedBuffer &o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }
  void *data() const { return data_; }
  size_t size() const { return size_; }

private:
  void *data_ = nullptr;
  size_t size_ = 0;
};

/// One compiled function with its I/O buffers and buffer-pointer array.
struct Call {
  const FunctionSpec *fn = nullptr;
  EntryFn entry = nullptr;
  AlignedBuffer ids, logits;
  std::vector<void *> buffers;
};

} // namespace bitttt::rt

struct bitttt_session {
  const bitttt_model *model = nullptr;
  std::vector<bitttt::rt::AlignedBuffer> state,
      next;                         ///< indexed like spec.states
  bitttt::rt::Call prefill, decode; ///< prefill.fn is NULL when absent
  const float *last = nullptr;      ///< logits row of the last token
  size_t nPast = 0;
};

namespace bitttt::rt {

/// dst = src (or zeros when src is NULL), split over the pool when large.
void fill(ThreadPool &pool, void *dst, const void *src, size_t size);
/// Runs `call` on `ids` (exactly call.fn->tokens of them).
void run(bitttt_session &s, Call &call, const int32_t *ids);
/// Every id in [0, vocab), else an error naming the first bad one.
bitttt_status checkIds(const bitttt_session &s, const char *function,
                       const int32_t *ids, size_t n);

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_SESSION_H
