//===- TokenizerTest.cpp - bitttt_tokenizer_*: C-level edge cases ---------===//
//
// The encodings themselves are checked against the `tokenizers` package in
// python/tests/test_tokenizer.py; these are the C API's contracts: buffer
// sizes, NULLs, bad ids, concurrent encodes, atomic saves, and the
// tokenizer a model's header carries.
//
//===----------------------------------------------------------------------===//
#include "ToyModel.h"

#include <thread>

using bitttt::test::expectLastError;
using bitttt::test::readBytes;
using bitttt::test::TempDir;
using bitttt::test::ToyFile;
using bitttt::test::ToyModel;
using bitttt::test::writeBytes;
using nlohmann::json;

namespace {

const char *kCorpus =
    "The quick brown fox jumps over the lazy dog. The dog sleeps.\n"
    "def tokenize(text):\n    return [t for t in text.split()]\n"
    "Numbers 12345 and 67890; caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac"
    "\xe8\xaa\x9e \xf0\x9f\x98\x80\n"
    "the the the quick quick brown brown fox fox over over lazy lazy\n";

/// A tokenizer trained on kCorpus (a few hundred ids).
class Tokenizer : public ::testing::Test {
protected:
  void SetUp() override {
    std::string corpus = dir.file("corpus.txt");
    std::string text;
    for (int i = 0; i < 20; ++i)
      text += kCorpus;
    writeBytes(corpus, text);
    bitttt_bpe_train_params p = bitttt_bpe_train_default_params();
    p.vocab_size = 330;
    const char *specials[] = {"<|endoftext|>"};
    p.special_tokens = specials;
    p.n_special = 1;
    p.show_progress = 0;
    const char *files[] = {corpus.c_str()};
    ASSERT_EQ(bitttt_tokenizer_train(files, 1, &p, &tok), BITTTT_OK)
        << bitttt_last_error();
  }
  void TearDown() override { bitttt_tokenizer_free(tok); }

  std::vector<int32_t> encode(const bitttt_tokenizer *t,
                              const std::string &text) {
    std::vector<int32_t> ids(text.size() + 8);
    size_t n = 0;
    EXPECT_EQ(bitttt_tokenizer_encode(t, text.data(), text.size(), 1,
                                      ids.data(), ids.size(), &n),
              BITTTT_OK)
        << bitttt_last_error();
    ids.resize(n);
    return ids;
  }

  TempDir dir;
  bitttt_tokenizer *tok = nullptr;
};

TEST_F(Tokenizer, EncodeReportsTheIdsNeededAndRetries) {
  std::string text = "The quick brown fox <|endoftext|> jumps";
  std::vector<int32_t> all = encode(tok, text);
  ASSERT_GT(all.size(), 3u);
  int32_t small[2];
  size_t n = 0;
  EXPECT_EQ(
      bitttt_tokenizer_encode(tok, text.data(), text.size(), 0, small, 2, &n),
      BITTTT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(n, all.size());
  expectLastError({"needs " + std::to_string(all.size()) + " ids"});
  // Sizing only: no buffer at all.
  EXPECT_EQ(
      bitttt_tokenizer_encode(tok, text.data(), text.size(), 0, nullptr, 0, &n),
      BITTTT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(n, all.size());
  int32_t id = -1;
  ASSERT_EQ(bitttt_tokenizer_token_id(tok, "<|endoftext|>", &id), BITTTT_OK);
  EXPECT_EQ(id, 0);
  EXPECT_TRUE(bitttt_tokenizer_is_special(tok, id));
}

TEST_F(Tokenizer, LenPlusEightIdsAlwaysSuffice) {
  std::string bytes;
  for (int i = 0; i < 4000; ++i)
    bytes += char((i * 7919) & 0xFF);
  for (size_t len : {size_t(0), size_t(1), size_t(17), bytes.size()}) {
    std::vector<int32_t> ids(len + 8);
    size_t n = 0;
    EXPECT_EQ(bitttt_tokenizer_encode(tok, bytes.data(), len, 1, ids.data(),
                                      ids.size(), &n),
              BITTTT_OK);
    std::string back(len + 1, '\0');
    size_t m = 0;
    ASSERT_EQ(bitttt_tokenizer_decode(tok, ids.data(), n, 0, back.data(),
                                      back.size(), &m),
              BITTTT_OK);
    EXPECT_EQ(back.substr(0, m), bytes.substr(0, len));
  }
}

TEST_F(Tokenizer, NullArgumentsAndBadIds) {
  size_t n = 99;
  int32_t ids[4];
  EXPECT_EQ(bitttt_tokenizer_encode(nullptr, "a", 1, 0, ids, 4, &n),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"bitttt_tokenizer_encode", "tokenizer is NULL"});
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(bitttt_tokenizer_encode(tok, nullptr, 3, 0, ids, 4, &n),
            BITTTT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(bitttt_tokenizer_encode(tok, nullptr, 0, 0, ids, 4, &n), BITTTT_OK);
  EXPECT_EQ(n, 0u);
  int32_t bad[] = {5, 1 << 20};
  char text[16];
  size_t m = 7;
  EXPECT_EQ(bitttt_tokenizer_decode(tok, bad, 2, 0, text, sizeof text, &m),
            BITTTT_ERR_INVALID_ARGUMENT);
  expectLastError({"id 1048576 (at index 1)", "not in the vocabulary"});
  EXPECT_EQ(m, 0u);
  int32_t negative = -1;
  EXPECT_EQ(bitttt_tokenizer_decode(tok, &negative, 1, 0, text, 16, &m),
            BITTTT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(bitttt_tokenizer_vocab_size(nullptr), 0u);
  EXPECT_EQ(bitttt_tokenizer_vocab_size(tok), 330u);
  EXPECT_FALSE(bitttt_tokenizer_is_special(nullptr, 0));
  EXPECT_FALSE(bitttt_tokenizer_is_special(tok, 1000));
  bitttt_tokenizer_free(nullptr);
  EXPECT_EQ(bitttt_utf8_complete(nullptr, 0), 0u);
  bitttt_tokenizer *t = reinterpret_cast<bitttt_tokenizer *>(1);
  EXPECT_EQ(bitttt_tokenizer_from_json(nullptr, 0, nullptr, &t),
            BITTTT_ERR_FORMAT);
  EXPECT_EQ(t, nullptr);
  expectLastError({"tokenizer.json (in memory): malformed JSON"});
}

TEST_F(Tokenizer, SpecialTokensDecodeUnlessSkipped) {
  std::vector<int32_t> ids = encode(tok, "fox<|endoftext|>dog");
  char text[64];
  size_t n = 0;
  ASSERT_EQ(bitttt_tokenizer_decode(tok, ids.data(), ids.size(), 0, text,
                                    sizeof text, &n),
            BITTTT_OK);
  EXPECT_EQ(std::string(text, n), "fox<|endoftext|>dog");
  ASSERT_EQ(bitttt_tokenizer_decode(tok, ids.data(), ids.size(), 1, text,
                                    sizeof text, &n),
            BITTTT_OK);
  EXPECT_EQ(std::string(text, n), "foxdog");
}

TEST_F(Tokenizer, ConcurrentEncodesAgreeWithSequentialOnes) {
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i)
    texts.push_back(std::string(kCorpus).substr(size_t(i), 100 + 3 * i) +
                    std::to_string(i * 977));
  std::vector<std::vector<int32_t>> expected;
  for (const std::string &t : texts)
    expected.push_back(encode(tok, t));
  // A second tokenizer from the same JSON: threads switch between the two,
  // so each thread's piece cache changes owner again and again.
  std::string path = dir.file("t.json");
  ASSERT_EQ(bitttt_tokenizer_save(tok, path.c_str()), BITTTT_OK);
  bitttt_tokenizer *other = nullptr;
  ASSERT_EQ(bitttt_tokenizer_load(path.c_str(), &other), BITTTT_OK);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int round = 0; round < 20; ++round)
        for (size_t i = 0; i < texts.size(); ++i) {
          const bitttt_tokenizer *t = (i + size_t(k)) % 3 ? tok : other;
          std::vector<int32_t> ids(texts[i].size() + 8);
          size_t n = 0;
          if (bitttt_tokenizer_encode(t, texts[i].data(), texts[i].size(), 1,
                                      ids.data(), ids.size(), &n) != BITTTT_OK)
            ++mismatches[size_t(k)];
          ids.resize(n);
          mismatches[size_t(k)] += ids != expected[i];
        }
    });
  for (std::thread &t : threads)
    t.join();
  for (int k = 0; k < 4; ++k)
    EXPECT_EQ(mismatches[size_t(k)], 0) << "thread " << k;
  bitttt_tokenizer_free(other);
}

TEST_F(Tokenizer, SaveIsAtomicAndLoadsBack) {
  std::string path = dir.file("tokenizer.json");
  writeBytes(path, "old contents");
  ASSERT_EQ(bitttt_tokenizer_save(tok, path.c_str()), BITTTT_OK);
  EXPECT_EQ(dir.list(),
            (std::vector<std::string>{"corpus.txt", "tokenizer.json"}));
  std::string saved = readBytes(path);
  bitttt_tokenizer *again = nullptr;
  ASSERT_EQ(
      bitttt_tokenizer_from_json(saved.data(), saved.size(), "mem", &again),
      BITTTT_OK)
      << bitttt_last_error();
  EXPECT_EQ(encode(again, kCorpus), encode(tok, kCorpus));
  bitttt_tokenizer_free(again);
  std::string missing = dir.file("no/such/dir/t.json");
  EXPECT_EQ(bitttt_tokenizer_save(tok, missing.c_str()), BITTTT_ERR_IO);
  expectLastError({missing, "cannot create"});
}

TEST(TokenizerUtf8, CompleteKeepsUnfinishedCharactersBack) {
  EXPECT_EQ(bitttt_utf8_complete("ab\xe6\x97", 4), 2u);
  EXPECT_EQ(bitttt_utf8_complete("ab\xe6\x97\xa5", 5), 5u);
  EXPECT_EQ(bitttt_utf8_complete("\xf0\x9f", 2), 0u);
  EXPECT_EQ(bitttt_utf8_complete("\xc3", 1), 0u);
  EXPECT_EQ(bitttt_utf8_complete("\xff", 1), 1u);     // invalid: complete
  EXPECT_EQ(bitttt_utf8_complete("\xe0\x80", 2), 2u); // overlong prefix
}

// -- the tokenizer of a model's header ----------------------------------------

class ModelTokenizer : public Tokenizer {
protected:
  void SetUp() override {
    BITTTT_REQUIRE_TOY_COMPILER();
    Tokenizer::SetUp();
    std::string json = dir.file("tok.json");
    ASSERT_EQ(bitttt_tokenizer_save(tok, json.c_str()), BITTTT_OK);
    tokenizerJson = json::parse(readBytes(json));
  }
  void TearDown() override {
    bitttt_model_free(model);
    Tokenizer::TearDown();
  }
  bitttt_status load(const nlohmann::json &tokenizer) {
    ToyFile f = ToyModel::make();
    f.header["tokenizer"] = tokenizer;
    path = dir.file("toy.bitt");
    f.write(path);
    bitttt_model_free(model);
    model = nullptr;
    return bitttt_model_load(path.c_str(), nullptr, &model);
  }
  json tokenizerJson;
  std::string path;
  bitttt_model *model = nullptr;
};

TEST_F(ModelTokenizer, HeaderTokenizerIsLoadedWithTheModel) {
  ASSERT_EQ(load(tokenizerJson), BITTTT_OK) << bitttt_last_error();
  const bitttt_tokenizer *t = bitttt_model_tokenizer(model);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(encode(t, kCorpus), encode(tok, kCorpus));
  EXPECT_EQ(bitttt_tokenizer_vocab_size(t), 330u);
}

TEST_F(ModelTokenizer, NullTokenizerMeansNone) {
  ASSERT_EQ(load(nullptr), BITTTT_OK) << bitttt_last_error();
  EXPECT_EQ(bitttt_model_tokenizer(model), nullptr);
  EXPECT_EQ(bitttt_model_tokenizer(nullptr), nullptr);
}

TEST_F(ModelTokenizer, MalformedTokenizerIsALoadErrorNamingTheField) {
  json broken = tokenizerJson;
  broken["model"]["merges"][0] = json::array({"nosuch", "token"});
  EXPECT_EQ(load(broken), BITTTT_ERR_FORMAT);
  EXPECT_EQ(model, nullptr);
  expectLastError({path, "tokenizer.model.merges[0]", "'nosuch'"});

  json wrongType = tokenizerJson;
  wrongType["model"]["type"] = "Unigram";
  EXPECT_EQ(load(wrongType), BITTTT_ERR_UNSUPPORTED);
  expectLastError({path, "tokenizer.model.type", "Unigram"});

  EXPECT_EQ(load(json::array({1, 2})), BITTTT_ERR_FORMAT);
  expectLastError({path, "not a JSON object"});
}

} // namespace
