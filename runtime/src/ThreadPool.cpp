//===- ThreadPool.cpp - the runtime's fork-join pool ----------------------===//
#include "ThreadPool.h"

#include <algorithm>

#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

void cpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

/// Spins until `done()` or ThreadPool::kSpin has passed; true when done.
template <typename Done> bool spinUntil(Done done) {
  auto start = std::chrono::steady_clock::now();
  bool yielding = false;
  for (unsigned i = 1;; ++i) {
    if (done())
      return true;
    if (yielding)
      std::this_thread::yield();
    else
      cpuRelax();
    if (i % 64 == 0) {
      auto spent = std::chrono::steady_clock::now() - start;
      if (spent > ThreadPool::kSpin)
        return done();
      yielding = spent > ThreadPool::kSpinPause;
    }
  }
}

} // namespace

ThreadPool::ThreadPool(int nThreads) {
  try {
    for (int i = 1; i < nThreads; ++i)
      workers_.emplace_back([this, i] { workerLoop(size_t(i)); });
  } catch (...) {
    stop_ = true;
    { std::lock_guard<std::mutex> lock(mutex_); }
    start_.notify_all();
    for (std::thread &t : workers_)
      t.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  stop_ = true;
  { std::lock_guard<std::mutex> lock(mutex_); }
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
  bool expected = false;
  if (count == 1 || !busy_.compare_exchange_strong(expected, true)) {
    body(0, 0, n);
    return;
  }
  body_ = &body;
  n_ = n;
  chunks_ = count;
  pending_.store(workers_.size());
  generation_.fetch_add(1); // publishes the loop (seq_cst)
  if (sleepingWorkers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    start_.notify_all();
  }
  size_t begin, end;
  chunkRange(n, count, 0, begin, end);
  body(0, begin, end);
  if (!spinUntil([&] { return pending_.load() == 0; })) {
    std::unique_lock<std::mutex> lock(mutex_);
    callerSleeping_ = true;
    done_.wait(lock, [&] { return pending_.load() == 0; });
    callerSleeping_ = false;
  }
  body_ = nullptr;
  splitLoops_.fetch_add(1, std::memory_order_relaxed);
  busy_.store(false);
}

void ThreadPool::workerLoop(size_t index) {
  uint64_t seen = 0;
  for (;;) {
    auto ready = [&] { return stop_.load() || generation_.load() != seen; };
    if (!spinUntil(ready)) {
      std::unique_lock<std::mutex> lock(mutex_);
      ++sleepingWorkers_;
      start_.wait(lock, ready);
      --sleepingWorkers_;
    }
    if (stop_.load())
      return;
    seen = generation_.load();
    if (index < chunks_) {
      size_t begin, end;
      chunkRange(n_, chunks_, index, begin, end);
      (*body_)(index, begin, end);
    }
    if (pending_.fetch_sub(1) == 1 && callerSleeping_.load()) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

} // namespace bitttt::rt
