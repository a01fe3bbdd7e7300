//===- TokenizerJson.cpp - tokenizer.json in and out ----------------------===//
//
// Reads the parts of the Hugging Face format a byte-level BPE tokenizer
// uses into bitttt_tokenizer's tables, refusing anything else with the
// file and the field.
//
//===----------------------------------------------------------------------===//
#include "Regex.h"
#include "Tokenizer.h"
#include "bitttt/Format/JsonDepth.h"

#include <nlohmann/json.hpp>

#include <algorithm>

using bitttt::format::ErrorCode;
using bitttt::format::Status;
using nlohmann::json;
using namespace bitttt::rt;

namespace {

/// Ids are dense tables; this bounds what a file can make us allocate.
constexpr int64_t kMaxId = int64_t(1) << 24;

std::string quote(const std::string &s) { return "'" + s + "'"; }

class Loader {
public:
  Loader(const std::string &name, const std::string &prefix,
         bitttt_tokenizer &t)
      : name_(name), prefix_(prefix), t_(t) {}

  Status load(const json &doc);

private:
  Status error(const std::string &field, const std::string &what,
               ErrorCode code = ErrorCode::Format) const {
    std::string where = prefix_ + field;
    if (field.empty() && !where.empty() && where.back() == '.')
      where.pop_back();
    return Status::error(code, name_ + ": " +
                                   (where.empty() ? "" : where + ": ") + what);
  }
  Status unsupported(const std::string &field, const std::string &what) const {
    return error(field, what, ErrorCode::Unsupported);
  }
  /// The string `j[key]`, or `fallback` when absent or null (`present`
  /// tells which).
  Status optString(const json &j, const char *key, const std::string &field,
                   std::string &out, bool *present = nullptr) const;
  Status optBool(const json &j, const char *key, const std::string &field,
                 bool fallback, bool &out) const;
  Status id(const json &j, const std::string &field, int32_t &out) const;
  /// The type of a tagged section ("type": "ByteLevel").
  Status type(const json &j, const std::string &field, std::string &out) const;

  Status loadModel(const json &model);
  Status loadMerges(const json &merges);
  Status loadAddedTokens(const json &added);
  Status loadNormalizer(const json &normalizer);
  Status loadPreTokenizer(const json &p, const std::string &field);
  Status loadPostProcessor(const json &p, const std::string &field);
  Status templateIds(const json &special, const std::string &name,
                     const std::string &field, std::vector<int32_t> &ids);
  Status loadDecoder(const json &decoder);
  Status finish();

  const std::string &name_, &prefix_;
  bitttt_tokenizer &t_;
  std::shared_ptr<const Regex> gpt2_;
};

Status Loader::optString(const json &j, const char *key,
                         const std::string &field, std::string &out,
                         bool *present) const {
  auto it = j.find(key);
  bool has = it != j.end() && !it->is_null();
  if (present)
    *present = has;
  if (!has)
    return Status::ok();
  if (!it->is_string())
    return error(field, "expected a string or null");
  out = it->get<std::string>();
  return Status::ok();
}

Status Loader::optBool(const json &j, const char *key, const std::string &field,
                       bool fallback, bool &out) const {
  auto it = j.find(key);
  out = fallback;
  if (it == j.end() || it->is_null())
    return Status::ok();
  if (!it->is_boolean())
    return error(field, "expected true or false");
  out = it->get<bool>();
  return Status::ok();
}

Status Loader::id(const json &j, const std::string &field, int32_t &out) const {
  if (!j.is_number_integer())
    return error(field, "expected an integer id");
  int64_t v = j.is_number_unsigned()
                  ? int64_t(std::min<uint64_t>(j.get<uint64_t>(), kMaxId))
                  : j.get<int64_t>();
  if (v < 0 || v >= kMaxId)
    return error(field, "id " + j.dump() + " is outside [0, " +
                            std::to_string(kMaxId) + ")");
  out = int32_t(v);
  return Status::ok();
}

Status Loader::type(const json &j, const std::string &field,
                    std::string &out) const {
  if (!j.is_object())
    return error(field, "expected an object");
  auto it = j.find("type");
  if (it == j.end() || !it->is_string())
    return error(field + ".type", "missing or not a string");
  out = it->get<std::string>();
  return Status::ok();
}

Status Loader::load(const json &doc) {
  if (!doc.is_object())
    return error("", "not a JSON object");
  auto section = [&](const char *key) -> const json & {
    static const json null;
    auto it = doc.find(key);
    return it == doc.end() ? null : *it;
  };
  t_.sections = std::make_unique<json>(json::object());
  for (const char *key : {"version", "truncation", "padding", "normalizer",
                          "pre_tokenizer", "post_processor", "decoder"})
    (*t_.sections)[key] = section(key);
  if (section("version").is_null())
    (*t_.sections)["version"] = "1.0";
  auto model = doc.find("model");
  if (model == doc.end())
    return error("model", "missing");
  if (Status s = loadModel(*model); !s)
    return s;
  if (Status s = loadAddedTokens(section("added_tokens")); !s)
    return s;
  if (Status s = loadNormalizer(section("normalizer")); !s)
    return s;
  if (section("pre_tokenizer").is_null())
    return unsupported("pre_tokenizer", "null; a byte-level BPE needs the "
                                        "ByteLevel pre-tokenizer");
  if (Status s = loadPreTokenizer(section("pre_tokenizer"), "pre_tokenizer");
      !s)
    return s;
  if (t_.preTokenizer.back().kind != PreTokenizerStep::Kind::ByteLevel)
    return unsupported("pre_tokenizer",
                       "the last step must be ByteLevel (the byte-to-"
                       "character map the vocab is spelled in)");
  for (size_t i = 0; i + 1 < t_.preTokenizer.size(); ++i)
    if (t_.preTokenizer[i].kind == PreTokenizerStep::Kind::ByteLevel)
      return unsupported("pre_tokenizer",
                         "ByteLevel may only be the last step of the "
                         "sequence");
  if (Status s = finish(); !s)
    return s;
  const json &post = section("post_processor");
  if (!post.is_null())
    if (Status s = loadPostProcessor(post, "post_processor"); !s)
      return s;
  return loadDecoder(section("decoder"));
}

Status Loader::loadModel(const json &model) {
  if (!model.is_object())
    return error("model", "expected an object");
  auto typeIt = model.find("type");
  if (typeIt != model.end() && !(typeIt->is_string() && *typeIt == "BPE"))
    return unsupported("model.type",
                       typeIt->dump() + " is not supported (only \"BPE\")");
  auto vocabIt = model.find("vocab");
  if (vocabIt == model.end() || !vocabIt->is_object())
    return error("model.vocab", "missing or not an object");
  t_.vocab.reserve(vocabIt->size());
  for (const auto &[token, value] : vocabIt->items()) {
    int32_t v = 0;
    if (Status s = id(value, "model.vocab[" + quote(token) + "]", v); !s)
      return s;
    if (size_t(v) >= t_.tokens.size()) {
      t_.tokens.resize(size_t(v) + 1);
      t_.inVocab.resize(size_t(v) + 1, 0);
    }
    if (t_.inVocab[v])
      return error("model.vocab",
                   "id " + std::to_string(v) + " is given to both " +
                       quote(t_.tokens[v]) + " and " + quote(token));
    t_.inVocab[v] = 1;
    t_.tokens[v] = token;
    t_.vocab.emplace(token, v);
  }
  auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0))
    return unsupported("model.dropout", dropout->dump() +
                                            " (BPE dropout) is not supported; "
                                            "use null");
  if (Status s = optString(model, "unk_token", "model.unk_token", t_.unkToken,
                           &t_.hasUnk);
      !s)
    return s;
  if (t_.hasUnk) {
    auto it = t_.vocab.find(t_.unkToken);
    if (it == t_.vocab.end())
      return error("model.unk_token",
                   quote(t_.unkToken) + " is not in model.vocab");
    t_.unkId = it->second;
  }
  if (Status s = optString(model, "continuing_subword_prefix",
                           "model.continuing_subword_prefix", t_.prefix,
                           &t_.hasPrefix);
      !s)
    return s;
  if (Status s =
          optString(model, "end_of_word_suffix", "model.end_of_word_suffix",
                    t_.suffix, &t_.hasSuffix);
      !s)
    return s;
  if (Status s =
          optBool(model, "fuse_unk", "model.fuse_unk", false, t_.fuseUnk);
      !s)
    return s;
  if (Status s = optBool(model, "byte_fallback", "model.byte_fallback", false,
                         t_.byteFallback);
      !s)
    return s;
  if (Status s = optBool(model, "ignore_merges", "model.ignore_merges", false,
                         t_.ignoreMerges);
      !s)
    return s;
  auto merges = model.find("merges");
  if (merges == model.end() || !merges->is_array())
    return error("model.merges", "missing or not an array");
  return loadMerges(*merges);
}

Status Loader::loadMerges(const json &merges) {
  t_.merges.reserve(merges.size());
  t_.mergeList.reserve(merges.size());
  size_t prefixLength = t_.hasPrefix ? t_.prefix.size() : 0;
  for (size_t i = 0; i < merges.size(); ++i) {
    const json &m = merges[i];
    std::string field = "model.merges[" + std::to_string(i) + "]";
    std::string a, b;
    if (m.is_string()) {
      // The legacy "a b" form: exactly one space, as the package splits it.
      const std::string &text = m.get_ref<const std::string &>();
      size_t space = text.find(' ');
      if (space == std::string::npos ||
          text.find(' ', space + 1) != std::string::npos)
        return error(field, m.dump() + " is not two tokens separated by "
                                       "one space");
      a = text.substr(0, space);
      b = text.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() &&
               m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      return error(field, "expected \"a b\" or [\"a\", \"b\"]");
    }
    auto ia = t_.vocab.find(a), ib = t_.vocab.find(b);
    if (ia == t_.vocab.end())
      return error(field, quote(a) + " is not in model.vocab");
    if (ib == t_.vocab.end())
      return error(field, quote(b) + " is not in model.vocab");
    if (b.size() < prefixLength)
      return error(field, quote(b) + " is shorter than the continuing-"
                                     "subword prefix");
    std::string merged = a + b.substr(prefixLength);
    auto im = t_.vocab.find(merged);
    if (im == t_.vocab.end())
      return error(field, "the merge of " + quote(a) + " and " + quote(b) +
                              ", " + quote(merged) + ", is not in model.vocab");
    t_.merges.set(ia->second, ib->second, uint32_t(i), im->second);
    t_.mergeList.emplace_back(ia->second, ib->second);
  }
  return Status::ok();
}

Status Loader::loadAddedTokens(const json &added) {
  if (added.is_null())
    return Status::ok();
  if (!added.is_array())
    return error("added_tokens", "expected an array");
  for (size_t i = 0; i < added.size(); ++i) {
    const json &a = added[i];
    std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!a.is_object())
      return error(field, "expected an object");
    auto token = std::make_unique<AddedToken>();
    auto idIt = a.find("id");
    if (idIt == a.end())
      return error(field + ".id", "missing");
    if (Status s = id(*idIt, field + ".id", token->id); !s)
      return s;
    auto content = a.find("content");
    if (content == a.end() || !content->is_string())
      return error(field + ".content", "missing or not a string");
    token->content = content->get<std::string>();
    if (Status s =
            optBool(a, "special", field + ".special", false, token->special);
        !s)
      return s;
    const std::tuple<const char *, bool *, bool> flags[] = {
        {"single_word", &token->singleWord, false},
        {"lstrip", &token->lstrip, false},
        {"rstrip", &token->rstrip, false},
        {"normalized", &token->normalized, !token->special}};
    for (auto [key, flag, fallback] : flags)
      if (Status s = optBool(a, key, field + "." + key, fallback, *flag); !s)
        return s;
    t_.addedByContent[token->content] = token->id;
    (token->normalized ? t_.normalizedAdded : t_.rawAdded).add(token.get());
    t_.added.push_back(std::move(token));
  }
  return Status::ok();
}

Status Loader::loadNormalizer(const json &normalizer) {
  if (normalizer.is_null())
    return Status::ok();
  std::string kind;
  if (Status s = type(normalizer, "normalizer", kind); !s)
    return s;
  auto list = normalizer.find("normalizers");
  if (kind == "Sequence" && list != normalizer.end() && list->is_array() &&
      list->empty())
    return Status::ok();
  return unsupported("normalizer",
                     "type " + quote(kind) + " is not supported (only null)");
}

Status Loader::loadPreTokenizer(const json &p, const std::string &field) {
  std::string kind;
  if (Status s = type(p, field, kind); !s)
    return s;
  if (kind == "Sequence") {
    auto list = p.find("pretokenizers");
    if (list == p.end() || !list->is_array() || list->empty())
      return error(field + ".pretokenizers", "missing or an empty array");
    for (size_t i = 0; i < list->size(); ++i)
      if (Status s = loadPreTokenizer((*list)[i], field + ".pretokenizers[" +
                                                      std::to_string(i) + "]");
          !s)
        return s;
    return Status::ok();
  }
  PreTokenizerStep step;
  if (kind == "ByteLevel") {
    bool useRegex = true;
    if (Status s = optBool(p, "add_prefix_space", field + ".add_prefix_space",
                           true, step.addPrefixSpace);
        !s)
      return s;
    if (Status s =
            optBool(p, "use_regex", field + ".use_regex", true, useRegex);
        !s)
      return s;
    if (useRegex) {
      if (!gpt2_) {
        std::unique_ptr<Regex> re;
        if (Status s = Regex::compile(kGpt2Pattern, false, re); !s)
          return error(field, s.message(), ErrorCode::Internal);
        gpt2_ = std::move(re);
      }
      step.regex = gpt2_;
    }
    t_.preTokenizer.push_back(std::move(step));
    return Status::ok();
  }
  step.kind = PreTokenizerStep::Kind::Split;
  std::string pattern, behavior;
  bool literal = false;
  if (kind == "Split") {
    auto pat = p.find("pattern");
    if (pat == p.end() || !pat->is_object() || pat->size() != 1 ||
        !pat->begin().value().is_string() ||
        (pat->begin().key() != "Regex" && pat->begin().key() != "String"))
      return error(field + ".pattern",
                   "expected {\"Regex\": \"...\"} or {\"String\": \"...\"}");
    literal = pat->begin().key() == "String";
    pattern = pat->begin().value().get<std::string>();
    auto b = p.find("behavior");
    if (b == p.end() || !b->is_string())
      return error(field + ".behavior", "missing or not a string");
    behavior = b->get<std::string>();
    if (Status s = optBool(p, "invert", field + ".invert", false, step.invert);
        !s)
      return s;
  } else if (kind == "Digits") {
    // Digits splits on char::is_numeric, each digit alone or in runs.
    bool individual = false;
    if (Status s = optBool(p, "individual_digits", field + ".individual_digits",
                           false, individual);
        !s)
      return s;
    pattern = "\\p{N}";
    behavior = individual ? "Isolated" : "Contiguous";
  } else {
    return unsupported(field, "type " + quote(kind) +
                                  " is not supported (ByteLevel, Split, "
                                  "Digits and Sequence are)");
  }
  static const std::pair<const char *, PreTokenizerStep::Behavior> behaviors[] =
      {{"Removed", PreTokenizerStep::Behavior::Removed},
       {"Isolated", PreTokenizerStep::Behavior::Isolated},
       {"MergedWithPrevious", PreTokenizerStep::Behavior::MergedWithPrevious},
       {"MergedWithNext", PreTokenizerStep::Behavior::MergedWithNext},
       {"Contiguous", PreTokenizerStep::Behavior::Contiguous}};
  auto known = std::find_if(std::begin(behaviors), std::end(behaviors),
                            [&](const auto &b) { return behavior == b.first; });
  if (known == std::end(behaviors))
    return error(field + ".behavior", quote(behavior) + " is not a behavior");
  step.behavior = known->second;
  std::unique_ptr<Regex> re;
  if (Status s = Regex::compile(pattern, literal, re); !s)
    return error(field + ".pattern", s.message());
  step.regex = std::move(re);
  t_.preTokenizer.push_back(std::move(step));
  return Status::ok();
}

Status Loader::templateIds(const json &special, const std::string &name,
                           const std::string &field,
                           std::vector<int32_t> &ids) {
  auto entry = special.is_object() ? special.find(name) : special.end();
  if (entry == special.end())
    return error(field, quote(name) + " is not in special_tokens");
  auto list = entry->find("ids");
  if (list == entry->end() || !list->is_array())
    return error(field, "special_tokens[" + quote(name) +
                            "].ids is missing or not an array");
  for (const json &v : *list) {
    int32_t i = 0;
    if (Status s = id(v, field, i); !s)
      return s;
    ids.push_back(i);
  }
  return Status::ok();
}

Status Loader::loadPostProcessor(const json &p, const std::string &field) {
  std::string kind;
  if (Status s = type(p, field, kind); !s)
    return s;
  if (kind == "ByteLevel")
    return Status::ok(); // offsets only
  if (kind == "Sequence") {
    auto list = p.find("processors");
    if (list == p.end() || !list->is_array())
      return error(field + ".processors", "missing or not an array");
    for (size_t i = 0; i < list->size(); ++i)
      if (Status s = loadPostProcessor((*list)[i], field + ".processors[" +
                                                       std::to_string(i) + "]");
          !s)
        return s;
    return Status::ok();
  }
  std::vector<TemplateItem> items;
  if (kind == "TemplateProcessing") {
    auto single = p.find("single");
    auto special = p.find("special_tokens");
    if (single == p.end() || !single->is_array())
      return error(field + ".single", "missing or not an array");
    static const json none = json::object();
    const json &specials = special == p.end() ? none : *special;
    for (size_t i = 0; i < single->size(); ++i) {
      const json &item = (*single)[i];
      std::string where = field + ".single[" + std::to_string(i) + "]";
      TemplateItem t;
      if (item.is_object() && item.contains("Sequence")) {
        const json &seq = item["Sequence"];
        if (!seq.is_object() || seq.value("id", "") != "A")
          return unsupported(where, "only sequence A can be part of a "
                                    "single-sequence template");
        t.sequence = true;
      } else if (item.is_object() && item.contains("SpecialToken") &&
                 item["SpecialToken"].is_object() &&
                 item["SpecialToken"].contains("id") &&
                 item["SpecialToken"]["id"].is_string()) {
        if (Status s = templateIds(
                specials, item["SpecialToken"]["id"].get<std::string>(), where,
                t.ids);
            !s)
          return s;
      } else {
        return error(where, "expected {\"Sequence\": ...} or "
                            "{\"SpecialToken\": {\"id\": ...}}");
      }
      items.push_back(std::move(t));
    }
  } else if (kind == "RobertaProcessing" || kind == "BertProcessing") {
    // [cls] $A [sep]
    TemplateItem cls, sequence, sep;
    sequence.sequence = true;
    const std::pair<const char *, TemplateItem *> ends[] = {{"cls", &cls},
                                                            {"sep", &sep}};
    for (auto [key, item] : ends) {
      auto it = p.find(key);
      int32_t i = 0;
      if (it == p.end() || !it->is_array() || it->size() != 2)
        return error(field + "." + key, "expected [\"token\", id]");
      if (Status s = id((*it)[1], field + "." + key, i); !s)
        return s;
      item->ids.push_back(i);
    }
    items = {cls, sequence, sep};
  } else {
    return unsupported(field, "type " + quote(kind) +
                                  " is not supported (ByteLevel, "
                                  "TemplateProcessing, RobertaProcessing, "
                                  "BertProcessing and Sequence are)");
  }
  for (const TemplateItem &item : items)
    for (int32_t i : item.ids)
      if (size_t(i) >= t_.vocabSize ||
          !(t_.flags[i] & bitttt_tokenizer::kPresent))
        return error(field,
                     "id " + std::to_string(i) + " is not in the vocabulary");
  t_.templates.push_back(std::move(items));
  return Status::ok();
}

Status Loader::loadDecoder(const json &decoder) {
  if (decoder.is_null())
    return unsupported("decoder", "null; a byte-level BPE needs the "
                                  "ByteLevel decoder");
  std::string kind;
  if (Status s = type(decoder, "decoder", kind); !s)
    return s;
  if (kind != "ByteLevel")
    return unsupported("decoder", "type " + quote(kind) +
                                      " is not supported (only ByteLevel)");
  return Status::ok();
}

Status Loader::finish() {
  if (!t_.buildTables())
    return error("model.vocab", "the tokens are too long");
  return Status::ok();
}

} // namespace

Status bitttt::rt::loadTokenizer(const json &doc, const std::string &name,
                                 const std::string &fieldPrefix,
                                 std::unique_ptr<bitttt_tokenizer> &out) {
  auto t = std::make_unique<bitttt_tokenizer>();
  if (Status s = Loader(name, fieldPrefix, *t).load(doc); !s)
    return s;
  out = std::move(t);
  return Status::ok();
}

Status bitttt::rt::parseTokenizer(std::string_view text,
                                  const std::string &name,
                                  std::unique_ptr<bitttt_tokenizer> &out) {
  if (std::string deep = bitttt::format::jsonDepthError(text); !deep.empty())
    return Status::error(ErrorCode::Format, name + ": malformed JSON: " + deep);
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error &e) {
    return Status::error(ErrorCode::Format, name + ": malformed JSON at byte " +
                                                std::to_string(e.byte) + ": " +
                                                e.what());
  } catch (const json::exception &e) {
    // A number beyond double's range (out_of_range.406) is not a parse_error.
    return Status::error(ErrorCode::Format,
                         name + ": malformed JSON: " + e.what());
  }
  return loadTokenizer(doc, name, "", out);
}
