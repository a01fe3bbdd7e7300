//===- BitttRunToolTest.cpp - bitttt-run generate / inspect on the toy ----===//
//
// Runs the built tool (BITTTT_RUN_PATH) as a subprocess and checks stdout,
// stderr and the exit status.
//
//===----------------------------------------------------------------------===//
#include "ToyModel.h"

#include <sys/wait.h>

using bitttt::test::readBytes;
using bitttt::test::TempDir;
using bitttt::test::ToyModel;
using bitttt::test::ToyReference;
using bitttt::test::ToyShape;

namespace {

struct Result {
  int status = -1;
  std::string out, err;
};

class BitttRun : public ::testing::Test {
protected:
  void SetUp() override { BITTTT_REQUIRE_TOY_COMPILER(); }

  /// Runs `bitttt-run <args>` (args are shell words, already quoted).
  Result run(const std::string &args) {
    std::string out = dir.file("stdout"), err = dir.file("stderr");
    std::string command =
        std::string(BITTTT_RUN_PATH) + " " + args + " >" + out + " 2>" + err;
    int raw = std::system(command.c_str());
    Result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = readBytes(out);
    r.err = readBytes(err);
    return r;
  }

  std::string model() { return ToyModel::write(dir.file("toy.bitt")); }

  TempDir dir;
};

/// The greedy continuation of `prompt` on the toy model: n ids.
std::string expectedIds(const std::vector<int32_t> &prompt, int n) {
  ToyReference ref{ToyShape()};
  for (int32_t id : prompt)
    ref.feed(id);
  std::string out;
  for (int i = 0; i < n; ++i) {
    int32_t next = ref.argmax();
    out += (i ? " " : "") + std::to_string(next);
    ref.feed(next);
  }
  return out + "\n";
}

} // namespace

TEST_F(BitttRun, GenerateGreedily) {
  std::string path = model();
  Result r =
      run("generate " + path + " --ids 1,2,3,4,5,6 -n 12 --threads 2 --temp 0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, expectedIds({1, 2, 3, 4, 5, 6}, 12));
  EXPECT_NE(r.err.find("prefill: 6 tokens in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("decode: 11 tokens in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 threads"), std::string::npos) << r.err;

  r = run("generate " + path +
          " --ids=7 --n-predict=3 --target x86-64-v3 --temp=0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, expectedIds({7}, 3));
  EXPECT_NE(r.err.find("[x86-64-v3, "), std::string::npos) << r.err;

  r = run("generate " + path + " --ids 7 -n 0 --temp 0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(BitttRun, GenerateErrorsExitWithOne) {
  std::string path = model();
  struct Case {
    std::string args, message;
  } cases[] = {
      {"generate " + path + " --ids 1,40",
       "token id 40 at position 1 is outside the vocabulary [0, 40)"},
      {"generate " + path + " --ids 1,x", "--ids: 'x' is not a token id"},
      {"generate " + path, "give a prompt (-p TEXT or -f FILE) or --ids"},
      {"generate " + path + " --ids 1 -n -3",
       "--n-predict: Value -3 not in range"},
      {"generate " + path + " --ids 1 --threads", "--threads: 1 required"},
      {"generate " + path + " --ids 1 --bogus",
       "argument was not expected: --bogus"},
      {"generate " + path + " --ids 1 --target x86-64-v9",
       "params.target 'x86-64-v9' is not a CPU target"},
      {"generate " + dir.file("absent.bitt") + " --ids 1",
       "File does not exist: " + dir.file("absent.bitt")},
      {"generate --ids 1", "MODEL is required"},
      {"generate " + path + " -p hello", "the model has no tokenizer"},
      {"frobnicate", "unknown command 'frobnicate'"},
      {"", "no command given"},
  };
  for (const Case &c : cases) {
    Result r = run(c.args);
    EXPECT_EQ(r.status, 1) << c.args;
    EXPECT_NE(r.err.find("bitttt-run: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << c.args << "\nstderr: " << r.err;
  }
}

TEST_F(BitttRun, HelpExplainsEachOption) {
  Result r = run("--help");
  EXPECT_EQ(r.status, 0);
  for (const char *command :
       {"generate", "chat", "eval", "data", "tokenizer", "inspect"})
    EXPECT_NE(r.out.find(std::string("  ") + command + " "), std::string::npos)
        << command << r.out;
  r = run("generate --help");
  EXPECT_EQ(r.status, 0);
  for (const char *option :
       {"Usage: bitttt-run generate [OPTIONS] MODEL", "--ids TEXT",
        "-n,--n-predict", "-t,--threads", "--target", "-h,--help", "--temp",
        "greedy", "--top-k", "--top-p", "--min-p", "--repeat-penalty",
        "-s,--seed", "--stop"})
    EXPECT_NE(r.out.find(option), std::string::npos) << option << r.out;
  r = run("inspect -h");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("Usage: bitttt-run inspect"), std::string::npos)
      << r.out;
}

TEST_F(BitttRun, InspectSummarisesTheHeader) {
  std::string path = model();
  Result r = run("inspect " + path);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char *line :
       {"(.bitt v2)", "config: {\"arch\":\"bitttt\",\"vocab_size\":40}",
        "tokenizer: none",
        "  decode: symbol bitttt_entry_decode, tokens 1, inputs 8 (1 io, 1 "
        "tensor, 6 state), outputs 7 (1 io, 0 tensor, 6 state)",
        "  prefill: symbol bitttt_entry_prefill, tokens 4", "state: 6 values",
        "  toy.sum: init toy.sum0", "  toy.sig: init zeros, valid [0, 10)",
        "  x86-64-v3: elf-so, ", "(tensor __artifact__.x86-64-v3)",
        "  x86-64-v4: elf-so, ", "tensors: 5, "})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;

  r = run("inspect " + dir.file("absent.bitt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("absent.bitt: cannot open"), std::string::npos);
  r = run("inspect");
  EXPECT_EQ(r.status, 1);
}
