//===- ToyModel.cpp - compile and package the toy artifact ----------------===//
#include "ToyModel.h"
#include "Hex.h"

#include "bitttt/Target/CPU/ArtifactAbi.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include <unistd.h>
#include <xxhash.h>

using nlohmann::json;

namespace bitttt::test {
namespace {

/// Buffer order (docs/abi.md: inputs, then outputs), as in toyFunction():
///   0 ids  1 lm.bias  2 pos  3 sum  4 calls  5 sig  6 big  7 chunks
///   8 logits  9 pos  10 sum  11 calls  12 sig  13 big  14 chunks
/// `big` is updated in a parallel loop through exec->parallel_for (on the
/// caller when exec or its parallel_for is NULL, as compiled code does);
/// `chunks` counts the parts the loop was cut into.
const char *const kToySource = R"(
#include <stdint.h>
#include "bitttt/Target/CPU/ArtifactAbi.h"

struct big_loop {
  const float *in;
  float *out;
  int64_t *chunks;
};

static void big_body(void *closure, int64_t begin, int64_t end) {
  struct big_loop *c = (struct big_loop *)closure;
  for (int64_t i = begin; i < end; ++i)
    c->out[i] = c->in[i] + 1.0f;
  __atomic_fetch_add(c->chunks, 1, __ATOMIC_RELAXED);
}

static void step(void **b, int n, int which, const bitttt_exec *exec) {
  const int32_t *ids = (const int32_t *)b[0];
  const float *bias = (const float *)b[1];
  int64_t pos = *(const int64_t *)b[2], sum = *(const int64_t *)b[3];
  const int64_t *calls = (const int64_t *)b[4];
  float *logits = (float *)b[8];
  for (int t = 0; t < n; ++t) {
    pos += 1;
    sum += ids[t];
    for (int v = 0; v < TOY_VOCAB; ++v)
      logits[t * TOY_VOCAB + v] =
          (float)((31 * sum + 7 * pos + 13 * (int64_t)v) % TOY_VOCAB) +
          bias[v];
  }
  *(int64_t *)b[9] = pos;
  *(int64_t *)b[10] = sum;
  ((int64_t *)b[11])[0] = calls[0] + (which == 0);
  ((int64_t *)b[11])[1] = calls[1] + (which == 1);
  *(int64_t *)b[12] = TOY_TARGET;
  struct big_loop loop = {(const float *)b[6], (float *)b[13],
                          (int64_t *)b[14]};
  *loop.chunks = 0;
  if (exec && exec->parallel_for)
    exec->parallel_for(exec->ctx, TOY_BIG, big_body, &loop);
  else
    big_body(&loop, 0, TOY_BIG);
}

void bitttt_entry_prefill(void **buffers, const bitttt_exec *exec) {
  step(buffers, TOY_PREFILL, 0, exec);
}
#ifdef TOY_UNDEFINED
extern void bitttt_toy_missing(void); /* dlopen(RTLD_NOW) must fail */
#endif
void bitttt_entry_decode(void **buffers, const bitttt_exec *exec) {
#ifdef TOY_UNDEFINED
  bitttt_toy_missing();
#endif
  step(buffers, 1, 1, exec);
}
)";

json buffer(const char *role, const std::string &name, const char *dtype,
            std::vector<int64_t> shape) {
  return {{"role", role}, {"name", name}, {"dtype", dtype}, {"shape", shape}};
}

/// toy.sig holds the TOY_TARGET (3, 4 or 9): valid in [0, 10), so the range
/// checks have a state to work on.
json sigBuffer() {
  json b = {{"role", "state"},
            {"name", "toy.sig"},
            {"dtype", "I64"},
            {"shape", json::array()},
            {"range", {0, 10}}};
  return b;
}

json toyFunction(const ToyShape &s, const std::string &name, int tokens) {
  json inputs =
      json::array({buffer("io", "ids", "I32", {tokens}),
                   buffer("tensor", "lm.bias", "F32", {s.vocab}),
                   buffer("state", "toy.pos", "I64", {}),
                   buffer("state", "toy.sum", "I64", {}),
                   buffer("state", "toy.calls", "I64", {2}), sigBuffer(),
                   buffer("state", "toy.big", "F32", {s.big}),
                   buffer("state", "toy.chunks", "I64", {})});
  json outputs =
      json::array({buffer("io", "logits", "F32", {tokens, s.vocab}),
                   buffer("state", "toy.pos", "I64", {}),
                   buffer("state", "toy.sum", "I64", {}),
                   buffer("state", "toy.calls", "I64", {2}), sigBuffer(),
                   buffer("state", "toy.big", "F32", {s.big}),
                   buffer("state", "toy.chunks", "I64", {})});
  return {{"symbol", "bitttt_entry_" + name},
          {"tokens", tokens},
          {"inputs", inputs},
          {"outputs", outputs}};
}

} // namespace

json ToyModel::abi(const ToyShape &s) {
  json functions;
  for (auto [name, tokens] : {std::pair{"prefill", s.prefill}, {"decode", 1}}) {
    json fn = toyFunction(s, name, tokens);
    fn.erase("tokens");
    functions[name] = fn;
  }
  return {{"abi_version", BITTTT_ARTIFACT_ABI_VERSION},
          {"functions", functions}};
}

namespace {

/// `const char bitttt_abi[] = "...";` for the toy's C source.
std::string abiDefinition(const json &abi) {
  std::string literal;
  for (char c : abi.dump())
    literal +=
        c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return "const char bitttt_abi[] = \"" + literal + "\";\n";
}

int targetId(const std::string &target) {
  return target == "x86-64-v3" ? 3 : target == "x86-64-v4" ? 4 : 9;
}

/// Data behind the TensorData pointers of every ToyFile: lives as long as
/// the process, so copies of a ToyFile stay valid.
struct ToyData {
  std::map<ToyShape, std::vector<float>> bias, big;
  int64_t sum0 = 5;
};
ToyData &toyData() {
  static ToyData data;
  return data;
}

std::mutex &cacheMutex() {
  static std::mutex m;
  return m;
}

} // namespace

void ToyFile::dropTensor(const std::string &name) {
  for (auto it = tensors.begin(); it != tensors.end(); ++it)
    if (it->name == name) {
      tensors.erase(it);
      return;
    }
}

format::TensorData &ToyFile::tensor(const std::string &name) {
  for (format::TensorData &t : tensors)
    if (t.name == name)
      return t;
  ADD_FAILURE() << "toy file has no tensor " << name;
  return tensors.front();
}

std::string artifactChecksum(const std::string &bytes) {
  return rt::hex64(XXH3_64bits(bytes.data(), bytes.size()));
}

void ToyFile::write(const std::string &path) const {
  format::Status s = format::writeBittV2(path, header.dump(), tensors);
  ASSERT_TRUE(s.isOk()) << s.message();
}

std::string ToyModel::compiler() {
  const char *env = std::getenv("BITTTT_TEST_CC");
  std::string cc = env && *env ? env : BITTTT_TEST_CC_DEFAULT;
  return !cc.empty() && ::access(cc.c_str(), X_OK) == 0 ? cc : "";
}

const std::string &ToyModel::artifact(const ToyShape &shape, int target,
                                      const std::string &extraFlags,
                                      const json *abiOverride) {
  static std::map<std::string, std::string> cache;
  static TempDir dir;
  std::lock_guard<std::mutex> lock(cacheMutex());
  std::string defines = "-DTOY_VOCAB=" + std::to_string(shape.vocab) +
                        " -DTOY_PREFILL=" + std::to_string(shape.prefill) +
                        " -DTOY_BIG=" + std::to_string(shape.big) +
                        " -DTOY_TARGET=" + std::to_string(target) + " " +
                        extraFlags;
  std::string abiText = abiDefinition(abiOverride ? *abiOverride : abi(shape));
  std::string key = defines + "\n" + abiText;
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second;
  std::string n = std::to_string(cache.size());
  std::string src = dir.file("toy" + n + ".c"),
              so = dir.file("toy" + n + ".so");
  writeBytes(src, std::string(kToySource) + abiText);
  std::string command = compiler() + " -O1 -shared -fPIC -nostdlib -I" +
                        BITTTT_SOURCE_INCLUDE + " " + defines + " -o " + so +
                        " " + src + " 2>&1";
  int rc = std::system(command.c_str());
  EXPECT_EQ(rc, 0) << "compiling the toy artifact failed: " << command;
  std::string bytes = readBytes(so);
  EXPECT_FALSE(bytes.empty()) << command;
  ::unlink(src.c_str());
  ::unlink(so.c_str());
  return cache.emplace(key, std::move(bytes)).first->second;
}

ToyFile ToyModel::make(const ToyShape &shape,
                       const std::vector<std::string> &targets) {
  ToyFile f;
  f.shape = shape;
  ToyData &data = toyData();
  std::vector<float> *bias, *big;
  {
    std::lock_guard<std::mutex> lock(cacheMutex());
    bias = &data.bias[shape];
    big = &data.big[shape];
    if (bias->empty()) {
      for (int v = 0; v < shape.vocab; ++v)
        bias->push_back(float(v % 7) * 0.05f);
      for (int i = 0; i < shape.big; ++i)
        big->push_back(float(i) * 0.5f);
    }
  }
  json artifacts = json::object();
  f.tensors = {
      {"lm.bias", "F32", {shape.vocab}, bias->data(), bias->size() * 4},
      {"toy.sum0", "I64", {}, &data.sum0, 8},
      {"toy.big0", "F32", {shape.big}, big->data(), big->size() * 4},
  };
  for (const std::string &target : targets) {
    const std::string &so = artifact(shape, targetId(target));
    std::string tensor = "__artifact__." + target;
    artifacts[target] = {{"tensor", tensor},
                         {"kind", "elf-so"},
                         {"xxh3_64", artifactChecksum(so)}};
    f.tensors.push_back(
        {tensor, "U8", {int64_t(so.size())}, so.data(), so.size()});
  }
  f.header = {{"config", {{"arch", "bitttt"}, {"vocab_size", shape.vocab}}},
              {"tokenizer", nullptr},
              {"bitttt",
               {{"format_version", 2},
                {"functions",
                 {{"prefill", toyFunction(shape, "prefill", shape.prefill)},
                  {"decode", toyFunction(shape, "decode", 1)}}},
                {"state",
                 {{"toy.pos", {{"init", "zeros"}}},
                  {"toy.sum", {{"init", "toy.sum0"}}},
                  {"toy.calls", {{"init", "zeros"}}},
                  {"toy.sig", {{"init", "zeros"}, {"range", {0, 10}}}},
                  {"toy.big", {{"init", "toy.big0"}}},
                  {"toy.chunks", {{"init", "zeros"}}}}},
                {"artifacts", artifacts}}}};
  return f;
}

std::string ToyModel::write(const std::string &path, const ToyShape &shape,
                            const std::vector<std::string> &targets) {
  make(shape, targets).write(path);
  return path;
}

} // namespace bitttt::test
