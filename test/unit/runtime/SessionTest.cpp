//===- SessionTest.cpp - sessions: chunking, state, logits, argmax --------===//
#include "ToyModel.h"

#include <algorithm>
#include <numeric>
#include <thread>

using bitttt::test::expectLastError;
using bitttt::test::TempDir;
using bitttt::test::ToyFile;
using bitttt::test::ToyModel;
using bitttt::test::ToyReference;
using bitttt::test::ToyShape;

namespace {

class Session : public ::testing::Test {
protected:
  void SetUp() override { BITTTT_REQUIRE_TOY_COMPILER(); }
  void TearDown() override {
    for (bitttt_session *s : sessions)
      bitttt_session_free(s);
    bitttt_model_free(model);
  }

  /// Loads the toy model of `shape` (optionally edited) with `threads`.
  void loadToy(ToyShape shape = {}, int threads = 0,
               const std::function<void(ToyFile &)> &edit = nullptr) {
    this->shape = shape;
    ToyFile f = ToyModel::make(shape);
    if (edit)
      edit(f);
    std::string path = dir.file("toy.bitt");
    f.write(path);
    bitttt_model_params params = bitttt_model_default_params();
    params.n_threads = threads;
    ASSERT_EQ(bitttt_model_load(path.c_str(), &params, &model), BITTTT_OK)
        << bitttt_last_error();
  }

  bitttt_session *newSession() {
    bitttt_session *s = nullptr;
    EXPECT_EQ(bitttt_session_create(model, &s), BITTTT_OK)
        << bitttt_last_error();
    sessions.push_back(s);
    return s;
  }

  static int64_t scalar(const bitttt_session *s, const char *name) {
    int64_t v = -1;
    EXPECT_EQ(bitttt_session_state_get(s, name, &v, "I64", 0, nullptr),
              BITTTT_OK)
        << bitttt_last_error();
    return v;
  }

  /// [prefill calls, decode calls].
  static std::vector<int64_t> calls(const bitttt_session *s) {
    std::vector<int64_t> v(2, -1);
    const int64_t shape[1] = {2};
    EXPECT_EQ(
        bitttt_session_state_get(s, "toy.calls", v.data(), "I64", 1, shape),
        BITTTT_OK)
        << bitttt_last_error();
    return v;
  }

  std::vector<float> big(const bitttt_session *s) {
    std::vector<float> v(size_t(shape.big));
    const int64_t dims[1] = {shape.big};
    EXPECT_EQ(bitttt_session_state_get(s, "toy.big", v.data(), "F32", 1, dims),
              BITTTT_OK)
        << bitttt_last_error();
    return v;
  }

  /// Expects the session's last logits to equal the reference's.
  void expectLogits(const bitttt_session *s, const ToyReference &ref) {
    const float *logits = nullptr;
    size_t vocab = 0;
    ASSERT_EQ(bitttt_session_logits(s, &logits, &vocab), BITTTT_OK)
        << bitttt_last_error();
    ASSERT_EQ(vocab, size_t(shape.vocab));
    std::vector<float> expected = ref.logits();
    EXPECT_EQ(std::vector<float>(logits, logits + vocab), expected);
    EXPECT_EQ(bitttt_session_n_past(s), size_t(ref.pos));
    EXPECT_EQ(scalar(s, "toy.pos"), ref.pos);
    EXPECT_EQ(scalar(s, "toy.sum"), ref.sum);
  }

  static std::vector<int32_t> ids(size_t n, int32_t first = 1) {
    std::vector<int32_t> v(n);
    for (size_t i = 0; i < n; ++i)
      v[i] = int32_t((first + 3 * int32_t(i)) % 40);
    return v;
  }

  TempDir dir;
  ToyShape shape;
  bitttt_model *model = nullptr;
  std::vector<bitttt_session *> sessions;
};

} // namespace

TEST_F(Session, PrefillRunsWholeChunksThenDecodesTheRest) {
  loadToy();
  bitttt_session *s = newSession();
  std::vector<int32_t> prompt = ids(10); // 2.5 chunks of 4
  ASSERT_EQ(bitttt_session_prefill(s, prompt.data(), prompt.size()), BITTTT_OK)
      << bitttt_last_error();
  EXPECT_EQ(calls(s), (std::vector<int64_t>{2, 2}));
  ToyReference ref(shape);
  for (int32_t id : prompt)
    ref.feed(id);
  expectLogits(s, ref);

  // Shorter than one chunk: decode only; an exact multiple: prefill only.
  bitttt_session *t = newSession();
  ASSERT_EQ(bitttt_session_prefill(t, prompt.data(), 3), BITTTT_OK);
  EXPECT_EQ(calls(t), (std::vector<int64_t>{0, 3}));
  ASSERT_EQ(bitttt_session_reset(t), BITTTT_OK);
  ASSERT_EQ(bitttt_session_prefill(t, prompt.data(), 8), BITTTT_OK);
  EXPECT_EQ(calls(t), (std::vector<int64_t>{2, 0}));
  ToyReference ref8(shape);
  for (size_t i = 0; i < 8; ++i)
    ref8.feed(prompt[i]);
  expectLogits(t, ref8); // row T-1 of the last prefill chunk
  EXPECT_EQ(bitttt_session_prefill(t, nullptr, 0), BITTTT_OK);
  EXPECT_EQ(bitttt_session_n_past(t), 8u);
}

TEST_F(Session, StateThreadsAcrossCalls) {
  loadToy();
  bitttt_session *s = newSession();
  ToyReference ref(shape);
  std::vector<float> big0 = big(s);
  std::vector<int32_t> prompt = ids(5, 7);
  ASSERT_EQ(bitttt_session_prefill(s, prompt.data(), 5), BITTTT_OK);
  for (int32_t id : prompt)
    ref.feed(id);
  for (int32_t id : {3, 39, 0}) {
    ASSERT_EQ(bitttt_session_decode(s, id), BITTTT_OK);
    ref.feed(id);
    expectLogits(s, ref);
  }
  ASSERT_EQ(bitttt_session_prefill(s, prompt.data(), 4), BITTTT_OK);
  for (size_t i = 0; i < 4; ++i)
    ref.feed(prompt[i]);
  expectLogits(s, ref);
  EXPECT_EQ(calls(s), (std::vector<int64_t>{2, 4}));
  // Every call adds 1 to each element of toy.big: 6 calls.
  std::vector<float> now = big(s);
  for (size_t i = 0; i < now.size(); ++i)
    EXPECT_EQ(now[i], big0[i] + 6.0f) << i;
}

TEST_F(Session, PrefillThenDecodeEqualsDecodeThroughout) {
  loadToy();
  bitttt_session *a = newSession(), *b = newSession();
  std::vector<int32_t> prompt = ids(13, 5);
  ASSERT_EQ(bitttt_session_prefill(a, prompt.data(), prompt.size()), BITTTT_OK);
  for (int32_t id : prompt)
    ASSERT_EQ(bitttt_session_decode(b, id), BITTTT_OK);
  const float *la, *lb;
  size_t v;
  ASSERT_EQ(bitttt_session_logits(a, &la, &v), BITTTT_OK);
  ASSERT_EQ(bitttt_session_logits(b, &lb, &v), BITTTT_OK);
  EXPECT_EQ(std::vector<float>(la, la + v), std::vector<float>(lb, lb + v));
  EXPECT_EQ(scalar(a, "toy.sum"), scalar(b, "toy.sum"));
  EXPECT_EQ(calls(a), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(calls(b), (std::vector<int64_t>{0, 13}));
}

TEST_F(Session, ResetRestoresFreshState) {
  loadToy();
  bitttt_session *s = newSession();
  std::vector<float> big0 = big(s);
  std::vector<int32_t> prompt = ids(6);
  ASSERT_EQ(bitttt_session_prefill(s, prompt.data(), 6), BITTTT_OK);
  ASSERT_EQ(bitttt_session_reset(s), BITTTT_OK);
  EXPECT_EQ(bitttt_session_n_past(s), 0u);
  const float *logits = nullptr;
  EXPECT_EQ(bitttt_session_logits(s, &logits, nullptr),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"no token has been fed yet"});
  EXPECT_EQ(scalar(s, "toy.sum"), 5); // init tensor toy.sum0
  EXPECT_EQ(scalar(s, "toy.pos"), 0);
  EXPECT_EQ(calls(s), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(big(s), big0);
  ASSERT_EQ(bitttt_session_decode(s, 9), BITTTT_OK);
  ToyReference ref(shape);
  ref.feed(9);
  expectLogits(s, ref);
}

TEST_F(Session, SessionsAreIndependent) {
  loadToy();
  bitttt_session *a = newSession(), *b = newSession();
  ToyReference ra(shape), rb(shape);
  std::vector<int32_t> pa = ids(9, 2), pb = ids(4, 11);
  ASSERT_EQ(bitttt_session_prefill(a, pa.data(), 5), BITTTT_OK);
  ASSERT_EQ(bitttt_session_prefill(b, pb.data(), 4), BITTTT_OK);
  ASSERT_EQ(bitttt_session_prefill(a, pa.data() + 5, 4), BITTTT_OK);
  ASSERT_EQ(bitttt_session_decode(b, 17), BITTTT_OK);
  for (int32_t id : pa)
    ra.feed(id);
  for (int32_t id : pb)
    rb.feed(id);
  rb.feed(17);
  expectLogits(a, ra);
  expectLogits(b, rb);
  bitttt_session_free(a);
  sessions.erase(sessions.begin());
  ASSERT_EQ(bitttt_session_decode(b, 1), BITTTT_OK);
  rb.feed(1);
  expectLogits(b, rb);
}

TEST_F(Session, ArgmaxIsTheGreedyChoice) {
  loadToy();
  bitttt_session *s = newSession();
  int32_t id = -1;
  EXPECT_EQ(bitttt_session_argmax(s, &id), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"bitttt_session_argmax: no token has been fed yet"});
  ToyReference ref(shape);
  int32_t next = 4;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(bitttt_session_decode(s, next), BITTTT_OK);
    ref.feed(next);
    ASSERT_EQ(bitttt_session_argmax(s, &next), BITTTT_OK);
    EXPECT_EQ(next, ref.argmax()) << "step " << i;
  }
}

TEST_F(Session, ArgmaxTakesTheLowestIndexOnTies) {
  // vocab 26: 13·v mod 26 is 0 or 13 and the bias repeats every 7, so v and
  // v+14 get exactly equal logits; the first of them must win.
  ToyShape tied;
  tied.vocab = 26;
  loadToy(tied);
  bitttt_session *s = newSession();
  ToyReference ref(shape);
  int ties = 0;
  for (int32_t id : {1, 2, 3, 4, 5, 6}) {
    ASSERT_EQ(bitttt_session_decode(s, id), BITTTT_OK);
    ref.feed(id);
    int32_t best;
    ASSERT_EQ(bitttt_session_argmax(s, &best), BITTTT_OK);
    std::vector<float> l = ref.logits();
    float top = *std::max_element(l.begin(), l.end());
    std::vector<int32_t> maxima;
    for (size_t v = 0; v < l.size(); ++v)
      if (l[v] == top)
        maxima.push_back(int32_t(v));
    EXPECT_EQ(best, maxima.front());
    ties += maxima.size() > 1;
  }
  EXPECT_GT(ties, 0) << "the toy vocabulary produced no tie";
}

TEST_F(Session, ParallelArgmaxOverALargeVocabulary) {
  ToyShape large;
  large.vocab = 200003; // several argmax chunks, uneven split
  loadToy(large, 4);
  bitttt_session *s = newSession();
  ToyReference ref(shape);
  for (int32_t id : {100000, 7, 200002, 12345}) {
    ASSERT_EQ(bitttt_session_decode(s, id), BITTTT_OK);
    ref.feed(id);
    int32_t best;
    ASSERT_EQ(bitttt_session_argmax(s, &best), BITTTT_OK);
    EXPECT_EQ(best, ref.argmax());
  }
}

TEST_F(Session, LargeStateIsInitialisedAndCopiedByThePool) {
  ToyShape wide;
  wide.big = 300001; // 1.2 MB: several copy chunks
  loadToy(wide, 4);
  bitttt_session *s = newSession();
  std::vector<float> v = big(s);
  for (size_t i = 0; i < v.size(); ++i)
    ASSERT_EQ(v[i], float(i) * 0.5f) << i;
  ASSERT_EQ(bitttt_session_decode(s, 1), BITTTT_OK);
  v = big(s);
  for (size_t i = 0; i < v.size(); ++i)
    ASSERT_EQ(v[i], float(i) * 0.5f + 1.0f) << i;
  std::vector<float> mine(v.size(), 2.5f);
  const int64_t dims[1] = {wide.big};
  ASSERT_EQ(bitttt_session_state_set(s, "toy.big", mine.data(), "F32", 1, dims),
            BITTTT_OK);
  EXPECT_EQ(big(s), mine);
}

TEST_F(Session, BadIdsAreRejectedBeforeAnythingRuns) {
  loadToy();
  bitttt_session *s = newSession();
  std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 40, 6};
  EXPECT_EQ(bitttt_session_prefill(s, prompt.data(), prompt.size()),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"bitttt_session_prefill: token id 40 at position 5 is "
                   "outside the vocabulary [0, 40)"});
  EXPECT_EQ(bitttt_session_n_past(s), 0u);
  EXPECT_EQ(calls(s), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(bitttt_session_decode(s, -1), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"bitttt_session_decode: token id -1 at position 0"});
  EXPECT_EQ(bitttt_session_prefill(s, nullptr, 3), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"bitttt_session_prefill: ids is NULL"});
  EXPECT_EQ(bitttt_session_decode(nullptr, 1), BITTTT_ERR_INVALID_ARGUMENT);
  bitttt_session *none = reinterpret_cast<bitttt_session *>(1);
  EXPECT_EQ(bitttt_session_create(nullptr, &none), BITTTT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(none, nullptr);
  EXPECT_EQ(bitttt_session_n_past(nullptr), 0u);
}

TEST_F(Session, StateGetAndSetAreShapeChecked) {
  loadToy();
  bitttt_session *s = newSession();
  int64_t sum = 100;
  ASSERT_EQ(bitttt_session_state_set(s, "toy.sum", &sum, "I64", 0, nullptr),
            BITTTT_OK);
  ASSERT_EQ(bitttt_session_decode(s, 2), BITTTT_OK);
  ToyReference ref(shape);
  ref.sum = 100;
  ref.feed(2);
  expectLogits(s, ref);

  int64_t out[3];
  const int64_t three[1] = {3};
  EXPECT_EQ(bitttt_session_state_get(s, "toy.calls", out, "I64", 1, three),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"state 'toy.calls' is I64 [2], got I64 [3]"});
  EXPECT_EQ(bitttt_session_state_get(s, "toy.sum", out, "F64", 0, nullptr),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"state 'toy.sum' is I64 [], got F64 []"});
  EXPECT_EQ(bitttt_session_state_set(s, "toy.nope", out, "I64", 0, nullptr),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"bitttt_session_state_set: the model has no state "
                   "'toy.nope'"});
  EXPECT_EQ(bitttt_session_state_get(s, "toy.calls", out, "I64", 1, nullptr),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"shape is NULL"});
}

TEST_F(Session, ModelWithoutPrefillDecodesEverything) {
  loadToy({}, 1,
          [](ToyFile &f) { f.header["bitttt"]["functions"].erase("prefill"); });
  EXPECT_EQ(bitttt_model_prefill_tokens(model), 0u);
  EXPECT_EQ(bitttt_model_n_threads(model), 1);
  bitttt_session *s = newSession();
  std::vector<int32_t> prompt = ids(9);
  ASSERT_EQ(bitttt_session_prefill(s, prompt.data(), 9), BITTTT_OK);
  EXPECT_EQ(calls(s), (std::vector<int64_t>{0, 9}));
  ToyReference ref(shape);
  for (int32_t id : prompt)
    ref.feed(id);
  expectLogits(s, ref);
}

TEST_F(Session, SessionsOnDifferentThreadsShareTheModel) {
  ToyShape large;
  large.vocab = 100000; // argmax uses the pool: both threads compete for it
  loadToy(large, 2);
  auto work = [&](bitttt_session *s, int32_t seed, bool &ok) {
    ToyReference ref(shape);
    int32_t next = seed;
    ok = true;
    for (int i = 0; i < 30 && ok; ++i) {
      ok = bitttt_session_decode(s, next) == BITTTT_OK;
      ref.feed(next);
      ok = ok && bitttt_session_argmax(s, &next) == BITTTT_OK &&
           next == ref.argmax();
    }
  };
  bitttt_session *a = newSession(), *b = newSession();
  bool okA = false, okB = false;
  std::thread other(work, b, 99, std::ref(okB));
  work(a, 5, okA);
  other.join();
  EXPECT_TRUE(okA);
  EXPECT_TRUE(okB);
}

// The artifact's parallel loops run on the model's pool through the exec
// the runtime hands every call, so n_threads holds for a session created and
// used on any thread (with libomp, a thread other than the loader's got
// OpenMP's default instead). The toy cuts its loop over toy.big into the
// parts parallel_for gives it and counts them.
TEST_F(Session, CompiledLoopsUseNThreadsFromAnyThread) {
  ToyShape shape;
  shape.big = 64;
  for (int threads : {1, 2, 3}) {
    loadToy(shape, threads);
    int64_t chunks = -1;
    std::vector<float> big(64);
    std::thread other([&] {
      bitttt_session *s = nullptr;
      ASSERT_EQ(bitttt_session_create(model, &s), BITTTT_OK);
      ASSERT_EQ(bitttt_session_decode(s, 3), BITTTT_OK);
      chunks = scalar(s, "toy.chunks");
      const int64_t dims[1] = {64};
      ASSERT_EQ(
          bitttt_session_state_get(s, "toy.big", big.data(), "F32", 1, dims),
          BITTTT_OK);
      bitttt_session_free(s);
    });
    other.join();
    EXPECT_EQ(chunks, threads) << threads << " threads";
    for (int i = 0; i < 64; ++i) // toy.big0[i] = i / 2, + 1 per call
      ASSERT_EQ(big[size_t(i)], float(i) * 0.5f + 1.0f) << i;
    bitttt_model_free(model);
    model = nullptr;
  }
}

// A state's valid range comes from the artifact's ABI description (the toy
// declares toy.sig in [0, 10)); state_set refuses values outside it and
// leaves the state as it was.
TEST_F(Session, StateSetChecksTheRangeFromTheArtifact) {
  loadToy();
  size_t sig = bitttt_model_state_count(model), pos = sig;
  for (size_t i = 0; i < bitttt_model_state_count(model); ++i) {
    bitttt_tensor_info info;
    ASSERT_EQ(bitttt_model_state_info(model, i, &info), BITTTT_OK);
    if (std::string(info.name) == "toy.sig")
      sig = i;
    if (std::string(info.name) == "toy.pos")
      pos = i;
  }
  int64_t lo = -1, hi = -1;
  ASSERT_EQ(bitttt_model_state_range(model, sig, &lo, &hi), BITTTT_OK);
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 10);
  EXPECT_EQ(bitttt_model_state_range(model, pos, &lo, &hi),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"state 'toy.pos' has no range"});

  bitttt_session *s = newSession();
  int64_t v = 9;
  ASSERT_EQ(bitttt_session_state_set(s, "toy.sig", &v, "I64", 0, nullptr),
            BITTTT_OK);
  for (int64_t bad : {int64_t(10), int64_t(-1), int64_t(1) << 40}) {
    EXPECT_EQ(bitttt_session_state_set(s, "toy.sig", &bad, "I64", 0, nullptr),
              BITTTT_ERR_INVALID_ARGUMENT);
    expectLastError({"bitttt_session_state_set: state 'toy.sig' value " +
                         std::to_string(bad) +
                         " is outside its valid range [0, 10)",
                     "nothing was set"});
    EXPECT_EQ(scalar(s, "toy.sig"), 9);
  }
  int64_t big = int64_t(1) << 40; // toy.pos has no range: anything goes
  EXPECT_EQ(bitttt_session_state_set(s, "toy.pos", &big, "I64", 0, nullptr),
            BITTTT_OK);
}
