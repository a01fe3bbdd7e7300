//===- TokenizerSave.cpp - bitttt_tokenizer -> tokenizer.json -------------===//
//
// The format back: vocab in id order, merges as pairs (as the `tokenizers`
// package 0.20+ writes them), added tokens by id, the other sections as
// they were read. Written by hand so the vocab keeps its id order.
//
//===----------------------------------------------------------------------===//
#include "Tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>

using nlohmann::json;
using namespace bitttt::rt;

namespace {
void appendJson(std::string &out, const json &j) { out += j.dump(); }
} // namespace

std::string bitttt::rt::tokenizerJson(const bitttt_tokenizer &t) {
  const json &sections = *t.sections;
  std::string out = "{\n";
  auto field = [&](const char *key, const json &value) {
    out += "  \"";
    out += key;
    out += "\": ";
    appendJson(out, value);
    out += ",\n";
  };
  for (const char *key : {"version", "truncation", "padding"})
    field(key, sections[key]);
  // By id, in file order among equal ids (std::stable_sort's buffer is
  // deprecated in this libstdc++).
  std::vector<size_t> order(t.added.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::make_pair(t.added[a]->id, a) <
           std::make_pair(t.added[b]->id, b);
  });
  std::vector<const AddedToken *> added;
  for (size_t i : order)
    added.push_back(t.added[i].get());
  out += "  \"added_tokens\": [";
  for (size_t i = 0; i < added.size(); ++i) {
    const AddedToken &a = *added[i];
    out += i ? ",\n    " : "\n    ";
    json entry = {{"id", a.id},
                  {"content", a.content},
                  {"single_word", a.singleWord},
                  {"lstrip", a.lstrip},
                  {"rstrip", a.rstrip},
                  {"normalized", a.normalized},
                  {"special", a.special}};
    appendJson(out, entry);
  }
  out += added.empty() ? "],\n" : "\n  ],\n";
  for (const char *key :
       {"normalizer", "pre_tokenizer", "post_processor", "decoder"})
    field(key, sections[key]);
  auto optional = [](bool present, const std::string &s) {
    return present ? json(s) : json(nullptr);
  };
  out += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n";
  out += "    \"unk_token\": " + optional(t.hasUnk, t.unkToken).dump() + ",\n";
  out += "    \"continuing_subword_prefix\": " +
         optional(t.hasPrefix, t.prefix).dump() + ",\n";
  out +=
      "    \"end_of_word_suffix\": " + optional(t.hasSuffix, t.suffix).dump() +
      ",\n";
  out += std::string("    \"fuse_unk\": ") + (t.fuseUnk ? "true" : "false") +
         ",\n    \"byte_fallback\": " + (t.byteFallback ? "true" : "false") +
         ",\n    \"ignore_merges\": " + (t.ignoreMerges ? "true" : "false") +
         ",\n    \"vocab\": {";
  bool first = true;
  for (size_t i = 0; i < t.tokens.size(); ++i)
    if (t.inVocab[i]) {
      out += first ? "\n      " : ",\n      ";
      first = false;
      appendJson(out, json(t.tokens[i]));
      out += ": " + std::to_string(i);
    }
  out += "\n    },\n    \"merges\": [";
  for (size_t i = 0; i < t.mergeList.size(); ++i) {
    out += i ? ",\n      " : "\n      ";
    json pair = json::array(
        {t.tokens[t.mergeList[i].first], t.tokens[t.mergeList[i].second]});
    appendJson(out, pair);
  }
  out += t.mergeList.empty() ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n";
  return out;
}
