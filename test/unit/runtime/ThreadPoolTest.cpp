//===- ThreadPoolTest.cpp - the runtime's fork-join pool ------------------===//
#include "ThreadPool.h"
#include "ToyModel.h"

#include <atomic>
#include <set>

using bitttt::rt::ThreadPool;

TEST(ThreadPool, CoversEveryIndexOnceInContiguousChunks) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.size(), 4);
  for (size_t n : {1u, 3u, 4u, 5u, 1000u, 1001u}) {
    std::vector<std::atomic<int>> hits(n);
    std::vector<std::pair<size_t, size_t>> ranges(4, {0, 0});
    pool.parallelFor(n, 1, [&](size_t chunk, size_t begin, size_t end) {
      ranges[chunk] = {begin, end};
      for (size_t i = begin; i < end; ++i)
        ++hits[i];
    });
    for (size_t i = 0; i < n; ++i)
      ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
    size_t chunks = pool.chunks(n, 1);
    EXPECT_EQ(chunks, std::min<size_t>(n, 4));
    for (size_t c = 1; c < chunks; ++c)
      EXPECT_EQ(ranges[c].first, ranges[c - 1].second);
  }
}

TEST(ThreadPool, ChunkKRunsOnThreadK) {
  ThreadPool pool(4);
  std::vector<std::thread::id> who(4);
  pool.parallelFor(4000, 1000, [&](size_t chunk, size_t, size_t) {
    who[chunk] = std::this_thread::get_id();
  });
  EXPECT_EQ(who[0], std::this_thread::get_id()); // the caller is thread 0
  EXPECT_EQ(std::set<std::thread::id>(who.begin(), who.end()).size(), 4u);
}

TEST(ThreadPool, SmallLoopsRunOnTheCaller) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.chunks(999, 1000), 1u);
  EXPECT_EQ(pool.chunks(2001, 1000), 3u);
  std::thread::id who;
  int calls = 0;
  pool.parallelFor(999, 1000, [&](size_t, size_t b, size_t e) {
    who = std::this_thread::get_id();
    EXPECT_EQ(b, 0u);
    EXPECT_EQ(e, 999u);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(who, std::this_thread::get_id());
  pool.parallelFor(0, 1, [&](size_t, size_t, size_t) { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(ThreadPool, ConcurrentLoopsFromTwoThreadsBothComplete) {
  ThreadPool pool(3);
  std::atomic<long> total{0};
  auto work = [&] {
    for (int rep = 0; rep < 200; ++rep)
      pool.parallelFor(
          300, 10, [&](size_t, size_t b, size_t e) { total += long(e - b); });
  };
  std::thread other(work);
  work();
  other.join();
  EXPECT_EQ(total.load(), 2L * 200 * 300);
}

TEST(ThreadPool, OneThreadMeansNoWorkers) {
  ThreadPool pool(1);
  EXPECT_EQ(pool.size(), 1);
  size_t seen = 0;
  pool.parallelFor(10, 1, [&](size_t c, size_t b, size_t e) {
    EXPECT_EQ(c, 0u);
    seen += e - b;
  });
  EXPECT_EQ(seen, 10u);
  EXPECT_GE(bitttt::rt::onlineCores(), 1);
}

TEST(ThreadPool, DefaultIsOneThreadPerOnlineCore) {
  BITTTT_REQUIRE_TOY_COMPILER();
  bitttt::test::TempDir dir;
  std::string path = bitttt::test::ToyModel::write(dir.file("toy.bitt"));
  bitttt_model *model = nullptr;
  ASSERT_EQ(bitttt_model_load(path.c_str(), nullptr, &model), BITTTT_OK)
      << bitttt_last_error();
  EXPECT_EQ(bitttt_model_n_threads(model), bitttt::rt::onlineCores());
  bitttt_model_free(model);
}
