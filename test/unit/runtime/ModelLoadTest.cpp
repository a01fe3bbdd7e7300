//===- ModelLoadTest.cpp - bitttt_model_load: validation, artifacts -------===//
#include "ToyModel.h"

#include <cstring>
#include <functional>

using bitttt::test::artifactChecksum;
using bitttt::test::expectLastError;
using bitttt::test::TempDir;
using bitttt::test::ToyFile;
using bitttt::test::ToyModel;
using bitttt::test::ToyShape;
using nlohmann::json;

namespace {

class ModelLoad : public ::testing::Test {
protected:
  void SetUp() override { BITTTT_REQUIRE_TOY_COMPILER(); }
  void TearDown() override { bitttt_model_free(model); }

  /// Writes `file` and loads it; on failure `model` stays NULL.
  bitttt_status load(const ToyFile &file,
                     const bitttt_model_params *params = nullptr) {
    path = dir.file("toy.bitt");
    file.write(path);
    bitttt_model_free(model);
    model = nullptr;
    bitttt_status s = bitttt_model_load(path.c_str(), params, &model);
    EXPECT_EQ(s == BITTTT_OK, model != nullptr);
    return s;
  }

  /// Replaces the file's x86-64-v3 artifact by `bytes`.
  /// Other code for x86-64-v3, with the header's checksum of it (a file
  /// bitttt-compile could have written).
  static void setArtifact(ToyFile &f, const std::string &bytes) {
    f.tensor("__artifact__.x86-64-v3") = {"__artifact__.x86-64-v3",
                                          "U8",
                                          {int64_t(bytes.size())},
                                          bytes.data(),
                                          bytes.size()};
    f.header["bitttt"]["artifacts"]["x86-64-v3"]["xxh3_64"] =
        artifactChecksum(bytes);
  }

  /// The header's decode function (to edit).
  static json &decode(ToyFile &f) {
    return f.header["bitttt"]["functions"]["decode"];
  }

  /// Value of the I64 scalar state `name` after one decode of token 0.
  int64_t scalarAfterDecode(const char *name) {
    bitttt_session *s = nullptr;
    EXPECT_EQ(bitttt_session_create(model, &s), BITTTT_OK);
    EXPECT_EQ(bitttt_session_decode(s, 0), BITTTT_OK);
    int64_t v = -1;
    EXPECT_EQ(bitttt_session_state_get(s, name, &v, "I64", 0, nullptr),
              BITTTT_OK)
        << bitttt_last_error();
    bitttt_session_free(s);
    return v;
  }

  TempDir dir;
  std::string path;
  bitttt_model *model = nullptr;
};

bool cpuRunsV4() {
  const char *t = bitttt_cpu_target();
  return t && std::strcmp(t, "x86-64-v4") == 0;
}

} // namespace

TEST_F(ModelLoad, LoadsToyModelAndDescribesIt) {
  ASSERT_EQ(load(ToyModel::make()), BITTTT_OK) << bitttt_last_error();
  EXPECT_EQ(bitttt_model_vocab_size(model), 40u);
  EXPECT_EQ(bitttt_model_prefill_tokens(model), 4u);
  EXPECT_GE(bitttt_model_n_threads(model), 1);
  ASSERT_EQ(bitttt_model_state_count(model), 6u);
  std::vector<std::string> names;
  for (size_t i = 0; i < 6; ++i) {
    bitttt_tensor_info info;
    ASSERT_EQ(bitttt_model_state_info(model, i, &info), BITTTT_OK);
    names.push_back(info.name);
    if (names.back() == "toy.calls") {
      EXPECT_STREQ(info.dtype, "I64");
      EXPECT_EQ(info.ndim, 1);
      EXPECT_EQ(info.shape[0], 2);
      EXPECT_EQ(info.nbytes, 16u);
      EXPECT_EQ(info.data, nullptr);
    }
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"toy.big", "toy.calls", "toy.chunks",
                                      "toy.pos", "toy.sig", "toy.sum"}));
  bitttt_tensor_info info;
  EXPECT_EQ(bitttt_model_state_info(model, 6, &info),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"index 6 out of range (6 states)"});
}

TEST_F(ModelLoad, PicksTheBestArtifactForThisCpu) {
  ASSERT_EQ(load(ToyModel::make()), BITTTT_OK) << bitttt_last_error();
  EXPECT_STREQ(bitttt_model_target(model), bitttt_cpu_target());
  // toy.sig is the TOY_TARGET compiled into the artifact that really ran.
  EXPECT_EQ(scalarAfterDecode("toy.sig"), cpuRunsV4() ? 4 : 3);
}

TEST_F(ModelLoad, ParamsForceATarget) {
  bitttt_model_params params = bitttt_model_default_params();
  params.target = "x86-64-v3";
  params.n_threads = 3;
  ASSERT_EQ(load(ToyModel::make(), &params), BITTTT_OK) << bitttt_last_error();
  EXPECT_STREQ(bitttt_model_target(model), "x86-64-v3");
  EXPECT_EQ(bitttt_model_n_threads(model), 3);
  EXPECT_EQ(scalarAfterDecode("toy.sig"), 3);
}

TEST_F(ModelLoad, ForcedTargetMustRunHereAndBeInTheFile) {
  bitttt_model_params params = bitttt_model_default_params();
  params.target = "x86-64-v4";
  if (cpuRunsV4()) {
    EXPECT_EQ(load(ToyModel::make({}, {"x86-64-v3"}), &params),
              BITTTT_ERR_UNSUPPORTED);
    expectLastError(
        {"no elf-so artifact for target 'x86-64-v4'", "x86-64-v3 (elf-so)"});
  } else {
    EXPECT_EQ(load(ToyModel::make(), &params), BITTTT_ERR_UNSUPPORTED);
    expectLastError({"params.target 'x86-64-v4' does not run on this CPU"});
  }
  params.target = "x86-64-v9";
  EXPECT_EQ(load(ToyModel::make(), &params), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"params.target 'x86-64-v9' is not a CPU target"});
}

TEST_F(ModelLoad, ArtifactForAnotherTargetOnly) {
  EXPECT_EQ(load(ToyModel::make({}, {"aarch64-generic"})),
            BITTTT_ERR_UNSUPPORTED);
  expectLastError({"toy.bitt: no artifact for this CPU",
                   "the file has aarch64-generic (elf-so)"});
}

TEST_F(ModelLoad, ArtifactOfAnotherKindIsNotLoaded) {
  ToyFile f = ToyModel::make({}, {"x86-64-v3"});
  f.header["bitttt"]["artifacts"]["x86-64-v3"]["kind"] = "ptx";
  EXPECT_EQ(load(f), BITTTT_ERR_UNSUPPORTED);
  expectLastError({"no artifact for this CPU", "x86-64-v3 (ptx)"});
}

TEST_F(ModelLoad, DlopenFailureIncludesDlerror) {
  ToyFile f = ToyModel::make({}, {"x86-64-v3"});
  const std::string &so = ToyModel::artifact(f.shape, 3, "-DTOY_UNDEFINED");
  setArtifact(f, so);
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  // glibc's dlerror() names the file and says why.
  expectLastError({"toy.bitt: artifact 'x86-64-v3': dlopen failed: ",
                   "/proc/self/fd/", "bitttt_toy_missing"});
}

// The artifact's bytes are checked as an ELF shared object before they are
// mapped: dlopen would map a truncated one and fault past its end.
TEST_F(ModelLoad, IncompleteElfIsRefusedBeforeDlopen) {
  static const std::string junk(200, 'x');
  const std::string &so = ToyModel::artifact({}, 3);
  static std::string truncated;
  truncated = so.substr(0, so.size() / 2);
  struct Case {
    const std::string *bytes;
    const char *message;
  } cases[] = {
      {&junk, "not a complete x86-64 ELF shared object (no ELF magic)"},
      {&truncated, "truncated?"},
  };
  for (const Case &c : cases) {
    ToyFile f = ToyModel::make({}, {"x86-64-v3"});
    setArtifact(f, *c.bytes);
    EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
    expectLastError({"toy.bitt: artifact 'x86-64-v3': ", c.message});
  }
}

// The header's checksum of each artifact is verified before anything is
// mapped: a flipped byte in the code is a named error, not a crash in it.
TEST_F(ModelLoad, ArtifactChecksumIsVerifiedBeforeLoading) {
  static std::string flipped;
  flipped = ToyModel::artifact({}, 3);
  flipped[flipped.size() / 2] ^= 0x10;
  ToyFile f = ToyModel::make({}, {"x86-64-v3"});
  std::string good = f.header["bitttt"]["artifacts"]["x86-64-v3"]["xxh3_64"];
  setArtifact(f, flipped);
  f.header["bitttt"]["artifacts"]["x86-64-v3"]["xxh3_64"] = good;
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"toy.bitt: artifact 'x86-64-v3': checksum mismatch: the "
                   "header says " +
                   good + ", the " + std::to_string(flipped.size()) +
                   " bytes hash to " + artifactChecksum(flipped) +
                   " (the file is corrupted)"});

  f = ToyModel::make({}, {"x86-64-v3"});
  f.header["bitttt"]["artifacts"]["x86-64-v3"].erase("xxh3_64");
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"artifact 'x86-64-v3': the header gives no 'xxh3_64' "
                   "checksum (written by an older bitttt-compile: recompile "
                   "the model)"});
}

TEST_F(ModelLoad, HeaderSymbolMustBeTheArtifactsEntryPoint) {
  ToyFile f = ToyModel::make();
  decode(f)["symbol"] = "bitttt_entry_nope";
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"artifact 'x86-64-",
                   "function 'decode': the header calls "
                   "symbol 'bitttt_entry_nope', the artifact's entry point is "
                   "\"bitttt_entry_decode\""});
}

// Even when header and description agree, an entry symbol must be defined
// by the artifact itself: dlsym would find libc's `abort` in a dependency.
TEST_F(ModelLoad, EntrySymbolMustBeDefinedInTheArtifact) {
  for (const char *symbol : {"abort", "bitttt_entry_absent"}) {
    ToyFile f = ToyModel::make({}, {"x86-64-v3"});
    decode(f)["symbol"] = symbol;
    nlohmann::json abi = ToyModel::abi(f.shape);
    abi["functions"]["decode"]["symbol"] = symbol;
    const std::string &so = ToyModel::artifact(f.shape, 3, "-lc", &abi);
    setArtifact(f, so);
    EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
    expectLastError(
        {"function 'decode': symbol '" + std::string(symbol) + "' not found"});
    if (std::string(symbol) == "abort")
      expectLastError({"it is not defined in the artifact (it resolves to "});
  }
}

// The header's ranges must be the artifact's, and a state must start inside
// its range.
TEST_F(ModelLoad, StateRangesMustAgreeWithTheArtifact) {
  ToyFile f = ToyModel::make();
  f.header["bitttt"]["state"]["toy.sig"]["range"] = {0, 11};
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"state 'toy.sig': the header's range [0, 11) is not the "
                   "artifact's [0, 10)"});

  f = ToyModel::make();
  decode(f)["inputs"][5]["range"] = {0, 100};
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"function 'decode': input 5 'toy.sig': the header says "
                   "range [0, 100), the artifact was compiled for [0, 10)"});

  f = ToyModel::make();
  static const int64_t twelve = 12;
  f.tensors.push_back({"toy.sig0", "I64", {}, &twelve, 8});
  f.header["bitttt"]["state"]["toy.sig"]["init"] = "toy.sig0";
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"state 'toy.sig' starts from tensor 'toy.sig0' whose "
                   "value 12 is outside the state's range [0, 10)"});
}

TEST_F(ModelLoad, ArtifactWithoutAbiDescriptionIsRefused) {
  ToyFile f = ToyModel::make({}, {"x86-64-v3"});
  nlohmann::json notJson = "not json";
  const std::string &so = ToyModel::artifact(f.shape, 3, "", &notJson);
  setArtifact(f, so);
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"artifact 'x86-64-v3': its bitttt_abi description is not "
                   "a JSON object"});
}

TEST_F(ModelLoad, MissingTensor) {
  ToyFile f = ToyModel::make();
  f.dropTensor("lm.bias");
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"tensor 'lm.bias' (bitttt.functions.decode.inputs[1]) is "
                   "missing from the file"});
}

TEST_F(ModelLoad, TensorWithWrongShapeOrDtype) {
  ToyFile f = ToyModel::make();
  f.header["bitttt"]["functions"]["prefill"]["inputs"][1]["shape"] = {41};
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"tensor 'lm.bias' (bitttt.functions.prefill.inputs[1]) is "
                   "F32 [40] in the file, expected F32 [41]"});
  f = ToyModel::make();
  decode(f)["inputs"][1]["dtype"] = "F16";
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"tensor 'lm.bias'", "expected F16 [40]"});
}

TEST_F(ModelLoad, StateInitMustExistAndMatch) {
  ToyFile f = ToyModel::make();
  json &states = f.header["bitttt"]["state"];
  states["toy.sum"]["init"] = "nope";
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"'bitttt.state.toy.sum.init' names tensor 'nope', which "
                   "the file lacks"});
  states["toy.sum"]["init"] = "lm.bias";
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"'bitttt.state.toy.sum.init' tensor 'lm.bias' is F32 [40], "
                   "but the state is I64 []"});
  states["toy.sum"].erase("init");
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"'bitttt.state.toy.sum.init' is missing"});
}

TEST_F(ModelLoad, StatesMustBeDeclaredUsedAndConsistent) {
  ToyFile f = ToyModel::make();
  f.header["bitttt"]["state"].erase("toy.sig");
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"state 'toy.sig' (bitttt.functions.decode.inputs[5]) has "
                   "no entry in 'bitttt.state'"});

  f = ToyModel::make();
  f.header["bitttt"]["state"]["toy.extra"] = {{"init", "zeros"}};
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"'bitttt.state.toy.extra' names a state no function"});

  f = ToyModel::make();
  f.header["bitttt"]["functions"]["prefill"]["outputs"][3]["shape"] = {3};
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"state 'toy.calls' is I64 [3] in "
                   "bitttt.functions.prefill.outputs[3] but I64 [2] in "
                   "bitttt.functions.decode.inputs[4]"});
}

TEST_F(ModelLoad, IoBuffersMustMatchTokensAndVocab) {
  ToyFile f = ToyModel::make();
  f.header["config"]["vocab_size"] = 41;
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"'bitttt.functions.decode.outputs[0]' is F32 [1, 40], "
                   "expected F32 [1, 41]"});

  f = ToyModel::make();
  decode(f)["tokens"] = 2;
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"'bitttt.functions.decode.tokens' is 2, decode takes 1"});

  f = ToyModel::make();
  decode(f)["inputs"][0]["name"] = "tokens";
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"'bitttt.functions.decode.inputs[0]' is io buffer "
                   "'tokens'; decode takes only 'ids'"});
}

TEST_F(ModelLoad, MalformedFunctionEntries) {
  struct Case {
    std::function<void(json &)> edit;
    std::string message;
  } cases[] = {
      {[](json &d) { d["inputs"][2]["role"] = "weights"; },
       "'bitttt.functions.decode.inputs[2].role' is \"weights\""},
      {[](json &d) { d.erase("symbol"); },
       "'bitttt.functions.decode.symbol' is missing"},
      {[](json &d) { d["inputs"][3]["shape"] = {-1}; },
       "'bitttt.functions.decode.inputs[3].shape' is [-1], expected "
       "non-negative integers"},
      {[](json &d) { d["inputs"][3]["dtype"] = "Q4"; },
       "'bitttt.functions.decode.inputs[3].dtype' is \"Q4\""},
      {[](json &d) { d["outputs"].push_back(d["inputs"][1]); },
       "'bitttt.functions.decode.outputs[7].role' is \"tensor\": tensors are "
       "inputs only"},
      {[](json &d) { d["inputs"].push_back(d["inputs"][2]); },
       "'bitttt.functions.decode.inputs[8].name' repeats 'toy.pos'"},
  };
  for (const Case &c : cases) {
    ToyFile f = ToyModel::make();
    c.edit(decode(f));
    EXPECT_EQ(load(f), BITTTT_ERR_FORMAT) << c.message;
    expectLastError({c.message});
  }
}

TEST_F(ModelLoad, NotACompiledModel) {
  ToyFile f = ToyModel::make();
  f.header["bitttt"].erase("functions");
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"not a compiled model: header field 'bitttt.functions' is "
                   "missing (run bitttt-compile)"});

  f = ToyModel::make();
  f.header["bitttt"]["functions"].erase("decode");
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"'bitttt.functions.decode' is missing"});

  f = ToyModel::make();
  f.header["config"].erase("vocab_size");
  EXPECT_EQ(load(f), BITTTT_ERR_FORMAT);
  expectLastError({"'config.vocab_size' is missing"});
}

TEST_F(ModelLoad, BadArguments) {
  bitttt_model *m = reinterpret_cast<bitttt_model *>(1);
  EXPECT_EQ(bitttt_model_load(nullptr, nullptr, &m),
            BITTTT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
  expectLastError({"bitttt_model_load: path is NULL"});
  EXPECT_EQ(bitttt_model_load("x.bitt", nullptr, nullptr),
            BITTTT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(bitttt_model_load(dir.file("absent.bitt").c_str(), nullptr, &m),
            BITTTT_ERR_IO);
  expectLastError({"absent.bitt: cannot open"});

  bitttt_model_params params = bitttt_model_default_params();
  params.n_threads = -1;
  EXPECT_EQ(load(ToyModel::make(), &params), BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"params.n_threads is -1"});

  EXPECT_EQ(bitttt_model_target(nullptr), nullptr);
  EXPECT_EQ(bitttt_model_vocab_size(nullptr), 0u);
  EXPECT_EQ(bitttt_model_n_threads(nullptr), 0);
  bitttt_model_free(nullptr);
}

TEST_F(ModelLoad, PlainContainerIsNotAModel) {
  path = dir.file("plain.bitt");
  static const float w[2] = {1, 2};
  ASSERT_TRUE(bitttt::format::writeBittV2(
                  path, R"({"config":{"vocab_size":2},"tokenizer":null})",
                  {{"w", "F32", {2}, w, sizeof(w)}})
                  .isOk());
  EXPECT_EQ(bitttt_model_load(path.c_str(), nullptr, &model),
            BITTTT_ERR_FORMAT);
  expectLastError({"plain.bitt: not a compiled model"});
}
