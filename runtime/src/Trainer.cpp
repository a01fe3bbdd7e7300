//===- Trainer.cpp - the compiled training step, driven -------------------===//
//
// A bitttt_trainer binds the buffers of the `train_grad` / `train_apply`
// entry points the compiler generated (docs/abi.md, docs/training.md) by
// role and name: parameters, AdamW moments and gradients it owns,
// step/lr/tokens/loss/grad_norm per call. The header's description of the
// training functions is checked against the artifact's own before anything
// is called.
//
//===----------------------------------------------------------------------===//
#include "CApi.h"
#include "Checkpoint.h"
#include "Model.h"
#include "Session.h"

#include "bitttt/Format/JsonDepth.h"
#include "bitttt/Format/LMHead.h"
#include "bitttt/Format/Packing.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sys/stat.h>

using namespace bitttt;
using namespace bitttt::rt;
using format::ErrorCode;
using format::Status;
using json = nlohmann::json;

namespace {

/// xoshiro256** seeded by splitmix64 (docs/training.md).
struct Xoshiro {
  uint64_t s[4];
  explicit Xoshiro(uint64_t seed = 0) {
    for (uint64_t &w : s) {
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

struct Buffer {
  std::string role, name, dtype;
  std::vector<int64_t> shape;
};

struct TrainFunction {
  std::string symbol;
  std::vector<Buffer> inputs, outputs;
  EntryFn entry = nullptr;
};

Status formatError(const std::string &message) {
  return Status::error(ErrorCode::Format, message);
}

Status parseFunction(const std::string &where, const json &j,
                     TrainFunction &out) {
  if (!j.is_object() || !j.contains("symbol") || !j["symbol"].is_string())
    return formatError(where + ": expected an object with a 'symbol'");
  out.symbol = j["symbol"].get<std::string>();
  for (const char *list : {"inputs", "outputs"}) {
    auto it = j.find(list);
    if (it == j.end() || !it->is_array())
      return formatError(where + "." + list + ": expected an array");
    for (const json &b : *it) {
      Buffer buf;
      if (!b.is_object() || !b.value("role", json()).is_string() ||
          !b.value("name", json()).is_string() ||
          !b.value("dtype", json()).is_string() ||
          !b.value("shape", json()).is_array())
        return formatError(where + "." + list +
                           ": a buffer without role, name, dtype and shape");
      buf.role = b["role"];
      buf.name = b["name"];
      buf.dtype = b["dtype"];
      for (const json &d : b["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0)
          return formatError(where + "." + list + ": buffer '" + buf.name +
                             "' has a bad shape");
        buf.shape.push_back(d.get<int64_t>());
      }
      if (buf.dtype != "F32" && buf.dtype != "I32" && buf.dtype != "I64")
        return formatError(where + "." + list + ": buffer '" + buf.name +
                           "' has dtype " + buf.dtype);
      (std::string(list) == "inputs" ? out.inputs : out.outputs)
          .push_back(std::move(buf));
    }
  }
  return Status::ok();
}

int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// The first field where two JSON values differ ("ttt.mini_batch"), or "".
std::string firstDifference(const json &a, const json &b,
                            const std::string &at = "") {
  if (a.is_object() && b.is_object()) {
    for (const auto &[k, v] : a.items()) {
      std::string field = at.empty() ? k : at + "." + k;
      if (!b.contains(k))
        return field;
      std::string d = firstDifference(v, b[k], field);
      if (!d.empty())
        return d;
    }
    for (const auto &[k, v] : b.items())
      if (!a.contains(k))
        return at.empty() ? k : at + "." + k;
    return "";
  }
  return a == b ? "" : (at.empty() ? "(value)" : at);
}

} // namespace

struct bitttt_trainer {
  const bitttt_model *model = nullptr;
  json header;
  int64_t batch = 0, context = 0, vocab = 0;
  std::unique_ptr<SharedObject> artifact;
  TrainFunction grad, apply;
  /// Parameter names in train_apply's order, and their buffers.
  std::vector<std::string> names;
  std::map<std::string, std::vector<int64_t>> shapes;
  std::map<std::string, AlignedBuffer> params, m, v, acc, scratch;
  int accumulated = 0;
  int64_t step = 0, windowsDrawn = 0;
  Xoshiro rng;
  AlignedBuffer tokens;
  std::string extra, resumedFrom;

  Status checkTokens(const int32_t *ids) const {
    for (int64_t i = 0, n = batch * (context + 1); i < n; ++i)
      if (ids[i] < 0 || ids[i] >= vocab)
        return Status::error(ErrorCode::InvalidArgument,
                             "token id " + std::to_string(ids[i]) +
                                 " at position " + std::to_string(i) +
                                 " of the batch is outside [0, " +
                                 std::to_string(vocab) + ")");
    return Status::ok();
  }

  /// Calls train_grad on `ids`, gradients into `into` (acc or scratch).
  Status runGrad(const int32_t *ids, float &loss,
                 std::map<std::string, AlignedBuffer> &into) {
    if (Status s = checkTokens(ids); !s)
      return s;
    std::memcpy(tokens.data(), ids, tokens.size());
    std::vector<void *> buffers;
    for (const Buffer &b : grad.inputs)
      buffers.push_back(b.role == "io" ? tokens.data()
                                       : params.at(b.name).data());
    for (const Buffer &b : grad.outputs)
      buffers.push_back(b.role == "io" ? static_cast<void *>(&loss)
                                       : into.at(b.name).data());
    grad.entry(buffers.data(), &model->exec);
    return Status::ok();
  }
};

namespace {

Status bindFunctions(bitttt_trainer &t, const json &train,
                     const std::string &path) {
  const json *fns = train.contains("functions") ? &train["functions"] : nullptr;
  if (!fns || !fns->is_object())
    return formatError(path + ": header field 'bitttt.train.functions' is "
                              "missing");
  for (auto [name, fn] :
       {std::pair<const char *, TrainFunction *>{"train_grad", &t.grad},
        {"train_apply", &t.apply}}) {
    std::string where = path + ": header field 'bitttt.train.functions." +
                        std::string(name) + "'";
    if (!fns->contains(name))
      return formatError(where + " is missing");
    if (Status s = parseFunction(where, (*fns)[name], *fn); !s)
      return s;
  }
  // The artifact's own description must agree with the header.
  std::string error;
  size_t size = 0;
  const char *abi = static_cast<const char *>(
      t.artifact->symbol(BITTTT_ARTIFACT_ABI_SYMBOL, error, &size));
  if (!abi)
    return formatError(path +
                       ": the training artifact has no ABI "
                       "description (" +
                       error + ")");
  std::string ownText(abi, strnlen(abi, size));
  if (std::string deep = format::jsonDepthError(ownText); !deep.empty())
    return formatError(path + ": the training artifact's ABI description " +
                       deep);
  json own = json::parse(ownText, nullptr, false);
  if (own.is_discarded() || !own.contains("functions"))
    return formatError(path + ": the training artifact's ABI description is "
                              "not JSON");
  for (const char *name : {"train_grad", "train_apply"}) {
    const json &h = (*fns)[name];
    const json &c =
        own["functions"].contains(name) ? own["functions"][name] : json();
    for (const char *key : {"symbol", "inputs", "outputs"})
      if (!c.is_object() || !h.is_object() ||
          h.value(key, json()) != c.value(key, json()))
        return formatError(path + ": header field 'bitttt.train.functions." +
                           std::string(name) + "." + key +
                           "' disagrees with the compiled code");
    TrainFunction &fn = std::string(name) == "train_grad" ? t.grad : t.apply;
    void *entry = t.artifact->symbol(fn.symbol, error);
    if (!entry)
      return formatError(path + ": training symbol '" + fn.symbol +
                         "' not found (" + error + ")");
    fn.entry = reinterpret_cast<EntryFn>(entry);
  }
  // train_grad: tensor inputs are the parameters, io the tokens; outputs
  // loss then one gradient per parameter.
  for (const Buffer &b : t.apply.inputs)
    if (b.role == "param") {
      t.names.push_back(b.name);
      t.shapes[b.name] = b.shape;
    }
  for (const Buffer &b : t.grad.inputs) {
    if (b.role == "io" &&
        (b.name != "tokens" ||
         b.shape != std::vector<int64_t>{t.batch, t.context + 1}))
      return formatError(path + ": train_grad takes '" + b.name +
                         "', expected tokens [batch, context + 1]");
    if (b.role == "tensor" && !t.shapes.count(b.name))
      return formatError(path + ": train_grad reads '" + b.name +
                         "', which train_apply does not update");
  }
  return Status::ok();
}

Status createTrainer(const bitttt_model *model, uint64_t seed,
                     std::unique_ptr<bitttt_trainer> &out) {
  auto t = std::make_unique<bitttt_trainer>();
  t->model = model;
  const format::BittFile &file = *model->file;
  const std::string &path = file.path();
  t->header = json::parse(file.headerJson(), nullptr, false);
  const json *train = nullptr;
  if (t->header.is_object() && t->header.contains("bitttt") &&
      t->header["bitttt"].is_object() &&
      t->header["bitttt"].contains("train") &&
      t->header["bitttt"]["train"].is_object())
    train = &t->header["bitttt"]["train"];
  if (!train)
    return Status::error(ErrorCode::Unsupported,
                         path + ": no training step (compile the model with "
                                "bitttt-compile --train)");
  t->batch = train->value("batch", int64_t(0));
  t->context = train->value("context", int64_t(0));
  if (t->batch < 1 || t->context < 1)
    return formatError(path + ": header fields 'bitttt.train.batch' and "
                              "'context' must be positive");
  t->vocab = int64_t(bitttt_model_vocab_size(model));
  const json &artifacts = train->value("artifacts", json::object());
  if (!artifacts.contains(model->target))
    return Status::error(ErrorCode::Unsupported,
                         path + ": no training artifact for target '" +
                             model->target + "'");
  std::string tensor = artifacts[model->target].value("tensor", "");
  const format::TensorInfo *code = file.find(tensor);
  if (!code)
    return formatError(path + ": training artifact tensor '" + tensor +
                       "' is missing");
  const json &sum = artifacts[model->target].value("xxh3_64", json());
  if (Status s = SharedObject::load(
          path + ": training artifact '" + model->target + "'", code->data,
          code->nbytes, sum.is_string() ? sum.get<std::string>() : "",
          t->artifact);
      !s)
    return s;
  if (Status s = bindFunctions(*t, *train, path); !s)
    return s;
  for (const std::string &name : t->names) {
    const std::vector<int64_t> &shape = t->shapes[name];
    const format::TensorInfo *latent = file.find(name);
    if (!latent || latent->dtype != "F32" || latent->shape != shape)
      return formatError(path + ": latent weight '" + name +
                         "' is missing or not F32 " + format::shapeText(shape));
    size_t bytes = size_t(product(shape)) * 4;
    t->params[name] = AlignedBuffer(bytes);
    std::memcpy(t->params[name].data(), latent->data, bytes);
    for (auto *map : {&t->m, &t->v, &t->acc, &t->scratch}) {
      (*map)[name] = AlignedBuffer(bytes);
      std::memset((*map)[name].data(), 0, bytes);
    }
  }
  t->tokens = AlignedBuffer(size_t(t->batch * (t->context + 1)) * 4);
  t->rng = Xoshiro(seed);
  out = std::move(t);
  return Status::ok();
}

Status accumulate(bitttt_trainer &t, const int32_t *ids, float &loss) {
  if (t.accumulated == 0) {
    if (Status s = t.runGrad(ids, loss, t.acc); !s)
      return s;
    ++t.accumulated;
    return Status::ok();
  }
  if (Status s = t.runGrad(ids, loss, t.scratch); !s)
    return s;
  for (const std::string &name : t.names) {
    float *a = static_cast<float *>(t.acc[name].data());
    const float *g = static_cast<const float *>(t.scratch[name].data());
    for (int64_t i = 0, n = product(t.shapes[name]); i < n; ++i)
      a[i] += g[i];
  }
  ++t.accumulated;
  return Status::ok();
}

Status apply(bitttt_trainer &t, float lr, float &gradNorm) {
  if (t.accumulated == 0)
    return Status::error(ErrorCode::InvalidArgument,
                         "no gradient accumulated since the last step");
  if (!std::isfinite(lr) || lr < 0)
    return Status::error(ErrorCode::InvalidArgument,
                         "learning rate " + std::to_string(lr) +
                             " is not a finite value >= 0");
  // Check everything before changing anything (a refused apply can be
  // retried).
  for (const std::string &name : t.names) {
    const float *a = static_cast<const float *>(t.acc[name].data());
    for (int64_t i = 0, n = product(t.shapes[name]); i < n; ++i)
      if (!std::isfinite(a[i]))
        return Status::error(ErrorCode::InvalidArgument,
                             "the gradient of '" + name +
                                 "' is not finite (NaN or Inf): the step "
                                 "was not applied");
  }
  if (t.accumulated > 1) { // the mean: sum, then divide (as the reference)
    float count = float(t.accumulated);
    for (const std::string &name : t.names) {
      float *a = static_cast<float *>(t.acc[name].data());
      for (int64_t i = 0, n = product(t.shapes[name]); i < n; ++i)
        a[i] /= count;
    }
  }
  int64_t step = t.step + 1;
  std::vector<void *> buffers;
  for (const Buffer &b : t.apply.inputs) {
    if (b.role == "param")
      buffers.push_back(t.params[b.name].data());
    else if (b.role == "adam_m")
      buffers.push_back(t.m[b.name].data());
    else if (b.role == "adam_v")
      buffers.push_back(t.v[b.name].data());
    else if (b.role == "grad")
      buffers.push_back(t.acc[b.name].data());
    else if (b.name == "step")
      buffers.push_back(&step);
    else
      buffers.push_back(&lr);
  }
  for (const Buffer &b : t.apply.outputs) {
    (void)b;
    buffers.push_back(&gradNorm);
  }
  t.apply.entry(buffers.data(), &t.model->exec);
  t.step = step;
  t.accumulated = 0;
  return Status::ok();
}

json configOf(const bitttt_trainer &t) {
  return t.header.value("config", json());
}

json trainOf(const bitttt_trainer &t) {
  json train = t.header["bitttt"]["train"];
  return json{{"batch", train["batch"]},
              {"context", train["context"]},
              {"optimizer", train.value("optimizer", json())}};
}

Status save(const bitttt_trainer &t, const std::string &dir,
            const std::string &file, const char *extra) {
  json meta{{"step", t.step},       {"windows_drawn", t.windowsDrawn},
            {"rng", json::array()}, {"config", configOf(t)},
            {"train", trainOf(t)},  {"extra", json::object()}};
  for (uint64_t w : t.rng.s)
    meta["rng"].push_back(std::to_string(w));
  if (extra) {
    json e = format::jsonDepthError(extra).empty()
                 ? json::parse(extra, nullptr, false)
                 : json(json::value_t::discarded);
    if (e.is_discarded() || !e.is_object())
      return Status::error(ErrorCode::InvalidArgument,
                           "extra_json is not a JSON object");
    meta["extra"] = std::move(e);
  }
  std::vector<ckpt::TensorView> views;
  for (const char *part : {"param.", "adam_m.", "adam_v."})
    for (const std::string &name : t.names) {
      const auto &map = part[0] == 'p' ? t.params : part[5] == 'm' ? t.m : t.v;
      views.push_back({part + name, t.shapes.at(name),
                       static_cast<const float *>(map.at(name).data())});
    }
  return ckpt::write(dir, file, meta, views);
}

Status load(bitttt_trainer &t, const std::string &path) {
  ckpt::Checkpoint c;
  if (Status s = ckpt::read(path, c); !s)
    return s;
  auto refuse = [&](const std::string &field, const std::string &why) {
    return Status::error(ErrorCode::InvalidArgument,
                         path + ": field '" + field + "' " + why);
  };
  if (!c.meta.is_object())
    return refuse("bitttt_checkpoint", "is not a JSON object");
  std::string d = firstDifference(configOf(t), c.meta.value("config", json()));
  if (!d.empty())
    return refuse("config." + d, "differs from the model's config: the "
                                 "checkpoint is of another model");
  d = firstDifference(trainOf(t), c.meta.value("train", json()));
  if (!d.empty())
    return refuse("train." + d, "differs from the compiled training step");
  // Every field is checked before anything of the trainer changes.
  uint64_t words[4];
  const json &rng = c.meta.value("rng", json());
  if (!rng.is_array() || rng.size() != 4)
    return refuse("rng", "is not four generator words");
  for (int i = 0; i < 4; ++i) {
    const std::string *w = rng[i].get_ptr<const std::string *>();
    char *end = nullptr;
    errno = 0;
    if (!w || w->empty() || w->size() > 20 ||
        w->find_first_not_of("0123456789") != std::string::npos ||
        (words[i] = std::strtoull(w->c_str(), &end, 10), errno == ERANGE))
      return refuse("rng", "is not four generator words (decimal strings)");
  }
  auto step = c.meta.find("step");
  if (step == c.meta.end() || !step->is_number_integer() ||
      step->get<int64_t>() < 0)
    return refuse("step", "is not a step count");
  auto drawn = c.meta.find("windows_drawn");
  if (drawn != c.meta.end() &&
      (!drawn->is_number_integer() || drawn->get<int64_t>() < 0))
    return refuse("windows_drawn", "is not a count");
  auto extra = c.meta.find("extra");
  if (extra != c.meta.end() && !extra->is_object())
    return refuse("extra", "is not an object");
  for (const char *part : {"param.", "adam_m.", "adam_v."})
    for (const std::string &name : t.names) {
      const ckpt::Tensor *x = c.find(part + name);
      if (!x || x->shape != t.shapes[name])
        return refuse(part + name, "is missing or has another shape");
    }
  for (const char *part : {"param.", "adam_m.", "adam_v."})
    for (const std::string &name : t.names) {
      auto &map = part[0] == 'p' ? t.params : part[5] == 'm' ? t.m : t.v;
      const ckpt::Tensor *x = c.find(part + name);
      std::memcpy(map[name].data(), x->data.data(), x->data.size() * 4);
    }
  for (int i = 0; i < 4; ++i)
    t.rng.s[i] = words[i];
  t.step = step->get<int64_t>();
  t.windowsDrawn = drawn != c.meta.end() ? drawn->get<int64_t>() : 0;
  t.accumulated = 0;
  t.extra = extra != c.meta.end() ? extra->dump() : "{}";
  return Status::ok();
}

Status exportModel(const bitttt_trainer &t, const char *bittPath,
                   const char *modelDir) {
  const format::BittFile &file = *t.model->file;
  if (bittPath) {
    // Every tensor of the source with the current weights: latent ones
    // replaced, packed ones repacked; code and header as they are.
    std::map<std::string, format::PackedTernary> packed;
    std::map<std::string, std::pair<std::string, std::string>> partOf;
    const json &index = t.header["bitttt"].value("packed", json::object());
    for (const auto &[weight, entry] : index.items()) {
      auto it = t.params.find(weight);
      if (it == t.params.end())
        return Status::error(ErrorCode::Internal,
                             "packed weight '" + weight +
                                 "' is not a parameter of the trainer");
      const std::vector<int64_t> &shape = t.shapes.at(weight);
      // In the layout the code reads (the header was validated at load).
      format::TernaryLayout layout = format::TernaryLayout::I2B128;
      format::parseTernaryLayout(entry.value("layout", ""), layout);
      packed[weight] =
          format::packTernary(it->second.data(), shape[0], shape[1], layout);
      partOf[entry.value("codes", "")] = {weight, "codes"};
      partOf[entry.value("scale", "")] = {weight, "scale"};
    }
    // A compact LM head is requantized from the trained f32 weight
    // (docs/lm-head.md), with the quantizer the compiler used.
    std::map<std::string, std::pair<const void *, size_t>> headParts;
    std::vector<uint16_t> headBf16;
    format::Int8LMHead headInt8;
    const json &head = t.header["bitttt"].value("lm_head", json::object());
    std::string headFormat =
        head.is_object() ? head.value("format", "f32") : std::string("f32");
    if (headFormat != "f32") {
      auto it = t.params.find("lm_head.weight");
      if (it == t.params.end())
        return Status::error(ErrorCode::Internal,
                             "the LM head is not a parameter of the trainer");
      const std::vector<int64_t> &shape = t.shapes.at("lm_head.weight");
      const json &parts = head.value("parts", json::object());
      if (headFormat == "bf16") {
        headBf16 =
            format::quantizeLMHeadBF16(it->second.data(), shape[0] * shape[1]);
        headParts[parts.value("values", "")] = {headBf16.data(),
                                                headBf16.size() * 2};
      } else {
        headInt8 =
            format::quantizeLMHeadInt8(it->second.data(), shape[0], shape[1]);
        headParts[parts.value("values", "")] = {headInt8.codes.data(),
                                                headInt8.codes.size()};
        headParts[parts.value("row_scale", "")] = {headInt8.scale.data(),
                                                   headInt8.scale.size() * 4};
        headParts[parts.value("row_sum", "")] = {headInt8.rowSum.data(),
                                                 headInt8.rowSum.size() * 4};
      }
    }
    std::vector<format::TensorData> tensors;
    for (const format::TensorInfo &info : file.tensors()) {
      format::TensorData d{info.name, info.dtype, info.shape, info.data,
                           info.nbytes};
      if (auto p = t.params.find(info.name); p != t.params.end()) {
        d.data = p->second.data();
      } else if (auto h = headParts.find(info.name); h != headParts.end()) {
        if (h->second.second != info.nbytes)
          return Status::error(ErrorCode::Internal,
                               "requantizing the LM head changed '" +
                                   info.name + "''s size");
        d.data = h->second.first;
      } else if (auto q = partOf.find(info.name); q != partOf.end()) {
        const format::PackedTernary &pt = packed[q->second.first];
        if (q->second.second == "codes") {
          if (pt.codes.size() != info.nbytes)
            return Status::error(ErrorCode::Internal, "repacking '" +
                                                          q->second.first +
                                                          "' changed its size");
          d.data = pt.codes.data();
        } else {
          d.data = &pt.scale;
        }
      }
      tensors.push_back(d);
    }
    if (Status s = format::writeBittV2(bittPath, file.headerJson(), tensors,
                                       file.metadata());
        !s)
      return s;
  }
  if (modelDir) {
    std::string dir = modelDir;
    ::mkdir(dir.c_str(), 0755);
    std::vector<ckpt::TensorView> views;
    for (const std::string &name : t.names)
      views.push_back({name, t.shapes.at(name),
                       static_cast<const float *>(t.params.at(name).data())});
    if (Status s = ckpt::write(dir, "model.safetensors",
                               json{{"exported_at_step", t.step}}, views);
        !s)
      return s;
    if (Status s = format::writeFileAtomically(dir + "/config.json",
                                               configOf(t).dump(1) + "\n");
        !s)
      return s;
    const json &tok = t.header.value("tokenizer", json());
    if (!tok.is_null())
      if (Status s =
              format::writeFileAtomically(dir + "/tokenizer.json", tok.dump());
          !s)
        return s;
  }
  return Status::ok();
}

bitttt_status nullTrainer(const char *function) {
  return nullArgument(function, "trainer");
}

} // namespace

extern "C" {

bitttt_status bitttt_trainer_create(const bitttt_model *model, uint64_t seed,
                                    bitttt_trainer **out) {
  if (!out)
    return nullArgument("bitttt_trainer_create", "out");
  *out = nullptr;
  if (!model)
    return nullArgument("bitttt_trainer_create", "model");
  return guarded("bitttt_trainer_create", [&] {
    std::unique_ptr<bitttt_trainer> t;
    if (Status s = createTrainer(model, seed, t); !s)
      return report(s);
    *out = t.release();
    return BITTTT_OK;
  });
}

void bitttt_trainer_free(bitttt_trainer *trainer) { delete trainer; }

int64_t bitttt_trainer_batch(const bitttt_trainer *t) {
  return t ? t->batch : 0;
}
int64_t bitttt_trainer_context(const bitttt_trainer *t) {
  return t ? t->context : 0;
}
int64_t bitttt_trainer_step_count(const bitttt_trainer *t) {
  return t ? t->step : 0;
}
int64_t bitttt_trainer_windows_drawn(const bitttt_trainer *t) {
  return t ? t->windowsDrawn : 0;
}

bitttt_status bitttt_trainer_accumulate(bitttt_trainer *t,
                                        const int32_t *tokens, float *loss) {
  if (!t)
    return nullTrainer("bitttt_trainer_accumulate");
  if (!tokens || !loss)
    return nullArgument("bitttt_trainer_accumulate",
                        !tokens ? "tokens" : "loss");
  return guarded("bitttt_trainer_accumulate",
                 [&] { return report(accumulate(*t, tokens, *loss)); });
}

bitttt_status bitttt_trainer_apply(bitttt_trainer *t, float lr,
                                   float *gradNorm) {
  if (!t)
    return nullTrainer("bitttt_trainer_apply");
  if (!gradNorm)
    return nullArgument("bitttt_trainer_apply", "grad_norm");
  return guarded("bitttt_trainer_apply",
                 [&] { return report(apply(*t, lr, *gradNorm)); });
}

bitttt_status bitttt_trainer_step(bitttt_trainer *t, const int32_t *tokens,
                                  float lr, float *loss, float *gradNorm) {
  if (!t)
    return nullTrainer("bitttt_trainer_step");
  if (!tokens || !loss || !gradNorm)
    return nullArgument("bitttt_trainer_step", !tokens ? "tokens"
                                               : !loss ? "loss"
                                                       : "grad_norm");
  return guarded("bitttt_trainer_step", [&] {
    if (t->accumulated != 0)
      return report(Status::error(ErrorCode::InvalidArgument,
                                  "gradients are accumulated: finish them "
                                  "with bitttt_trainer_apply"));
    if (Status s = accumulate(*t, tokens, *loss); !s)
      return report(s);
    if (!std::isfinite(*loss)) {
      t->accumulated = 0;
      return report(Status::error(ErrorCode::InvalidArgument,
                                  "the loss is not finite (NaN or Inf): the "
                                  "step was not applied"));
    }
    // A refused step leaves nothing pending.
    Status s = apply(*t, lr, *gradNorm);
    t->accumulated = 0;
    return report(s);
  });
}

bitttt_status bitttt_trainer_loss(bitttt_trainer *t, const int32_t *tokens,
                                  float *loss) {
  if (!t)
    return nullTrainer("bitttt_trainer_loss");
  if (!tokens || !loss)
    return nullArgument("bitttt_trainer_loss", !tokens ? "tokens" : "loss");
  return guarded("bitttt_trainer_loss",
                 [&] { return report(t->runGrad(tokens, *loss, t->scratch)); });
}

bitttt_status bitttt_trainer_draw_windows(bitttt_trainer *t, const void *tokens,
                                          int64_t n, int32_t tokenBytes,
                                          int32_t *out, int64_t windows) {
  if (!t)
    return nullTrainer("bitttt_trainer_draw_windows");
  if (!tokens || !out)
    return nullArgument("bitttt_trainer_draw_windows",
                        !tokens ? "tokens" : "out");
  return guarded("bitttt_trainer_draw_windows", [&] {
    if (tokenBytes != 2 && tokenBytes != 4)
      return report(Status::error(ErrorCode::InvalidArgument,
                                  "token_bytes must be 2 or 4"));
    if (n < t->context + 1 || windows < 0)
      return report(Status::error(ErrorCode::InvalidArgument,
                                  "the token data holds " + std::to_string(n) +
                                      " tokens; a window needs context + 1 = " +
                                      std::to_string(t->context + 1)));
    const auto *bytes = static_cast<const uint8_t *>(tokens);
    uint64_t span = uint64_t(n - t->context);
    for (int64_t w = 0; w < windows; ++w) {
      uint64_t o = t->rng.next() % span;
      for (int64_t i = 0; i <= t->context; ++i) {
        const uint8_t *p = bytes + (o + uint64_t(i)) * uint64_t(tokenBytes);
        uint32_t id = tokenBytes == 2 ? uint32_t(p[0] | p[1] << 8)
                                      : uint32_t(p[0] | p[1] << 8 | p[2] << 16 |
                                                 uint32_t(p[3]) << 24);
        out[w * (t->context + 1) + i] = int32_t(id);
      }
      ++t->windowsDrawn;
    }
    return BITTTT_OK;
  });
}

bitttt_status bitttt_trainer_save(const bitttt_trainer *t, const char *dir,
                                  const char *file, const char *extra) {
  if (!t)
    return nullTrainer("bitttt_trainer_save");
  if (!dir || !file)
    return nullArgument("bitttt_trainer_save", !dir ? "dir" : "file");
  return guarded("bitttt_trainer_save",
                 [&] { return report(save(*t, dir, file, extra)); });
}

bitttt_status bitttt_trainer_load(bitttt_trainer *t, const char *path,
                                  const char **extra) {
  if (!t)
    return nullTrainer("bitttt_trainer_load");
  if (!path)
    return nullArgument("bitttt_trainer_load", "path");
  return guarded("bitttt_trainer_load", [&] {
    if (Status s = load(*t, path); !s)
      return report(s);
    if (extra)
      *extra = t->extra.c_str();
    return BITTTT_OK;
  });
}

bitttt_status bitttt_trainer_export(const bitttt_trainer *t,
                                    const char *bittPath,
                                    const char *modelDir) {
  if (!t)
    return nullTrainer("bitttt_trainer_export");
  return guarded("bitttt_trainer_export",
                 [&] { return report(exportModel(*t, bittPath, modelDir)); });
}

bitttt_status bitttt_trainer_resume(bitttt_trainer *t, const char *dir,
                                    const char **path, const char **extra) {
  if (!t)
    return nullTrainer("bitttt_trainer_resume");
  if (!dir)
    return nullArgument("bitttt_trainer_resume", "dir");
  return guarded("bitttt_trainer_resume", [&] {
    auto files = ckpt::list(dir);
    std::string skipped;
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
      const std::string &file = it->second;
      Status s = load(*t, file);
      if (s) {
        t->resumedFrom = file;
        if (path)
          *path = t->resumedFrom.c_str();
        if (extra)
          *extra = t->extra.c_str();
        return BITTTT_OK;
      }
      // Another model or shapes: refuse rather than fall back silently.
      if (s.code() == ErrorCode::InvalidArgument)
        return report(s);
      std::fprintf(stderr, "bitttt: skipping checkpoint %s\n",
                   s.message().c_str());
      skipped += skipped.empty() ? "" : "; ";
      skipped += s.message();
    }
    return report(Status::error(
        ErrorCode::IO, std::string(dir) + ": no valid checkpoint to resume" +
                           (skipped.empty() ? "" : " (" + skipped + ")")));
  });
}

bitttt_status bitttt_checkpoint_prune(const char *dir, int keep) {
  if (!dir)
    return nullArgument("bitttt_checkpoint_prune", "dir");
  return guarded("bitttt_checkpoint_prune",
                 [&] { return report(ckpt::prune(dir, keep)); });
}

bitttt_status bitttt_checkpoint_mark_best(const char *dir, const char *file) {
  if (!dir || !file)
    return nullArgument("bitttt_checkpoint_mark_best", !dir ? "dir" : "file");
  return guarded("bitttt_checkpoint_mark_best",
                 [&] { return report(ckpt::markBest(dir, file)); });
}

bitttt_status bitttt_trainer_param(bitttt_trainer *t, const char *name,
                                   float **data, int64_t *count) {
  if (!t)
    return nullTrainer("bitttt_trainer_param");
  if (!name || !data || !count)
    return nullArgument("bitttt_trainer_param", !name ? "name" : "data");
  return guarded("bitttt_trainer_param", [&] {
    auto it = t->params.find(name);
    if (it == t->params.end())
      return report(Status::error(ErrorCode::InvalidArgument,
                                  std::string("no parameter '") + name + "'"));
    *data = static_cast<float *>(it->second.data());
    *count = product(t->shapes[name]);
    return BITTTT_OK;
  });
}

} // extern "C"
