//===- Tokenizer.cpp - encode and decode ----------------------------------===//
//
// The steps of the `tokenizers` package's encode, without its offsets:
// added tokens are cut out (the non-normalized ones over the whole text,
// then the normalized ones over what is left), every other segment goes
// through the pre-tokenizer steps, and each piece is merged by rank, as
// BPE::merge_word and Word::merge_all do.
//
//===----------------------------------------------------------------------===//
#include "Tokenizer.h"
#include "Regex.h"

#include <nlohmann/json.hpp>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <tuple>

using namespace bitttt::rt;
using Behavior = PreTokenizerStep::Behavior;

// ---- the ByteLevel alphabet ---------------------------------------------

uint32_t bitttt::rt::byteLevelCodepoint(uint8_t byte) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                       (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? uint32_t(b) : next++;
    }
    return t;
  }();
  return table[byte];
}

std::string bitttt::rt::byteLevelChar(uint8_t byte) {
  uint32_t cp = byteLevelCodepoint(byte);
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else {
    s += char(0xC0 | cp >> 6);
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

const char *const bitttt::rt::kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"
    "\\s+(?!\\S)|\\s+";

// ---- AddedTokenSet --------------------------------------------------------

void AddedTokenSet::add(const AddedToken *token) {
  if (token->content.empty())
    return;
  uint32_t index = uint32_t(tokens_.size());
  tokens_.push_back(token);
  std::vector<uint32_t> &list = byFirst_[uint8_t(token->content[0])];
  auto longer = [&](uint32_t a, uint32_t b) {
    return tokens_[a]->content.size() > tokens_[b]->content.size();
  };
  list.insert(std::upper_bound(list.begin(), list.end(), index, longer), index);
}

const AddedToken *AddedTokenSet::longestAt(std::string_view text,
                                           size_t at) const {
  for (uint32_t i : byFirst_[uint8_t(text[at])]) {
    const std::string &c = tokens_[i]->content;
    if (c.size() <= text.size() - at &&
        std::memcmp(c.data(), text.data() + at, c.size()) == 0)
      return tokens_[i];
  }
  return nullptr;
}

namespace {

/// AddedVocabulary::find_matches: calls f(begin, end, token or nullptr)
/// for the added tokens of `set` in `sentence` and the text between them.
template <typename F>
void splitAdded(const AddedTokenSet &set, std::string_view sentence, F &&f) {
  size_t n = sentence.size();
  if (set.empty()) {
    f(size_t(0), n, nullptr);
    return;
  }
  size_t startOffset = 0, at = 0;
  while (at < n) {
    const AddedToken *token = nullptr;
    size_t start = at;
    for (; start < n; ++start)
      if ((token = set.longestAt(sentence, start)))
        break;
    if (!token)
      break;
    size_t stop = start + token->content.size(), len = 0;
    // The automaton goes on after the match, whatever the flags make of it.
    at = stop;
    if (token->singleWord) {
      bool spaceBefore =
          start == 0 || !isWordChar(utf8Before(sentence, start, len));
      bool spaceAfter = stop == n || !isWordChar(utf8At(sentence, stop, len));
      if (!spaceBefore || !spaceAfter)
        continue;
    }
    if (token->lstrip) {
      size_t newStart = start;
      for (int32_t cp;
           (cp = utf8Before(sentence, newStart, len)) >= 0 && isWhiteSpace(cp);)
        newStart -= len;
      start = std::max(newStart, startOffset);
    }
    if (token->rstrip)
      for (int32_t cp; stop < n && (cp = utf8At(sentence, stop, len)) >= 0 &&
                       isWhiteSpace(cp);)
        stop += len;
    if (stop <= startOffset)
      continue;
    start = std::max(start, startOffset);
    if (startOffset < start)
      f(startOffset, start, nullptr);
    f(start, stop, token);
    startOffset = stop;
  }
  if (startOffset != n)
    f(startOffset, n, nullptr);
}

} // namespace

// ---- MergeTable -------------------------------------------------------------

void MergeTable::reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < 2 * n)
    capacity *= 2;
  std::vector<Entry> old = std::move(slots_);
  slots_.assign(capacity, Entry());
  mask_ = capacity - 1;
  size_ = 0;
  for (const Entry &e : old)
    if (e.key != kEmpty)
      set(int32_t(e.key >> 32), int32_t(uint32_t(e.key)), e.rank, e.merged);
}

void MergeTable::set(int32_t a, int32_t b, uint32_t rank, int32_t merged) {
  if (2 * (size_ + 1) > slots_.size())
    reserve(size_ + 1);
  uint64_t key = pack(a, b);
  for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
    Entry &e = slots_[i];
    if (e.key == kEmpty)
      ++size_;
    if (e.key == kEmpty || e.key == key) {
      e.key = key;
      e.rank = rank;
      e.merged = merged;
      return;
    }
  }
}

// ---- PieceCache -------------------------------------------------------------

namespace {
constexpr size_t kSlots = 1 << 14; // cleared when half full
std::atomic<uint64_t> nextSerial{1};
} // namespace

bool PieceCache::get(std::string_view piece, uint64_t hash,
                     std::vector<int32_t> &out) const {
  if (slots_.empty())
    return false;
  hash |= 1;
  for (size_t i = hash & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    const Slot &slot = slots_[i];
    if (slot.hash == 0)
      return false;
    if (slot.hash == hash && slot.keyLength == piece.size() &&
        std::memcmp(keys_.data() + slot.key, piece.data(), piece.size()) == 0) {
      const int32_t *v = values_.data() + slot.value;
      out.insert(out.end(), v, v + slot.valueLength);
      return true;
    }
  }
}

void PieceCache::put(std::string_view piece, uint64_t hash, const int32_t *ids,
                     size_t n) {
  if (piece.size() > kMaxPiece || n > kMaxPiece)
    return;
  hash |= 1;
  if (slots_.empty() || used_ >= kSlots / 2)
    clear();
  size_t i = hash & (kSlots - 1);
  while (slots_[i].hash != 0)
    i = (i + 1) & (kSlots - 1);
  Slot &slot = slots_[i];
  slot.hash = hash;
  slot.key = uint32_t(keys_.size());
  slot.keyLength = uint16_t(piece.size());
  slot.value = uint32_t(values_.size());
  slot.valueLength = uint16_t(n);
  keys_.append(piece.data(), piece.size());
  values_.insert(values_.end(), ids, ids + n);
  ++used_;
}

void PieceCache::clear() {
  slots_.assign(kSlots, Slot());
  keys_.clear();
  values_.clear();
  used_ = 0;
}

// ---- encode -----------------------------------------------------------------

struct bitttt_tokenizer::Scratch {
  MatchData md;
  PieceCache *cache = nullptr;
  std::vector<int32_t> symbols;
  struct Pair {
    uint32_t rank;
    int32_t merged;
  };
  std::vector<Pair> pairs;
  std::string spelling;
  struct Node {
    int32_t id, prev, next;
  };
  std::vector<Node> nodes;
  struct Candidate {
    uint32_t rank, pos;
    int32_t merged;
    bool operator>(const Candidate &o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<Candidate> heap;
};

bitttt_tokenizer::bitttt_tokenizer() : serial(nextSerial++) {
  std::fill(&byteIds[0][0][0], &byteIds[0][0][0] + 4 * 256, -1);
  std::fill(fallbackIds, fallbackIds + 256, -1);
}

bitttt_tokenizer::~bitttt_tokenizer() = default;

void bitttt_tokenizer::encode(std::string_view text, bool addSpecial,
                              std::vector<int32_t> &out) const {
  // The calling thread's cache, emptied when it last served another
  // tokenizer.
  static thread_local PieceCache threadCache;
  Scratch s;
  s.cache = &threadCache;
  if (threadCache.owner != serial) {
    threadCache.clear();
    threadCache.owner = serial;
  }
  std::vector<int32_t> ids;
  splitAdded(rawAdded, text, [&](size_t b, size_t e, const AddedToken *t) {
    if (t) {
      ids.push_back(t->id);
      return;
    }
    std::string_view part = text.substr(b, e - b);
    splitAdded(normalizedAdded, part,
               [&](size_t b2, size_t e2, const AddedToken *t2) {
                 if (t2)
                   ids.push_back(t2->id);
                 else if (e2 > b2)
                   preTokenize(0, part.substr(b2, e2 - b2), s, ids);
               });
  });
  if (addSpecial)
    for (const std::vector<TemplateItem> &items : templates) {
      std::vector<int32_t> wrapped;
      for (const TemplateItem &item : items) {
        const std::vector<int32_t> &part = item.sequence ? ids : item.ids;
        wrapped.insert(wrapped.end(), part.begin(), part.end());
      }
      ids.swap(wrapped);
    }
  out.insert(out.end(), ids.begin(), ids.end());
}

void bitttt_tokenizer::preTokenize(size_t step, std::string_view piece,
                                   Scratch &s,
                                   std::vector<int32_t> &out) const {
  if (piece.empty())
    return;
  if (step == preTokenizer.size()) {
    encodePiece(piece, s, out);
    return;
  }
  const PreTokenizerStep &p = preTokenizer[step];
  std::string prefixed;
  if (p.kind == PreTokenizerStep::Kind::ByteLevel && p.addPrefixSpace &&
      piece[0] != ' ') {
    prefixed.reserve(piece.size() + 1);
    prefixed += ' ';
    prefixed.append(piece.data(), piece.size());
    piece = prefixed;
  }
  if (!p.regex) {
    preTokenize(step + 1, piece, s, out);
    return;
  }
  if (p.behavior == Behavior::Isolated || p.behavior == Behavior::Removed) {
    bool removeMatches = p.behavior == Behavior::Removed;
    p.regex->forEachSplit(piece, s.md, [&](size_t b, size_t e, bool isMatch) {
      if (!(removeMatches && isMatch != p.invert))
        preTokenize(step + 1, piece.substr(b, e - b), s, out);
    });
    return;
  }
  // NormalizedString::split's folds for the merging behaviors.
  std::vector<std::tuple<size_t, size_t, bool>> splits;
  p.regex->forEachSplit(piece, s.md, [&](size_t b, size_t e, bool isMatch) {
    splits.emplace_back(b, e, isMatch != p.invert);
  });
  std::vector<std::pair<size_t, size_t>> merged;
  bool previous = false;
  if (p.behavior == Behavior::MergedWithNext) {
    for (auto it = splits.rbegin(); it != splits.rend(); ++it) {
      auto [b, e, isMatch] = *it;
      if (isMatch && !previous && !merged.empty())
        merged.back().first = b;
      else
        merged.emplace_back(b, e);
      previous = isMatch;
    }
    std::reverse(merged.begin(), merged.end());
  } else {
    for (auto [b, e, isMatch] : splits) {
      bool extend = p.behavior == Behavior::Contiguous ? isMatch == previous
                                                       : isMatch && !previous;
      if (extend && !merged.empty())
        merged.back().second = e;
      else
        merged.emplace_back(b, e);
      previous = isMatch;
    }
  }
  for (auto [b, e] : merged)
    preTokenize(step + 1, piece.substr(b, e - b), s, out);
}

void bitttt_tokenizer::encodePiece(std::string_view piece, Scratch &s,
                                   std::vector<int32_t> &out) const {
  auto bytes = reinterpret_cast<const uint8_t *>(piece.data());
  size_t n = piece.size();
  if (n == 1 && byteIds[1][1][bytes[0]] >= 0) {
    out.push_back(byteIds[1][1][bytes[0]]);
    return;
  }
  // The cache holds a piece's final ids, whichever way they were found.
  bool cacheable = n >= 2 && n <= PieceCache::kMaxPiece;
  uint64_t hash = 0;
  if (cacheable) {
    hash = XXH3_64bits(piece.data(), n);
    if (s.cache->get(piece, hash, out))
      return;
  }
  if (ignoreMerges) {
    static const std::array<std::string, 256> spelled = [] {
      std::array<std::string, 256> t;
      for (int b = 0; b < 256; ++b)
        t[b] = byteLevelChar(uint8_t(b));
      return t;
    }();
    s.spelling.clear();
    for (size_t i = 0; i < n; ++i)
      s.spelling += spelled[bytes[i]];
    auto it = vocab.find(s.spelling);
    if (it != vocab.end()) {
      out.push_back(it->second);
      if (cacheable)
        s.cache->put(piece, hash, &it->second, 1);
      return;
    }
  }
  // BPE::merge_word: the characters' ids, unknown ones as byte_fallback's
  // "<0x..>" tokens, as unk (fused or not) or dropped.
  std::vector<int32_t> &symbols = s.symbols;
  symbols.clear();
  bool pendingUnk = false;
  for (size_t i = 0; i < n; ++i) {
    bool first = i == 0, last = i + 1 == n;
    int32_t id = byteIds[first][last][bytes[i]];
    if (id >= 0) {
      if (pendingUnk)
        symbols.push_back(unkId);
      pendingUnk = false;
      symbols.push_back(id);
      continue;
    }
    if (byteFallback) {
      std::string spelled = (first || !hasPrefix ? "" : prefix) +
                            byteLevelChar(bytes[i]) +
                            (last && hasSuffix ? suffix : "");
      bool all = true;
      for (char c : spelled)
        all = all && fallbackIds[uint8_t(c)] >= 0;
      if (all) {
        for (char c : spelled)
          symbols.push_back(fallbackIds[uint8_t(c)]);
        continue;
      }
    }
    if (hasUnk) {
      if (pendingUnk && !fuseUnk)
        symbols.push_back(unkId);
      pendingUnk = true;
    }
  }
  if (pendingUnk)
    symbols.push_back(unkId);
  mergeSymbols(symbols, s);
  out.insert(out.end(), symbols.begin(), symbols.end());
  if (cacheable)
    s.cache->put(piece, hash, symbols.data(), symbols.size());
}

void bitttt_tokenizer::mergeSymbols(std::vector<int32_t> &symbols,
                                    Scratch &s) const {
  size_t m = symbols.size();
  if (m < 2)
    return;
  constexpr uint32_t kNone = ~uint32_t(0);
  auto pairAt = [&](int32_t a, int32_t b) {
    const MergeTable::Entry *e = merges.find(a, b);
    return e ? Scratch::Pair{e->rank, e->merged} : Scratch::Pair{kNone, 0};
  };
  if (m <= 64) {
    // Short words: the lowest-ranked pair, leftmost first, by a scan.
    std::vector<Scratch::Pair> &pairs = s.pairs;
    pairs.resize(m - 1);
    for (size_t i = 0; i + 1 < m; ++i)
      pairs[i] = pairAt(symbols[i], symbols[i + 1]);
    while (m > 1) {
      size_t best = 0;
      for (size_t i = 1; i + 1 < m; ++i)
        if (pairs[i].rank < pairs[best].rank)
          best = i;
      if (pairs[best].rank == kNone)
        break;
      symbols[best] = pairs[best].merged;
      symbols.erase(symbols.begin() + best + 1);
      pairs.erase(pairs.begin() + best);
      --m;
      if (best > 0)
        pairs[best - 1] = pairAt(symbols[best - 1], symbols[best]);
      if (best + 1 < m)
        pairs[best] = pairAt(symbols[best], symbols[best + 1]);
    }
    return;
  }
  // Long words: Word::merge_all's queue of (rank, position).
  std::vector<Scratch::Node> &nodes = s.nodes;
  nodes.resize(m);
  for (size_t i = 0; i < m; ++i)
    nodes[i] = {symbols[i], int32_t(i) - 1, i + 1 < m ? int32_t(i + 1) : -1};
  std::vector<Scratch::Candidate> &heap = s.heap;
  heap.clear();
  auto push = [&](int32_t pos) {
    int32_t next = nodes[pos].next;
    Scratch::Pair p = pairAt(nodes[pos].id, nodes[next].id);
    if (p.rank != kNone) {
      heap.push_back({p.rank, uint32_t(pos), p.merged});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (size_t i = 0; i + 1 < m; ++i)
    push(int32_t(i));
  std::vector<uint8_t> dead(m, 0);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    Scratch::Candidate top = heap.back();
    heap.pop_back();
    Scratch::Node &node = nodes[top.pos];
    if (dead[top.pos] || node.next < 0)
      continue;
    Scratch::Node &right = nodes[node.next];
    Scratch::Pair p = pairAt(node.id, right.id);
    if (p.rank == kNone || p.merged != top.merged)
      continue;
    node.id = top.merged;
    dead[node.next] = 1;
    node.next = right.next;
    if (node.next >= 0)
      nodes[node.next].prev = int32_t(top.pos);
    if (node.prev >= 0)
      push(node.prev);
    if (node.next >= 0)
      push(int32_t(top.pos));
  }
  symbols.clear();
  for (int32_t i = 0; i >= 0; i = nodes[i].next)
    symbols.push_back(nodes[i].id);
}

// ---- tables -----------------------------------------------------------------

namespace {

/// The ByteLevel decoder's bytes for a vocab entry: each character's byte,
/// or the entry's own UTF-8 when a character is outside the alphabet.
std::string decodeByteLevel(const std::string &token) {
  static const std::vector<int> byteOf = [] {
    std::vector<int> v(0x144, -1);
    for (int b = 0; b < 256; ++b)
      v[byteLevelCodepoint(uint8_t(b))] = b;
    return v;
  }();
  std::string out;
  for (size_t at = 0, len = 0; at < token.size(); at += len) {
    int32_t cp = utf8At(token, at, len);
    if (cp < 0 || size_t(cp) >= byteOf.size() || byteOf[cp] < 0)
      return token;
    out += char(byteOf[cp]);
  }
  return out;
}

} // namespace

bool bitttt_tokenizer::buildTables() {
  size_t size = tokens.size();
  for (const auto &a : added)
    size = std::max(size, size_t(a->id) + 1);
  vocabSize = size;
  flags.assign(size, 0);
  std::vector<const AddedToken *> addedById(size, nullptr);
  for (const auto &a : added) {
    addedById[a->id] = a.get();
    flags[a->id] |= kPresent | kAdded | (a->special ? kSpecial : 0);
  }
  offsets.assign(size + 1, 0);
  for (size_t i = 0; i < size; ++i) {
    offsets[i] = uint32_t(decoded.size());
    if (addedById[i])
      decoded += addedById[i]->content;
    else if (i < inVocab.size() && inVocab[i]) {
      flags[i] |= kPresent;
      decoded += decodeByteLevel(tokens[i]);
    }
  }
  offsets[size] = uint32_t(decoded.size());
  if (decoded.size() > UINT32_MAX / 2)
    return false;
  auto lookup = [&](const std::string &s) {
    auto it = vocab.find(s);
    return it == vocab.end() ? -1 : it->second;
  };
  for (int b = 0; b < 256; ++b) {
    std::string c = byteLevelChar(uint8_t(b));
    for (int first = 0; first < 2; ++first)
      for (int last = 0; last < 2; ++last)
        byteIds[first][last][b] = lookup((first || !hasPrefix ? "" : prefix) +
                                         c + (last && hasSuffix ? suffix : ""));
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    fallbackIds[b] = lookup(name);
  }
  return true;
}

// ---- decode and lookups -----------------------------------------------------

bool bitttt_tokenizer::decode(const int32_t *ids, size_t n, bool skipSpecial,
                              std::string &out, size_t &badIndex) const {
  for (size_t i = 0; i < n; ++i) {
    int32_t id = ids[i];
    if (id < 0 || size_t(id) >= vocabSize || !(flags[id] & kPresent)) {
      badIndex = i;
      return false;
    }
    if (skipSpecial && (flags[id] & kSpecial))
      continue;
    out.append(decoded, offsets[id], offsets[id + 1] - offsets[id]);
  }
  return true;
}

int32_t bitttt_tokenizer::tokenId(std::string_view token) const {
  std::string key(token);
  auto a = addedByContent.find(key);
  if (a != addedByContent.end())
    return a->second;
  auto v = vocab.find(key);
  return v == vocab.end() ? -1 : v->second;
}
