//===- CheckpointTest.cpp - checkpoint files: format, damage, crashes -----===//
//
// Round trips, every kind of damage a reader must name, kill -9 in the
// middle of writes, a full disk (RLIMIT_FSIZE), and the directory helpers.
// Checkpoint.WriteForPython also feeds python/tests/test_checkpoint_file.py,
// which reads the file with the safetensors package.
//
//===----------------------------------------------------------------------===//
#include "Checkpoint.h"
#include "BittTestUtil.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <random>
#include <thread>

#include <sys/resource.h>
#include <sys/wait.h>

using namespace bitttt;
using bitttt::test::readBytes;
using bitttt::test::TempDir;
using bitttt::test::writeBytes;
using nlohmann::json;

namespace {

/// Tensors with owned data; value k of tensor i is a function of (i, k, gen)
/// so that a reader can tell which write a file comes from.
struct Owned {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

float value(size_t i, size_t k, int64_t gen) {
  return float(gen) + 0.25f * float(k) - float(i);
}

Owned make(size_t i, std::string name, std::vector<int64_t> shape,
           int64_t gen = 0) {
  size_t n = 1;
  for (int64_t d : shape)
    n *= size_t(d);
  Owned t{std::move(name), std::move(shape), std::vector<float>(n)};
  for (size_t k = 0; k < n; ++k)
    t.data[k] = value(i, k, gen);
  return t;
}

std::vector<ckpt::TensorView> views(const std::vector<Owned> &owned) {
  std::vector<ckpt::TensorView> out;
  for (const Owned &t : owned)
    out.push_back({t.name, t.shape, t.data.data()});
  return out;
}

/// The file of Checkpoint.WriteForPython; the pytest knows the same values.
/// Written out of name order: the file keeps the order given.
std::vector<Owned> pythonTensors() {
  return {make(0, "zeta.weight", {3, 4}), make(1, "layers.0.ttt.W0", {2, 2, 3}),
          make(2, "scalar", {}), make(3, "empty", {0}), make(4, "alpha", {5})};
}

json pythonMeta() {
  return {{"step", 7},
          {"rng", {18446744073709551615ull, 1, 2, 0x9e3779b97f4a7c15ull}},
          {"windows_drawn", 4096},
          {"loss", 2.5},
          {"config", {{"lr", 0.001}, {"name", "tiny"}}}};
}

/// `n` tensors of `floats` floats each, for generation `gen`.
std::vector<Owned> bigTensors(size_t n, size_t floats, int64_t gen) {
  std::vector<Owned> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(make(i, "t" + std::to_string(i), {int64_t(floats)}, gen));
  return out;
}

/// Whether `c` holds bigTensors(…, gen) for the gen its meta names.
::testing::AssertionResult consistent(const ckpt::Checkpoint &c) {
  int64_t gen = c.meta.at("gen").get<int64_t>();
  for (size_t i = 0; i < c.tensors.size(); ++i)
    for (size_t k = 0; k < c.tensors[i].data.size(); ++k)
      if (c.tensors[i].data[k] != value(i, k, gen))
        return ::testing::AssertionFailure() << "tensor " << i << " value " << k
                                             << " is not from gen " << gen;
  return ::testing::AssertionSuccess();
}

std::vector<std::string> temporaries(const TempDir &dir) {
  std::vector<std::string> out;
  for (const std::string &name : dir.list())
    if (name.find(".tmp.") != std::string::npos)
      out.push_back(name);
  return out;
}

void expectValid(const std::string &path) {
  ckpt::Checkpoint c;
  ckpt::Status s = ckpt::read(path, c);
  EXPECT_TRUE(s.isOk()) << s.message();
}

/// The read error of `path` (empty when it reads back valid).
std::string readError(const std::string &path) {
  ckpt::Checkpoint c;
  ckpt::Status s = ckpt::read(path, c);
  return s ? std::string() : s.message();
}

/// A file's safetensors header and data section.
struct Parts {
  json header;
  std::string data;
};

Parts split(const std::string &bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | uint8_t(bytes[size_t(i)]);
  return {json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
}

std::string join(const Parts &p) {
  return bitttt::test::safetensors(p.header.dump(), p.data);
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

/// Writes the sample checkpoint to dir/name and returns its bytes.
std::string writeSample(const TempDir &dir, const std::string &name) {
  ckpt::Status s =
      ckpt::write(dir.path(), name, pythonMeta(), views(pythonTensors()));
  EXPECT_TRUE(s.isOk()) << s.message();
  return readBytes(dir.file(name));
}

/// Waits up to `seconds` for `pid`; kills it on timeout. The wait status.
int waitFor(pid_t pid, int seconds) {
  int status = 0;
  for (int i = 0; i < seconds * 100; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  ADD_FAILURE() << "child " << pid << " did not finish in " << seconds << " s";
  return status;
}

} // namespace

TEST(Checkpoint, RoundTrip) {
  TempDir dir;
  std::vector<Owned> tensors = pythonTensors();
  std::string bytes = writeSample(dir, "step-00000007.ckpt");
  ckpt::Checkpoint c;
  ckpt::Status s = ckpt::read(dir.file("step-00000007.ckpt"), c);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(c.meta, pythonMeta());
  EXPECT_EQ(c.meta["rng"][0].get<uint64_t>(), 18446744073709551615ull);
  ASSERT_EQ(c.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(c.tensors[i].name, tensors[i].name) << "the order written";
    EXPECT_EQ(c.tensors[i].shape, tensors[i].shape);
    EXPECT_EQ(c.tensors[i].data, tensors[i].data);
  }
  ASSERT_NE(c.find("scalar"), nullptr);
  EXPECT_EQ(c.find("scalar")->data, std::vector<float>{value(2, 0, 0)});
  EXPECT_EQ(c.find("missing"), nullptr);
  // The data section starts on a 64-byte boundary; the header says F32.
  Parts parts = split(bytes);
  EXPECT_EQ((bytes.size() - parts.data.size()) % 64, 0u);
  EXPECT_EQ(parts.header["alpha"]["dtype"], "F32");
  EXPECT_EQ(parts.header["__metadata__"]["format_version"], "1");
  EXPECT_EQ(parts.header["__metadata__"]["checksum"],
            hex64(XXH3_64bits(parts.data.data(), parts.data.size())));
  EXPECT_EQ(temporaries(dir), std::vector<std::string>{});
}

// With BITTTT_CKPT_OUT=<path>, writes the sample there for the pytest.
TEST(Checkpoint, WriteForPython) {
  TempDir tmp;
  std::string dir = tmp.path(), file = "sample.ckpt";
  if (const char *out = std::getenv("BITTTT_CKPT_OUT")) {
    std::string path = out;
    size_t slash = path.rfind('/');
    dir = slash == std::string::npos ? "." : path.substr(0, slash);
    file = path.substr(slash + 1);
  }
  ckpt::Status s = ckpt::write(dir, file, pythonMeta(), views(pythonTensors()));
  ASSERT_TRUE(s.isOk()) << s.message();
  expectValid(dir + "/" + file);
}

TEST(Checkpoint, WriteCreatesDirectories) {
  TempDir tmp;
  std::string dir = tmp.file("a/b");
  ckpt::Status s = ckpt::write(dir, "x.ckpt", {{"gen", 0}}, {});
  ASSERT_TRUE(s.isOk()) << s.message();
  ckpt::Checkpoint c;
  ASSERT_TRUE(ckpt::read(dir + "/x.ckpt", c).isOk());
  EXPECT_TRUE(c.tensors.empty());
  ::unlink((dir + "/x.ckpt").c_str());
  ::rmdir(dir.c_str());
  ::rmdir(tmp.file("a").c_str());

  // A file where a directory should be: an error naming it.
  writeBytes(tmp.file("f"), "x");
  s = ckpt::write(tmp.file("f/sub"), "x.ckpt", {}, {});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find(tmp.file("f") + ": not a directory"),
            std::string::npos)
      << s.message();
}

TEST(Checkpoint, WriteRejectsBadArguments) {
  TempDir dir;
  std::vector<float> two = {1, 2};
  auto err = [&](const std::string &file,
                 const std::vector<ckpt::TensorView> &t) {
    ckpt::Status s = ckpt::write(dir.path(), file, {}, t);
    EXPECT_EQ(s.code(), format::ErrorCode::InvalidArgument) << file;
    return s.message();
  };
  EXPECT_NE(err("a/b", {}).find("not a plain file name"), std::string::npos);
  EXPECT_NE(err("", {}).find("not a plain file name"), std::string::npos);
  EXPECT_NE(err("x", {{"a", {2}, two.data()}, {"a", {2}, two.data()}})
                .find("tensor 'a': the name appears twice"),
            std::string::npos);
  EXPECT_NE(err("x", {{"a", {-1}, two.data()}}).find("negative dimension"),
            std::string::npos);
  EXPECT_NE(err("x", {{"a", {2}, nullptr}}).find("data is NULL"),
            std::string::npos);
  EXPECT_NE(err("x", {{"__metadata__", {2}, two.data()}}).find("reserved"),
            std::string::npos);
  std::string badUtf8 = "\xff";
  EXPECT_NE(ckpt::write(dir.path(), "x", {{"s", badUtf8}}, {})
                .message()
                .find(dir.file("x")),
            std::string::npos);
  EXPECT_EQ(dir.list(), std::vector<std::string>{}) << "nothing written";
}

// Every truncation length, from inside the length field to the last byte.
TEST(Checkpoint, TruncatedFilesAreNamed) {
  TempDir dir;
  std::string bytes = writeSample(dir, "good.ckpt");
  std::string path = dir.file("cut.ckpt");
  Parts parts = split(bytes);
  for (size_t len = 0; len < bytes.size(); ++len) {
    writeBytes(path, bytes.substr(0, len));
    std::string e = readError(path);
    EXPECT_EQ(e.rfind(path + ": truncated: ", 0), 0u) << len << ": " << e;
  }
  writeBytes(path, bytes.substr(0, bytes.size() - 10));
  EXPECT_EQ(readError(path), path + ": truncated: the header says " +
                                 std::to_string(parts.data.size()) +
                                 " bytes of data, the file has " +
                                 std::to_string(parts.data.size() - 10));
  writeBytes(path, bytes + "x");
  EXPECT_NE(readError(path).find("(trailing bytes)"), std::string::npos);
}

TEST(Checkpoint, FlippedBytesFailTheChecksum) {
  TempDir dir;
  std::string bytes = writeSample(dir, "good.ckpt");
  size_t start = bytes.size() - split(bytes).data.size();
  std::string path = dir.file("flip.ckpt");
  for (size_t i = start; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] ^= 0x10;
    writeBytes(path, b);
    EXPECT_EQ(readError(path).rfind(path + ": checksum mismatch", 0), 0u) << i;
  }
  // The meta lives in the header: it has its own checksum.
  std::string b = bytes;
  size_t at = b.find("4096");
  ASSERT_NE(at, std::string::npos);
  b[at] = '5';
  writeBytes(path, b);
  EXPECT_EQ(readError(path).rfind(path + ": meta checksum mismatch", 0), 0u)
      << readError(path);
}

TEST(Checkpoint, MalformedHeadersAreNamed) {
  TempDir dir;
  std::string bytes = writeSample(dir, "good.ckpt");
  std::string path = dir.file("bad.ckpt");
  auto errorOf = [&](const std::function<void(Parts &)> &edit) {
    Parts p = split(bytes);
    edit(p);
    writeBytes(path, join(p));
    return readError(path);
  };
  auto expectError = [&](const std::function<void(Parts &)> &edit,
                         const std::string &what) {
    std::string e = errorOf(edit);
    EXPECT_EQ(e.rfind(path + ": ", 0), 0u) << e;
    EXPECT_NE(e.find(what), std::string::npos) << e;
  };
  EXPECT_EQ(errorOf([](Parts &) {}), "") << "an unedited copy reads back";
  expectError([](Parts &p) { p.header["alpha"]["dtype"] = "F16"; },
              "tensor 'alpha': dtype 'F16'; checkpoints hold F32 tensors only");
  expectError([](Parts &p) { p.header["alpha"]["shape"] = {6}; },
              "tensor 'alpha': data_offsets");
  expectError(
      [](Parts &p) {
        p.header["alpha"]["data_offsets"] = {0, 20};
      },
      "overlap");
  expectError(
      [](Parts &p) {
        json &o = p.header["alpha"]["data_offsets"];
        o = {o[0].get<uint64_t>() + 4, o[1].get<uint64_t>() + 4};
        p.data += "abcd";
      },
      "leave a hole");
  expectError([](Parts &p) { p.header.erase("__metadata__"); },
              "not a bitttt checkpoint (no __metadata__)");
  expectError([](Parts &p) { p.header["__metadata__"].erase("checksum"); },
              "no __metadata__ field 'checksum'");
  expectError(
      [](Parts &p) {
        std::string bad = "{\"step\":";
        p.header["__metadata__"]["bitttt_checkpoint"] = bad;
        p.header["__metadata__"]["meta_checksum"] =
            hex64(XXH3_64bits(bad.data(), bad.size()));
      },
      "'bitttt_checkpoint' is not valid JSON");
  Parts v2 = split(bytes);
  v2.header["__metadata__"]["format_version"] = "2";
  writeBytes(path, join(v2));
  ckpt::Checkpoint c;
  ckpt::Status s = ckpt::read(path, c);
  EXPECT_EQ(s.code(), format::ErrorCode::Unsupported);
  EXPECT_EQ(s.message(), path + ": checkpoint format_version '2'; this "
                                "runtime reads '1'");

  std::string b = bytes;
  b[8] = 'x'; // the header's opening brace
  writeBytes(path, b);
  EXPECT_EQ(
      readError(path).rfind(path + ": invalid safetensors header JSON", 0), 0u)
      << readError(path);
  EXPECT_EQ(readError(dir.file("missing.ckpt")),
            dir.file("missing.ckpt") + ": cannot open: No such file or "
                                       "directory");
}

// A rename that fails (a directory holds the name) leaves no temporary.
TEST(Checkpoint, FailedRenameLeavesNoTemporary) {
  TempDir dir;
  std::string busy = dir.file("busy.ckpt");
  ASSERT_EQ(::mkdir(busy.c_str(), 0777), 0);
  writeBytes(busy + "/inside", "x");
  ckpt::Status s = ckpt::write(dir.path(), "busy.ckpt", {}, {});
  EXPECT_EQ(s.code(), format::ErrorCode::IO);
  EXPECT_EQ(s.message().rfind(busy + ": cannot rename ", 0), 0u) << s.message();
  EXPECT_EQ(temporaries(dir), std::vector<std::string>{});
  ::unlink((busy + "/inside").c_str());
  ::rmdir(busy.c_str());
}

// RLIMIT_FSIZE makes write() fail with EFBIG, as a full disk does (ENOSPC)
// through the same path.
TEST(Checkpoint, FullDiskKeepsTheOldFile) {
  TempDir dir;
  std::vector<Owned> small = bigTensors(2, 1000, 1);
  ASSERT_TRUE(
      ckpt::write(dir.path(), "model.ckpt", {{"gen", 1}}, views(small)).isOk());
  std::vector<Owned> big = bigTensors(4, 1 << 20, 2); // 16 MiB
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {1 << 20, 1 << 20};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    ckpt::Status s =
        ckpt::write(dir.path(), "model.ckpt", {{"gen", 2}}, views(big));
    std::string msg = s ? "ok" : s.message();
    (void)!::write(fds[1], msg.data(), msg.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    msg.append(buf, size_t(n));
  ::close(fds[0]);
  waitFor(pid, 60);
  std::string path = dir.file("model.ckpt");
  EXPECT_EQ(msg.rfind(path + ": cannot write ", 0), 0u) << msg;
  EXPECT_NE(msg.find(std::strerror(EFBIG)), std::string::npos) << msg;
  ckpt::Checkpoint c;
  ckpt::Status s = ckpt::read(path, c);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(c.meta["gen"], 1);
  EXPECT_TRUE(consistent(c));
  EXPECT_EQ(temporaries(dir), std::vector<std::string>{});
}

// SIGKILL at random moments of a writer that rewrites one file and adds and
// prunes step files: every file there stays valid and whole; temporaries
// left behind are not listed, and the next write removes them.
TEST(Checkpoint, KillDuringWritesKeepsEveryFileValid) {
  TempDir dir;
  const size_t floats = 256 << 10; // 2 tensors of 1 MiB
  ASSERT_TRUE(ckpt::write(dir.path(), "same.ckpt", {{"gen", 0}},
                          views(bigTensors(2, floats, 0)))
                  .isOk());
  // Kill moments span a few of the child's write rounds, timed here: a
  // sanitizer build writes several times slower than a release build.
  auto round = [&](const std::string &where, int64_t gen) {
    auto t = bigTensors(2, floats, gen);
    (void)ckpt::write(where, "same.ckpt", {{"gen", gen}}, views(t));
    (void)ckpt::write(where, ckpt::stepFileName(gen), {{"gen", gen}}, views(t));
    (void)ckpt::prune(where, 3);
  };
  TempDir scratch;
  auto start = std::chrono::steady_clock::now();
  round(scratch.path(), 1);
  int64_t roundUs = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  const int64_t maxDelayUs = std::max<int64_t>(30000, 3 * roundUs);
  std::mt19937 rng(20240601);
  int64_t lastGen = 0, nextStep = 1;
  int trials = 24, killedMidWrite = 0;
  for (int trial = 0; trial < trials; ++trial) {
    int64_t first = nextStep;
    // Temporaries of earlier trials' writers (a later write removes them).
    const std::vector<std::string> before = temporaries(dir);
    auto newTemporary = [&] {
      for (const std::string &name : temporaries(dir))
        if (std::find(before.begin(), before.end(), name) == before.end())
          return true;
      return false;
    };
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int64_t i = 0; i < 1000; ++i)
        round(dir.path(), first + i);
      ::_exit(0);
    }
    int delayUs = int(rng() % uint64_t(maxDelayUs + 1));
    if (trial % 2) {
      // Every other trial kills as soon as a write has begun (a temporary
      // is there), or after `delayUs` at the latest.
      auto until =
          std::chrono::steady_clock::now() + std::chrono::microseconds(delayUs);
      while (!newTemporary() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(delayUs));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    SCOPED_TRACE("trial " + std::to_string(trial) + ", killed after " +
                 std::to_string(delayUs) + " us");
    killedMidWrite += newTemporary();

    ckpt::Checkpoint c;
    ckpt::Status s = ckpt::read(dir.file("same.ckpt"), c);
    ASSERT_TRUE(s.isOk()) << s.message();
    EXPECT_TRUE(consistent(c));
    int64_t gen = c.meta["gen"].get<int64_t>();
    EXPECT_GE(gen, lastGen) << "an older file came back";
    lastGen = gen;
    auto files = ckpt::list(dir.path());
    EXPECT_LE(files.size(), 4u) << "prune keeps 3, plus one being written";
    for (const auto &[step, path] : files) {
      ckpt::Checkpoint f;
      ckpt::Status r = ckpt::read(path, f);
      ASSERT_TRUE(r.isOk()) << r.message();
      EXPECT_EQ(f.meta["gen"], step);
      EXPECT_TRUE(consistent(f));
      nextStep = std::max(nextStep, step + 1);
    }
    std::string latest;
    ASSERT_TRUE(ckpt::latestValid(dir.path(), latest, c, {}).isOk() ||
                files.empty());
  }
  EXPECT_GT(killedMidWrite, 0) << "no kill landed inside a write";
  // The next successful write removes the dead writers' temporaries.
  ASSERT_TRUE(ckpt::write(dir.path(), "same.ckpt", {{"gen", lastGen}},
                          views(bigTensors(2, 16, lastGen)))
                  .isOk());
  EXPECT_EQ(temporaries(dir), std::vector<std::string>{});
}

TEST(Checkpoint, StaleTemporariesOfDeadWritersAreRemoved) {
  TempDir dir;
  pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0)
    ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  std::string deadTmp = ".step-00000001.ckpt.tmp." + std::to_string(dead);
  std::string liveTmp = ".step-00000002.ckpt.tmp." + std::to_string(getppid());
  std::string ownTmp = ".other.ckpt.tmp." + std::to_string(getpid());
  std::string foreign = ".notes.txt.tmp." + std::to_string(dead);
  for (const std::string &name : {deadTmp, liveTmp, ownTmp, foreign})
    writeBytes(dir.file(name), "partial");
  EXPECT_TRUE(ckpt::list(dir.path()).empty());
  ASSERT_TRUE(ckpt::write(dir.path(), "step-00000003.ckpt", {}, {}).isOk());
  std::vector<std::string> left = dir.list();
  EXPECT_EQ(left, (std::vector<std::string>{foreign, ownTmp, liveTmp,
                                            "step-00000003.ckpt"}));
}

TEST(Checkpoint, ListAndPrune) {
  TempDir dir;
  for (int64_t step : {3, 100000000, 1, 20})
    ASSERT_TRUE(
        ckpt::write(dir.path(), ckpt::stepFileName(step), {{"gen", step}}, {})
            .isOk());
  EXPECT_EQ(ckpt::stepFileName(42), "step-00000042.ckpt");
  for (const char *other : {"best.ckpt", "step-1.ckpt", "step-000000001.ckpt",
                            "step-00000001.ckpt.bak", "step-0000000a.ckpt",
                            ".step-00000005.ckpt.tmp.1"})
    writeBytes(dir.file(other), "x");
  ASSERT_EQ(::mkdir(dir.file("step-00000009.ckpt").c_str(), 0777), 0);
  std::vector<std::pair<int64_t, std::string>> expected = {
      {1, dir.file("step-00000001.ckpt")},
      {3, dir.file("step-00000003.ckpt")},
      {20, dir.file("step-00000020.ckpt")},
      {100000000, dir.file("step-100000000.ckpt")}};
  EXPECT_EQ(ckpt::list(dir.path()), expected);
  EXPECT_TRUE(ckpt::list(dir.file("nowhere")).empty());

  ASSERT_TRUE(ckpt::prune(dir.path(), 2).isOk());
  expected.erase(expected.begin(), expected.begin() + 2);
  EXPECT_EQ(ckpt::list(dir.path()), expected);
  ASSERT_TRUE(ckpt::prune(dir.path(), 5).isOk());
  EXPECT_EQ(ckpt::list(dir.path()), expected);
  EXPECT_EQ(ckpt::prune(dir.path(), 0).code(),
            format::ErrorCode::InvalidArgument);
  for (const char *other : {"best.ckpt", "step-1.ckpt", "step-000000001.ckpt"})
    EXPECT_EQ(readBytes(dir.file(other)), "x") << other << " was touched";
  ::rmdir(dir.file("step-00000009.ckpt").c_str());
}

TEST(Checkpoint, MarkBest) {
  TempDir dir;
  auto writeGen = [&](int64_t step, int64_t gen) {
    ASSERT_TRUE(ckpt::write(dir.path(), ckpt::stepFileName(step),
                            {{"gen", gen}}, views(bigTensors(2, 100, gen)))
                    .isOk());
  };
  writeGen(1, 1);
  writeGen(2, 2);
  ASSERT_TRUE(ckpt::markBest(dir.path(), ckpt::stepFileName(1)).isOk());
  ASSERT_TRUE(ckpt::markBest(dir.path(), ckpt::stepFileName(2)).isOk());
  std::string best = dir.file("best.ckpt");
  EXPECT_EQ(readBytes(best), readBytes(dir.file("step-00000002.ckpt")));
  // Rewriting or pruning the step file leaves best.ckpt as it was.
  writeGen(2, 5);
  writeGen(3, 3);
  ASSERT_TRUE(ckpt::prune(dir.path(), 1).isOk());
  ckpt::Checkpoint c;
  ckpt::Status s = ckpt::read(best, c);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(c.meta["gen"], 2);
  EXPECT_TRUE(consistent(c));
  EXPECT_EQ(dir.list(),
            (std::vector<std::string>{"best.ckpt", "step-00000003.ckpt"}));
  // A missing source: an error naming it, best.ckpt unchanged.
  s = ckpt::markBest(dir.path(), "step-00000009.ckpt");
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message().rfind(dir.file("step-00000009.ckpt") + ": ", 0), 0u)
      << s.message();
  EXPECT_EQ(dir.list(),
            (std::vector<std::string>{"best.ckpt", "step-00000003.ckpt"}));
  ASSERT_TRUE(ckpt::markBest(dir.path(), "best.ckpt").isOk());
  expectValid(best);
}

TEST(Checkpoint, LatestValidSkipsDamagedFiles) {
  TempDir dir;
  std::vector<std::string> warnings;
  auto warn = [&](const std::string &w) { warnings.push_back(w); };
  std::string path;
  ckpt::Checkpoint c;
  ckpt::Status s = ckpt::latestValid(dir.path(), path, c, warn);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("no checkpoint"), std::string::npos);

  for (int64_t step : {1, 2, 3})
    ASSERT_TRUE(ckpt::write(dir.path(), ckpt::stepFileName(step),
                            {{"gen", step}}, views(bigTensors(1, 64, step)))
                    .isOk());
  ASSERT_TRUE(ckpt::markBest(dir.path(), ckpt::stepFileName(3)).isOk());
  s = ckpt::latestValid(dir.path(), path, c, warn);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(path, dir.file("step-00000003.ckpt"));
  EXPECT_TRUE(warnings.empty());

  std::string third = readBytes(dir.file("step-00000003.ckpt"));
  third[third.size() - 1] ^= 1;
  writeBytes(dir.file("step-00000003.ckpt"), third);
  s = ckpt::latestValid(dir.path(), path, c, warn);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(path, dir.file("step-00000002.ckpt"));
  EXPECT_EQ(c.meta["gen"], 2);
  EXPECT_TRUE(consistent(c));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "skipping checkpoint " + readError(dir.file("step-00000003.ckpt")));

  for (const char *name : {"step-00000002.ckpt", "step-00000001.ckpt"}) {
    std::string b = readBytes(dir.file(name));
    writeBytes(dir.file(name), b.substr(0, b.size() / 2));
  }
  warnings.clear();
  s = ckpt::latestValid(dir.path(), path, c, warn);
  EXPECT_EQ(s.code(), format::ErrorCode::Format);
  EXPECT_NE(s.message().find("none of the 3 checkpoints reads back valid"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(warnings.size(), 3u);
  EXPECT_EQ(c.meta["gen"], 2) << "out is set only on success";
}
