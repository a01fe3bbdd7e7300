//===- ThreadPool.cpp - the runtime's fork-join pool ----------------------===//
#include "ThreadPool.h"

#include <algorithm>

#include <unistd.h>

namespace bitttt::rt {

int onlineCores() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : int(std::min<long>(n, 1024));
}

namespace {
/// Chunk k of n split into `chunks` nearly equal contiguous ranges.
void chunkRange(size_t n, size_t chunks, size_t k, size_t &begin, size_t &end) {
  begin = n / chunks * k + std::min(k, n % chunks);
  end = begin + n / chunks + (k < n % chunks ? 1 : 0);
}
} // namespace

ThreadPool::ThreadPool(int nThreads) {
  try {
    for (int i = 1; i < nThreads; ++i)
      workers_.emplace_back([this, i] { workerLoop(size_t(i)); });
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    start_.notify_all();
    for (std::thread &t : workers_)
      t.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

size_t ThreadPool::chunks(size_t n, size_t grain) const {
  grain = std::max<size_t>(grain, 1);
  size_t wanted = n / grain + (n % grain ? 1 : 0);
  return std::max<size_t>(1, std::min<size_t>(size_t(size()), wanted));
}

void ThreadPool::parallelFor(size_t n, size_t grain, const Body &body) {
  if (n == 0)
    return;
  size_t count = chunks(n, grain);
  std::unique_lock<std::mutex> loop(loop_, std::try_to_lock);
  if (count == 1 || !loop.owns_lock()) {
    body(0, 0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    n_ = n;
    chunks_ = count;
    pending_ = count - 1;
    ++generation_;
  }
  start_.notify_all();
  size_t begin, end;
  chunkRange(n, count, 0, begin, end);
  body(0, begin, end);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
  body_ = nullptr;
}

void ThreadPool::workerLoop(size_t index) {
  uint64_t seen = 0;
  for (;;) {
    const Body *body;
    size_t n, count;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_)
        return;
      seen = generation_;
      body = body_;
      n = n_;
      count = chunks_;
    }
    if (index >= count)
      continue;
    size_t begin, end;
    chunkRange(n, count, index, begin, end);
    (*body)(index, begin, end);
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0)
      done_.notify_one();
  }
}

} // namespace bitttt::rt
