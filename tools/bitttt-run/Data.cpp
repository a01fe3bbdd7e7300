//===- Data.cpp - bitttt-run data prepare: text → token files -------------===//
//
// Documents (a text file each, or a JSONL record's field) are tokenized and
// written as train.bin / val.bin (u16 little endian when the vocabulary
// fits, else train.u32.bin / val.u32.bin), each document followed by the
// end-of-text token. The last documents (about --val-fraction of the bytes)
// go to val; a single document is cut at a line boundary instead. Decoding
// train then val gives the documents back, joined by the end-of-text token.
//
//===----------------------------------------------------------------------===//
#include "Common.h"
#include "bitttt/Format/JsonDepth.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include <sys/stat.h>

namespace bitttt::run {
namespace {

struct DataOptions {
  std::string tokenizer, out, field = "text", eos = "auto";
  double valFraction = 0.1;
  std::vector<std::string> inputs;
};

bool isJsonl(const std::string &path) {
  return path.size() > 6 && (path.compare(path.size() - 6, 6, ".jsonl") == 0);
}

/// The documents of every input, in order.
std::vector<std::string> readDocuments(const DataOptions &o) {
  std::vector<std::string> docs;
  for (const std::string &path : o.inputs) {
    std::string text = readFile(path);
    if (!isJsonl(path)) {
      docs.push_back(std::move(text));
      continue;
    }
    size_t lineNo = 0, start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos)
        end = text.size();
      ++lineNo;
      std::string line = text.substr(start, end - start);
      start = end + 1;
      if (line.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      std::string where = path + ":" + std::to_string(lineNo);
      if (std::string deep = bitttt::format::jsonDepthError(line);
          !deep.empty())
        throw Error(where + ": " + deep);
      nlohmann::json record =
          nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (record.is_discarded() || !record.is_object())
        throw Error(where + ": not a JSON object");
      auto value = record.find(o.field);
      if (value == record.end())
        throw Error(where + ": no field '" + o.field + "' (see --field)");
      if (!value->is_string())
        throw Error(where + ": field '" + o.field + "' is " +
                    value->type_name() + ", expected a string");
      docs.push_back(value->get<std::string>());
    }
  }
  return docs;
}

void run(const DataOptions &o) {
  TokenizerHandle t;
  check(bitttt_tokenizer_load(o.tokenizer.c_str(), &t.tokenizer));
  int32_t eos = -1;
  if (o.eos == "auto") {
    if (bitttt_tokenizer_eos(t.tokenizer, &eos) != BITTTT_OK)
      eos = -1;
  } else if (o.eos != "none") {
    check(bitttt_tokenizer_token_id(t.tokenizer, o.eos.c_str(), &eos));
  }
  std::vector<std::string> docs = readDocuments(o);
  if (docs.empty())
    throw Error("data prepare: the inputs hold no documents");
  // Which documents (or which part of the only one) are for validation.
  uint64_t total = 0;
  for (const std::string &d : docs)
    total += d.size();
  std::vector<std::string> train, val;
  if (o.valFraction > 0 && docs.size() == 1) {
    const std::string &d = docs[0];
    size_t cut = size_t(double(d.size()) * (1 - o.valFraction));
    size_t nl = d.rfind('\n', cut);
    cut = nl == std::string::npos ? cut : nl + 1;
    train.push_back(d.substr(0, cut));
    val.push_back(d.substr(cut));
  } else {
    uint64_t valBytes = 0;
    size_t first = docs.size();
    while (o.valFraction > 0 && first > 1 &&
           double(valBytes) < o.valFraction * double(total))
      valBytes += docs[--first].size();
    train.assign(docs.begin(), docs.begin() + long(first));
    val.assign(docs.begin() + long(first), docs.end());
  }
  size_t vocab = bitttt_tokenizer_vocab_size(t.tokenizer);
  bool wide = vocab > 65536;
  Progress progress("tokenizing", total, "B");
  uint64_t doneBytes = 0;
  auto tokenize = [&](const std::vector<std::string> &part, bool lastIsCut) {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < part.size(); ++i) {
      std::vector<int32_t> piece = encode(t.tokenizer, part[i], false);
      ids.insert(ids.end(), piece.begin(), piece.end());
      if (eos >= 0 && !(lastIsCut && i + 1 == part.size()))
        ids.push_back(eos);
      progress.update(doneBytes += part[i].size());
    }
    return ids;
  };
  bool cut = docs.size() == 1 && o.valFraction > 0;
  std::vector<int32_t> trainIds = tokenize(train, cut),
                       valIds = tokenize(val, false);
  ::mkdir(o.out.c_str(), 0755);
  const char *ext = tokenFileSuffix(wide);
  writeTokenFile(o.out + "/train" + ext, trainIds, wide);
  writeTokenFile(o.out + "/val" + ext, valIds, wide);
  nlohmann::json meta = {{"tokenizer", o.tokenizer},
                         {"vocab_size", vocab},
                         {"dtype", wide ? "u32" : "u16"},
                         {"documents", docs.size()},
                         {"train_tokens", trainIds.size()},
                         {"val_tokens", valIds.size()},
                         {"eos", eos}};
  writeFileAtomic(o.out + "/meta.json", meta.dump(1) + "\n");
  std::printf("%zu documents, %llu bytes -> %s/train%s (%zu tokens), "
              "%s/val%s (%zu tokens), %s\n",
              docs.size(), static_cast<unsigned long long>(total),
              o.out.c_str(), ext, trainIds.size(), o.out.c_str(), ext,
              valIds.size(), wide ? "u32" : "u16");
}

} // namespace

void addData(CLI::App &app) {
  CLI::App *data = app.add_subcommand("data", "Prepare training data");
  data->require_subcommand(1);
  auto o = std::make_shared<DataOptions>();
  CLI::App *cmd = data->add_subcommand(
      "prepare",
      "Tokenize text files (one document each) or JSONL files (one "
      "document per record's --field) into DIR/train.bin and DIR/val.bin "
      "(u16 when the vocabulary fits, else .u32.bin), each document "
      "followed by the end-of-text token; the last documents (about "
      "--val-fraction of the bytes) are the validation set.");
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json to use")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--val-fraction", o->valFraction,
                  "Share of the text for validation")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--field", o->field, "JSONL field holding the text")
      ->capture_default_str();
  cmd->add_option("--eos", o->eos,
                  "Token after each document: auto (the tokenizer's "
                  "end-of-text), none, or a token")
      ->capture_default_str();
  cmd->add_option("-o,--output", o->out, "Output directory")->required();
  cmd->add_option("IN", o->inputs, "Text or .jsonl files")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->callback([o] { run(*o); });
}

} // namespace bitttt::run
