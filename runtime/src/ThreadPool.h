//===- ThreadPool.h - the runtime's fork-join pool ---------------*- C++
//-*-===//
//
// A fixed set of threads that run one parallel loop at a time, chunk k on
// thread k (the caller is thread 0), so work placement is deterministic and
// small loops cost no thread hand-off at all. A loop started while another
// is running (a second session on another thread, or a loop body that
// starts a loop) runs on its caller.
//
// Compiled code hands every parallel loop here (the exec of docs/abi.md);
// a decoded token runs dozens of short loops back to back, so idle workers
// spin on the loop counter for a while (kSpin) before they sleep, and the
// caller spins for the stragglers: a hand-off costs about a cache-line
// transfer, not two futex round trips.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_THREADPOOL_H
#define BITTTT_RUNTIME_THREADPOOL_H

#include <atomic>
#include <chrono>
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

  /// How long an idle worker (or a waiting caller) spins before it blocks;
  /// past kSpinPause it yields between polls, so that an oversubscribed
  /// machine's other threads still run.
  static constexpr std::chrono::microseconds kSpinPause{50}, kSpin{300};

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

  /// Loops split over more than one thread since construction (for tests
  /// and benchmarks: shows that the pool, not the caller alone, ran them).
  uint64_t splitLoops() const { return splitLoops_.load(); }

private:
  void workerLoop(size_t index);

  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false}; ///< a loop is running
  std::mutex mutex_;              ///< guards the sleeps below
  std::condition_variable start_, done_;
  std::atomic<uint64_t> generation_{0}; ///< +1 per loop, published last
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepingWorkers_{0};
  std::atomic<bool> callerSleeping_{false};
  /// Workers yet to finish the current loop (all of them take part, those
  /// without a chunk just report).
  std::atomic<size_t> pending_{0};
  // The current loop; written before generation_ is bumped.
  const Body *body_ = nullptr;
  size_t n_ = 0, chunks_ = 0;
  std::atomic<uint64_t> splitLoops_{0};
};

/// Number of online cores (at least 1).
int onlineCores();

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_THREADPOOL_H
