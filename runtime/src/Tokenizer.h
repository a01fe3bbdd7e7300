//===- Tokenizer.h - byte-level BPE (internal) ------------------*- C++ -*-===//
//
// The Hugging Face tokenizer.json subset a byte-level BPE model uses
// (docs/tokenizer.md): added tokens, a pre-tokenizer of Split/Digits steps
// ending in ByteLevel, the BPE model, a post-processor and the ByteLevel
// decoder. Encoding follows the `tokenizers` package step by step so the
// ids are the same. TokenizerJson.cpp reads the format, TokenizerSave.cpp
// writes it, Tokenizer.cpp encodes and decodes, BpeTrainer.cpp trains.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUNTIME_TOKENIZER_H
#define BITTTT_RUNTIME_TOKENIZER_H

#include "bitttt.h"
#include "bitttt/Format/BittFile.h"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bitttt::rt {

class Regex;

/// GPT-2's byte -> character map: printable Latin-1 bytes stand for
/// themselves, the other 68 for U+0100 onwards, in byte order.
uint32_t byteLevelCodepoint(uint8_t byte);
/// The UTF-8 of byteLevelCodepoint(byte).
std::string byteLevelChar(uint8_t byte);

/// The ByteLevel pre-tokenizer's regex (use_regex: true).
extern const char *const kGpt2Pattern;

/// A token of "added_tokens": matched in the text before pre-tokenizing.
struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool singleWord = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

/// Added tokens indexed by first byte, longest first: the leftmost-longest
/// match the package's Aho-Corasick automaton finds.
class AddedTokenSet {
public:
  void add(const AddedToken *token);
  bool empty() const { return tokens_.empty(); }
  /// The longest token that starts at byte `at` of `text`, or null.
  const AddedToken *longestAt(std::string_view text, size_t at) const;

private:
  std::vector<const AddedToken *> tokens_;
  std::array<std::vector<uint32_t>, 256> byFirst_;
};

/// Open-addressing map (left id, right id) -> (rank, merged id).
class MergeTable {
public:
  struct Entry {
    uint64_t key = ~uint64_t(0);
    uint32_t rank = 0;
    int32_t merged = 0;
  };
  void reserve(size_t n);
  /// Inserts or replaces (a later merge of the same pair wins, as in the
  /// package's HashMap).
  void set(int32_t a, int32_t b, uint32_t rank, int32_t merged);
  const Entry *find(int32_t a, int32_t b) const {
    if (slots_.empty())
      return nullptr;
    uint64_t key = pack(a, b);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Entry &e = slots_[i];
      if (e.key == key)
        return &e;
      if (e.key == kEmpty)
        return nullptr;
    }
  }

private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  static uint64_t pack(int32_t a, int32_t b) {
    return uint64_t(uint32_t(a)) << 32 | uint32_t(b);
  }
  static uint64_t hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return key;
  }
  std::vector<Entry> slots_;
  size_t mask_ = 0, size_ = 0;
};

/// One thread's memo of pre-token -> ids (Tokenizer.cpp keeps one per
/// thread, tagged with the tokenizer it serves).
class PieceCache {
public:
  static constexpr size_t kMaxPiece = 256;
  bool get(std::string_view piece, uint64_t hash,
           std::vector<int32_t> &out) const;
  void put(std::string_view piece, uint64_t hash, const int32_t *ids, size_t n);
  void clear();
  /// The serial of the tokenizer whose ids it holds.
  uint64_t owner = 0;

private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t key = 0;
    uint16_t keyLength = 0;
    uint32_t value = 0;
    uint16_t valueLength = 0;
  };
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> values_;
  size_t used_ = 0;
};

/// One pre-tokenizer step, applied to every piece the previous steps left.
struct PreTokenizerStep {
  enum class Kind { Split, ByteLevel } kind = Kind::ByteLevel;
  /// Split: what happens to the regex's matches (SplitDelimiterBehavior).
  enum class Behavior {
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous
  } behavior = Behavior::Isolated;
  bool invert = false;
  /// The Split pattern; for ByteLevel with use_regex, the GPT-2 regex.
  std::shared_ptr<const Regex> regex;
  bool addPrefixSpace = false; // ByteLevel only
};

/// One item of a post-processor's single-sequence template: the sequence
/// itself or fixed ids.
struct TemplateItem {
  bool sequence = false;
  std::vector<int32_t> ids;
};

} // namespace bitttt::rt

/// Immutable after loading; shared by threads.
struct bitttt_tokenizer {
  bitttt_tokenizer();
  ~bitttt_tokenizer();
  bitttt_tokenizer(const bitttt_tokenizer &) = delete;
  bitttt_tokenizer &operator=(const bitttt_tokenizer &) = delete;

  /// Appends the ids of `text` (any bytes) to `out`.
  void encode(std::string_view text, bool addSpecial,
              std::vector<int32_t> &out) const;
  /// Appends the bytes of `n` ids to `out`; false (and the index of the
  /// first bad id) when an id is not in the vocabulary.
  bool decode(const int32_t *ids, size_t n, bool skipSpecial, std::string &out,
              size_t &badIndex) const;
  /// The id of an added token's content or a vocab spelling, or -1.
  int32_t tokenId(std::string_view token) const;
  /// Fills the id-indexed tables once the model and added tokens are read;
  /// false when the decoded bytes would not fit their 32-bit offsets.
  bool buildTables();

  enum : uint8_t { kPresent = 1, kAdded = 2, kSpecial = 4 };

  /// Distinguishes tokenizers in the per-thread piece cache.
  const uint64_t serial;

  // ---- model (BPE) ----
  std::unordered_map<std::string, int32_t> vocab; // spelling -> id
  std::vector<std::string> tokens;                // id -> spelling
  std::vector<uint8_t> inVocab;                   // id -> has a spelling
  bitttt::rt::MergeTable merges;
  std::vector<std::pair<int32_t, int32_t>> mergeList; // in rank order
  std::string unkToken, prefix, suffix;
  bool hasUnk = false, hasPrefix = false, hasSuffix = false;
  int32_t unkId = -1;
  bool fuseUnk = false, byteFallback = false, ignoreMerges = false;

  // ---- added tokens, pre-tokenizer, post-processor ----
  std::vector<std::unique_ptr<bitttt::rt::AddedToken>> added;
  std::unordered_map<std::string, int32_t> addedByContent;
  bitttt::rt::AddedTokenSet rawAdded, normalizedAdded;
  std::vector<bitttt::rt::PreTokenizerStep> preTokenizer;
  /// Applied in order by encode(add_special): each wraps the ids so far.
  std::vector<std::vector<bitttt::rt::TemplateItem>> templates;
  /// The sections kept as read (version, truncation, padding, normalizer,
  /// pre_tokenizer, post_processor, decoder), written back by save.
  std::unique_ptr<nlohmann::json> sections;

  // ---- tables built by buildTables ----
  size_t vocabSize = 0;
  std::vector<uint8_t> flags;    // id -> kPresent | kAdded | kSpecial
  std::vector<uint32_t> offsets; // id -> its bytes in `decoded`
  std::string decoded;
  /// [first][last][byte]: the id of a one-byte symbol at the start/end of
  /// a word (continuing-subword prefix, end-of-word suffix), or -1.
  int32_t byteIds[2][2][256];
  /// byte_fallback's "<0xXX>" ids, or -1.
  int32_t fallbackIds[256];

private:
  struct Scratch;
  void preTokenize(size_t step, std::string_view piece, Scratch &s,
                   std::vector<int32_t> &out) const;
  void encodePiece(std::string_view piece, Scratch &s,
                   std::vector<int32_t> &out) const;
  void mergeSymbols(std::vector<int32_t> &symbols, Scratch &s) const;
};

namespace bitttt::rt {

/// Reads a parsed tokenizer.json document; errors name `name` and the
/// field (`fieldPrefix` + path, e.g. "tokenizer.model.merges[3]").
format::Status loadTokenizer(const nlohmann::json &doc, const std::string &name,
                             const std::string &fieldPrefix,
                             std::unique_ptr<bitttt_tokenizer> &out);
/// Parses tokenizer.json text, then loadTokenizer.
format::Status parseTokenizer(std::string_view text, const std::string &name,
                              std::unique_ptr<bitttt_tokenizer> &out);
/// The tokenizer as tokenizer.json text (vocab in id order).
std::string tokenizerJson(const bitttt_tokenizer &t);

} // namespace bitttt::rt

#endif // BITTTT_RUNTIME_TOKENIZER_H
