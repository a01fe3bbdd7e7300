//===- BpeTrainer.cpp - byte-level BPE training ---------------------------===//
//
// The `tokenizers` package's BpeTrainer on its ByteLevel setup, made to
// give the same vocab and merges from the same files:
//  1. every line (with its '\n') of every file is split by the GPT-2 regex
//     and the pieces counted, in parallel over chunks of whole lines;
//  2. the vocabulary starts with the special tokens, then the 256 byte
//     characters in code-point order;
//  3. pair counts, pair -> words lists and a max-heap of (count, pair) with
//     lazy updates: a popped entry whose count went stale is pushed back
//     with the current one. The top is the most frequent pair, the
//     smallest (left id, right id) among equals. Merging it in a word
//     changes only the pairs next to each occurrence, so counts stay exact.
//
//===----------------------------------------------------------------------===//
#include "BpeTrainer.h"
#include "Regex.h"
#include "ThreadPool.h"

#include <nlohmann/json.hpp>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using bitttt::format::ErrorCode;
using bitttt::format::Status;
using nlohmann::json;
using namespace bitttt::rt;

namespace {

/// A read-only mapping of one input file.
class MappedFile {
public:
  static Status open(const std::string &path,
                     std::unique_ptr<MappedFile> &out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return Status::error(ErrorCode::IO,
                           path + ": cannot open: " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status::error(ErrorCode::IO, path + ": not a regular file");
    }
    auto f = std::make_unique<MappedFile>();
    f->size_ = size_t(st.st_size);
    if (f->size_) {
      void *p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        return Status::error(ErrorCode::IO,
                             path + ": cannot map: " + std::strerror(e));
      }
      f->data_ = static_cast<const char *>(p);
      ::madvise(p, f->size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
    out = std::move(f);
    return Status::ok();
  }
  ~MappedFile() {
    if (data_)
      ::munmap(const_cast<char *>(data_), size_);
  }
  std::string_view text() const { return {data_ ? data_ : "", size_}; }

private:
  const char *data_ = nullptr;
  size_t size_ = 0;
};

/// Word (a view into the mapped files) -> count, open addressing.
class WordCounts {
public:
  struct Slot {
    uint64_t hash = 0; // 0: empty
    const char *text = nullptr;
    size_t length = 0;
    uint64_t count = 0;
  };
  WordCounts() : slots_(1 << 12) {}

  void add(std::string_view word, uint64_t count) {
    add(word, XXH3_64bits(word.data(), word.size()) | 1, count);
  }
  void add(std::string_view word, uint64_t hash, uint64_t count) {
    if (2 * (used_ + 1) > slots_.size())
      grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot &s = slots_[i];
      if (s.hash == 0) {
        s = {hash, word.data(), word.size(), count};
        ++used_;
        return;
      }
      if (s.hash == hash && s.length == word.size() &&
          std::memcmp(s.text, word.data(), word.size()) == 0) {
        s.count += count;
        return;
      }
    }
  }
  void merge(const WordCounts &other) {
    for (const Slot &s : other.slots_)
      if (s.hash)
        add(std::string_view(s.text, s.length), s.hash, s.count);
  }
  const std::vector<Slot> &slots() const { return slots_; }
  size_t size() const { return used_; }

private:
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    used_ = 0;
    for (const Slot &s : old)
      if (s.hash)
        add(std::string_view(s.text, s.length), s.hash, s.count);
  }
  std::vector<Slot> slots_;
  size_t used_ = 0;
};

/// A progress bar on stderr, redrawn at most ten times a second.
class Progress {
public:
  explicit Progress(bool enabled) : enabled_(enabled && ::isatty(2)) {}
  void show(const char *phase, uint64_t done, uint64_t total, bool force) {
    if (!enabled_ || total == 0)
      return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100))
      return;
    last_ = now;
    int width = 30, filled = int(double(done) / double(total) * width);
    std::string bar(size_t(std::clamp(filled, 0, width)), '#');
    bar.resize(size_t(width), ' ');
    std::fprintf(stderr, "\r%-16s [%s] %3d%% %llu/%llu", phase, bar.c_str(),
                 int(100.0 * double(done) / double(total)),
                 (unsigned long long)done, (unsigned long long)total);
    if (force)
      std::fputc('\n', stderr);
    std::fflush(stderr);
  }

private:
  bool enabled_;
  std::chrono::steady_clock::time_point last_{};
};

/// Pieces of `text`'s lines, counted into `counts`.
void countLines(const Regex &gpt2, std::string_view text, MatchData &md,
                WordCounts &counts) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(0, end);
    gpt2.forEachSplit(line, md, [&](size_t b, size_t e, bool) {
      if (e > b)
        counts.add(line.substr(b, e - b), 1);
    });
    text.remove_prefix(end);
  }
}

/// Counts the words of all files, on up to onlineCores() threads.
void countWords(const Regex &gpt2, const std::vector<std::string_view> &texts,
                Progress &progress, WordCounts &out) {
  // Chunks of about 4 MiB, cut after a newline.
  std::vector<std::string_view> chunks;
  uint64_t total = 0;
  for (std::string_view t : texts) {
    total += t.size();
    while (!t.empty()) {
      size_t cut = std::min(t.size(), size_t(4) << 20);
      if (cut < t.size()) {
        size_t nl = t.find('\n', cut);
        cut = nl == std::string_view::npos ? t.size() : nl + 1;
      }
      chunks.push_back(t.substr(0, cut));
      t.remove_prefix(cut);
    }
  }
  size_t threads = std::max<size_t>(
      1, std::min<size_t>(size_t(onlineCores()), chunks.size()));
  std::vector<WordCounts> counts(threads);
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done{0};
  std::vector<std::exception_ptr> errors(threads);
  auto work = [&](size_t k) {
    try {
      MatchData md;
      for (size_t c; (c = next.fetch_add(1)) < chunks.size();) {
        countLines(gpt2, chunks[c], md, counts[k]);
        done += chunks[c].size();
        if (k == 0 && done < total)
          progress.show("counting words", done, total, false);
      }
    } catch (...) {
      errors[k] = std::current_exception();
      next = chunks.size();
    }
  };
  std::vector<std::thread> pool;
  for (size_t k = 1; k < threads; ++k)
    pool.emplace_back(work, k);
  work(0);
  for (std::thread &t : pool)
    t.join();
  for (std::exception_ptr &e : errors)
    if (e)
      std::rethrow_exception(e);
  progress.show("counting words", total, total, true);
  out = std::move(counts[0]);
  for (size_t k = 1; k < threads; ++k)
    out.merge(counts[k]);
}

struct PairStats {
  std::vector<int32_t> left, right;
  std::vector<int64_t> count;
  std::vector<std::vector<uint32_t>> words;
  MergeTable index; // (a, b) -> (pair index, unused)

  uint32_t of(int32_t a, int32_t b) {
    if (const MergeTable::Entry *e = index.find(a, b))
      return e->rank;
    uint32_t p = uint32_t(left.size());
    index.set(a, b, p, 0);
    left.push_back(a);
    right.push_back(b);
    count.push_back(0);
    words.emplace_back();
    return p;
  }
  void addWord(uint32_t p, uint32_t w) {
    std::vector<uint32_t> &list = words[p];
    if (list.empty() || list.back() != w)
      list.push_back(w);
  }
};

struct HeapEntry {
  int64_t count;
  int32_t left, right;
  /// Orders the heap: higher count on top, then the smaller pair.
  bool operator<(const HeapEntry &o) const {
    if (count != o.count)
      return count < o.count;
    return std::tie(left, right) > std::tie(o.left, o.right);
  }
};

} // namespace

Status bitttt::rt::trainBpe(const BpeTrainOptions &options,
                            std::unique_ptr<bitttt_tokenizer> &out) {
  const std::string where = "bitttt_tokenizer_train";
  if (options.minFrequency < 1)
    return Status::error(ErrorCode::InvalidArgument,
                         where + ": params.min_frequency is 0, expected >= 1");
  std::vector<std::string> vocab;
  std::unordered_map<std::string, int32_t> ids;
  for (size_t i = 0; i < options.specialTokens.size(); ++i) {
    const std::string &s = options.specialTokens[i];
    if (!ids.emplace(s, int32_t(vocab.size())).second)
      return Status::error(ErrorCode::InvalidArgument,
                           where + ": params.special_tokens[" +
                               std::to_string(i) + "] '" + s +
                               "' is given twice");
    vocab.push_back(s);
  }
  size_t nSpecial = vocab.size();
  if (options.vocabSize < nSpecial + 256)
    return Status::error(ErrorCode::InvalidArgument,
                         where + ": params.vocab_size " +
                             std::to_string(options.vocabSize) +
                             " is below the " + std::to_string(nSpecial) +
                             " special tokens plus the 256 byte characters");
  // The byte characters in code-point order, as the package sorts its
  // alphabet.
  std::vector<int> bytes(256);
  for (int b = 0; b < 256; ++b)
    bytes[b] = b;
  std::sort(bytes.begin(), bytes.end(), [](int a, int b) {
    return byteLevelCodepoint(uint8_t(a)) < byteLevelCodepoint(uint8_t(b));
  });
  int32_t byteId[256];
  for (int b : bytes) {
    std::string c = byteLevelChar(uint8_t(b));
    auto [it, fresh] = ids.emplace(c, int32_t(vocab.size()));
    if (fresh)
      vocab.push_back(c);
    byteId[b] = it->second;
  }

  std::vector<std::unique_ptr<MappedFile>> files;
  std::vector<std::string_view> texts;
  for (const std::string &path : options.files) {
    std::unique_ptr<MappedFile> f;
    if (Status s = MappedFile::open(path, f); !s)
      return s;
    texts.push_back(f->text());
    files.push_back(std::move(f));
  }
  std::unique_ptr<Regex> gpt2;
  if (Status s = Regex::compile(kGpt2Pattern, false, gpt2); !s)
    return Status::error(ErrorCode::Internal, where + ": " + s.message());
  Progress progress(options.showProgress);
  WordCounts counts;
  countWords(*gpt2, texts, progress, counts);

  // Words as id sequences, in one array.
  std::vector<int32_t> symbols;
  std::vector<size_t> start;
  std::vector<uint32_t> length;
  std::vector<int64_t> wordCount;
  for (const WordCounts::Slot &s : counts.slots())
    if (s.hash) {
      start.push_back(symbols.size());
      length.push_back(uint32_t(s.length));
      wordCount.push_back(int64_t(s.count));
      for (size_t i = 0; i < s.length; ++i)
        symbols.push_back(byteId[uint8_t(s.text[i])]);
    }
  counts = WordCounts();
  files.clear();

  PairStats pairs;
  for (uint32_t w = 0; w < start.size(); ++w)
    for (size_t i = 1; i < length[w]; ++i) {
      uint32_t p = pairs.of(symbols[start[w] + i - 1], symbols[start[w] + i]);
      pairs.count[p] += wordCount[w];
      pairs.addWord(p, w);
    }
  std::vector<HeapEntry> heap;
  for (uint32_t p = 0; p < pairs.count.size(); ++p)
    if (pairs.count[p] > 0)
      heap.push_back({pairs.count[p], pairs.left[p], pairs.right[p]});
  std::make_heap(heap.begin(), heap.end());

  std::vector<std::pair<int32_t, int32_t>> merges;
  std::vector<uint32_t> seen(start.size(), 0), touched;
  std::vector<uint32_t> touchedStamp;
  uint32_t stamp = 0;
  uint64_t target = options.vocabSize;
  while (vocab.size() < target && !heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    HeapEntry top = heap.back();
    heap.pop_back();
    uint32_t p = pairs.of(top.left, top.right);
    if (pairs.count[p] != top.count) {
      if (pairs.count[p] > 0) {
        heap.push_back({pairs.count[p], top.left, top.right});
        std::push_heap(heap.begin(), heap.end());
      }
      continue;
    }
    if (uint64_t(top.count) < options.minFrequency)
      break;
    std::string merged = vocab[top.left] + vocab[top.right];
    auto [it, fresh] = ids.emplace(merged, int32_t(vocab.size()));
    if (fresh)
      vocab.push_back(merged);
    int32_t a = top.left, b = top.right, m = it->second;
    merges.emplace_back(a, b);
    progress.show("merging pairs", vocab.size(), target, false);

    ++stamp;
    touched.clear();
    std::vector<uint32_t> list = std::move(pairs.words[p]);
    pairs.words[p] = {};
    pairs.count[p] = 0;
    auto change = [&](int32_t x, int32_t y, int64_t delta, uint32_t w) {
      uint32_t q = pairs.of(x, y);
      pairs.count[q] += delta;
      if (delta > 0) {
        pairs.addWord(q, w);
        if (touchedStamp.size() <= q)
          touchedStamp.resize(pairs.count.size(), 0);
        if (touchedStamp[q] != stamp) {
          touchedStamp[q] = stamp;
          touched.push_back(q);
        }
      }
    };
    for (uint32_t w : list) {
      if (seen[w] == stamp)
        continue;
      seen[w] = stamp;
      int32_t *s = symbols.data() + start[w];
      size_t n = length[w], r = 0, o = 0;
      int64_t c = wordCount[w];
      while (r < n) {
        if (r + 1 < n && s[r] == a && s[r + 1] == b) {
          if (o > 0) {
            change(s[o - 1], a, -c, w);
            change(s[o - 1], m, c, w);
          }
          if (r + 2 < n) {
            change(b, s[r + 2], -c, w);
            change(m, s[r + 2], c, w);
          }
          s[o++] = m;
          r += 2;
        } else {
          s[o++] = s[r++];
        }
      }
      length[w] = uint32_t(o);
    }
    for (uint32_t q : touched)
      if (pairs.count[q] > 0) {
        heap.push_back({pairs.count[q], pairs.left[q], pairs.right[q]});
        std::push_heap(heap.begin(), heap.end());
      }
  }
  progress.show("merging pairs", vocab.size(), target, true);

  // The document the `tokenizers` package writes for this setup.
  json vocabJson = json::object(), mergesJson = json::array(),
       added = json::array();
  for (size_t i = 0; i < vocab.size(); ++i)
    vocabJson[vocab[i]] = i;
  for (auto [x, y] : merges)
    mergesJson.push_back(json::array({vocab[x], vocab[y]}));
  for (size_t i = 0; i < nSpecial; ++i)
    added.push_back({{"id", i},
                     {"content", vocab[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  json byteLevel = {{"type", "ByteLevel"},
                    {"add_prefix_space", false},
                    {"trim_offsets", true},
                    {"use_regex", true}};
  json decoder = byteLevel;
  decoder["add_prefix_space"] = true;
  json doc = {{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer", byteLevel},
              {"post_processor", nullptr},
              {"decoder", decoder},
              {"model",
               {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", false},
                {"vocab", std::move(vocabJson)},
                {"merges", std::move(mergesJson)}}}};
  return loadTokenizer(doc, where, "trained ", out);
}
