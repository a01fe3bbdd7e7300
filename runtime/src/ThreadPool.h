//===- ThreadPool.h - the runtime's fork-join pool ---------------*- C++
//-*-===//
//
// A fixed set of threads that run one parallel loop at a time, chunk k on
// thread k (the caller is thread 0), so work placement is deterministic and
// small loops cost no thread hand-off at all. A loop started while another
// is running (a second session on another thread) runs on its caller.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_THREADPOOL_H
#define BITTTT_RUNTIME_THREADPOOL_H

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bitttt::rt {

class ThreadPool {
public:
  /// Body of a loop: chunk index and the index range [begin, end).
  using Body = std::function<void(size_t chunk, size_t begin, size_t end)>;

  /// Starts nThreads - 1 workers (nThreads >= 1). Throws std::system_error
  /// when a thread cannot be started.
  explicit ThreadPool(int nThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return int(workers_.size()) + 1; }

  /// How many chunks parallelFor(n, grain, ...) would use when the pool is
  /// free: min(size(), ceil(n / grain)), at least 1.
  size_t chunks(size_t n, size_t grain) const;

  /// Runs body over [0, n) in chunks(n, grain) contiguous chunks and returns
  /// when all are done. `body` must not throw.
  void parallelFor(size_t n, size_t grain, const Body &body);

private:
  void workerLoop(size_t index);

  std::vector<std::thread> workers_;
  std::mutex loop_; ///< held by the caller of a parallel loop
  std::mutex mutex_;
  std::condition_variable start_, done_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  const Body *body_ = nullptr;
  size_t n_ = 0, chunks_ = 0, pending_ = 0;
};

/// Number of online cores (at least 1).
int onlineCores();

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_THREADPOOL_H
