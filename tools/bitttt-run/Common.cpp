//===- Common.cpp - what bitttt-run's subcommands share -------------------===//
#include "Common.h"

#include "bitttt/Format/BittFile.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

namespace bitttt::run {

void check(bitttt_status status) {
  if (status != BITTTT_OK)
    throw Error(bitttt_last_error());
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

ModelHandle::ModelHandle(const std::string &path, int threads,
                         const std::string &target) {
  bitttt_model_params params = bitttt_model_default_params();
  params.n_threads = threads;
  if (!target.empty())
    params.target = target.c_str();
  check(bitttt_model_load(path.c_str(), &params, &model));
}

const bitttt_tokenizer *ModelHandle::tokenizer(const std::string &path) const {
  const bitttt_tokenizer *t = bitttt_model_tokenizer(model);
  if (!t)
    throw Error(path + ": the model has no tokenizer (compile it from a model "
                       "directory with a tokenizer.json; or pass --ids)");
  return t;
}

void ModelOptions::add(CLI::App &cmd) {
  cmd.add_option("MODEL", path, "The compiled model (.bitt)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd.add_option("-t,--threads", threads,
                 "Threads of the model's pool (0: one per online core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd.add_option("--target", target,
                 "Artifact to run (x86-64-v4, x86-64-v3); default: the best "
                 "this CPU runs");
}

void SamplingOptions::add(CLI::App &cmd, int64_t defaultMaxTokens) {
  maxTokens = defaultMaxTokens;
  cmd.add_option("-n,--n-predict", maxTokens,
                 "Tokens to generate at most (the budget)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30))
      ->capture_default_str();
  cmd.add_option("--temp", params.temperature,
                 "Sampling temperature; 0 picks the most likely token "
                 "(greedy)")
      ->check(CLI::Range(0.0f, 100.0f))
      ->capture_default_str();
  cmd.add_option("--top-k", params.top_k,
                 "Sample among the k most likely tokens only (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--top-p", params.top_p,
                 "Sample among the most likely tokens whose probabilities "
                 "add up to p (1: off)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  cmd.add_option("--min-p", params.min_p,
                 "Drop tokens less likely than min-p times the most likely "
                 "one (0: off)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  cmd.add_option("--repeat-penalty", params.repeat_penalty,
                 "Divide positive (multiply negative) logits of recently "
                 "seen tokens by this (1: off)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd.add_option("--repeat-last-n", params.repeat_last_n,
                 "How many recent tokens the penalty looks at (-1: all)")
      ->check(CLI::Range(-1, 1 << 30))
      ->capture_default_str();
  cmd.add_option("-s,--seed", seed,
                 "Seed of the sampler (-1: from the clock); the same seed "
                 "gives the same text")
      ->capture_default_str();
  cmd.add_option("--stop", stop,
                 "Stop when the text contains this (repeatable); it is not "
                 "printed");
  cmd.add_flag("--ignore-eos", ignoreEos,
               "Do not stop at the tokenizer's end-of-text token");
}

bitttt_sampling_params SamplingOptions::resolved() const {
  bitttt_sampling_params p = params;
  p.seed =
      seed >= 0
          ? uint64_t(seed)
          : uint64_t(
                std::chrono::steady_clock::now().time_since_epoch().count());
  return p;
}

std::vector<int32_t> encode(const bitttt_tokenizer *tokenizer,
                            const std::string &text, bool addSpecial) {
  std::vector<int32_t> ids(text.size() + 8);
  size_t n = 0;
  bitttt_status st =
      bitttt_tokenizer_encode(tokenizer, text.data(), text.size(), addSpecial,
                              ids.data(), ids.size(), &n);
  if (st == BITTTT_ERR_INVALID_ARGUMENT && n > ids.size()) {
    // A template or byte fallback needed more ids than the first guess.
    ids.resize(n);
    st = bitttt_tokenizer_encode(tokenizer, text.data(), text.size(),
                                 addSpecial, ids.data(), ids.size(), &n);
  }
  check(st);
  ids.resize(n);
  return ids;
}

std::vector<int32_t> parseIds(const std::string &list,
                              const std::string &what) {
  std::vector<int32_t> ids;
  for (size_t start = 0; start < list.size();) {
    size_t end = std::min(list.find_first_of(", ", start), list.size());
    std::string item = list.substr(start, end - start);
    if (!item.empty()) {
      char *rest = nullptr;
      long long v = std::strtoll(item.c_str(), &rest, 10);
      if (*rest || v < 0 || v > INT32_MAX)
        throw Error(what + ": '" + item + "' is not a token id");
      ids.push_back(int32_t(v));
    }
    start = end + 1;
  }
  return ids;
}

void checkText(const std::string &text, const std::string &what) {
  if (text.empty())
    throw Error(what + " is empty");
  size_t valid = bitttt_utf8_valid(text.data(), text.size());
  if (valid != text.size()) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", unsigned(uint8_t(text[valid])));
    throw Error(what + " is not UTF-8 text: byte " + byte + " at offset " +
                std::to_string(valid) + " does not start a valid character");
  }
}

namespace {

struct StreamHandle {
  bitttt_text_stream *stream = nullptr;
  ~StreamHandle() { bitttt_text_stream_free(stream); }
};

void print(const char *text, size_t len) {
  std::fwrite(text, 1, len, stdout);
  std::fflush(stdout);
}

} // namespace

std::vector<int32_t> generateText(bitttt_session *session,
                                  const bitttt_tokenizer *tokenizer,
                                  bitttt_sampler *sampler,
                                  const SamplingOptions &options,
                                  double *decodeSeconds) {
  int32_t eos = -1;
  if (!options.ignoreEos && bitttt_tokenizer_eos(tokenizer, &eos) != BITTTT_OK)
    eos = -1; // no end-of-text token: only the budget and stop strings
  std::vector<const char *> stops;
  for (const std::string &s : options.stop)
    stops.push_back(s.c_str());
  StreamHandle h;
  check(bitttt_text_stream_create(tokenizer, stops.data(), stops.size(),
                                  &h.stream));
  std::vector<int32_t> out;
  bool stopped = false;
  for (int64_t i = 0; i < options.maxTokens && !stopped; ++i) {
    const float *logits = nullptr;
    size_t vocab = 0;
    check(bitttt_session_logits(session, &logits, &vocab));
    int32_t id;
    check(bitttt_sampler_sample(sampler, logits, vocab, &id));
    bool end = id == eos;
    if (!end) {
      out.push_back(id);
      const char *text;
      size_t len;
      int hit = 0;
      check(bitttt_text_stream_push(h.stream, id, &text, &len, &hit));
      print(text, len);
      stopped = hit;
    }
    // The session remembers what it said (the TTT state is its memory).
    auto t0 = std::chrono::steady_clock::now();
    check(bitttt_session_decode(session, id));
    if (decodeSeconds)
      *decodeSeconds += seconds(std::chrono::steady_clock::now() - t0);
    if (end)
      break;
  }
  if (!stopped) {
    const char *text;
    size_t len;
    check(bitttt_text_stream_flush(h.stream, &text, &len));
    print(text, len);
  }
  return out;
}

Progress::Progress(std::string label, uint64_t total, const char *unit)
    : label_(std::move(label)), total_(total), unit_(unit),
      tty_(::isatty(2) != 0), start_(std::chrono::steady_clock::now()),
      lastDraw_(start_) {}

void Progress::update(uint64_t done) {
  if (!tty_)
    return;
  auto now = std::chrono::steady_clock::now();
  double elapsed = seconds(now - start_);
  if (elapsed < 1.0 || (drawn_ && seconds(now - lastDraw_) < 0.1))
    return;
  lastDraw_ = now;
  drawn_ = true;
  constexpr int kWidth = 30;
  double frac = total_ ? double(done) / double(total_) : 0;
  int filled = int(frac * kWidth + 0.5);
  std::fprintf(stderr, "\r%s [%s%s] %3d%% %.0f %s/s", label_.c_str(),
               std::string(size_t(filled), '#').c_str(),
               std::string(size_t(kWidth - filled), ' ').c_str(),
               int(frac * 100), double(done) / elapsed, unit_);
  std::fflush(stderr);
}

Progress::~Progress() {
  if (drawn_)
    std::fprintf(stderr, "\n");
}

namespace {
bool endsWith(const std::string &s, const char *suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}
} // namespace

bool isWideTokenFile(const std::string &path) {
  return endsWith(path, ".u32") || endsWith(path, ".u32.bin");
}

bool isTokenFile(const std::string &path) {
  return endsWith(path, ".bin") || isWideTokenFile(path);
}

const char *tokenFileSuffix(bool wide) { return wide ? ".u32.bin" : ".bin"; }

TokenFile::TokenFile(const std::string &p, size_t vocab, bool allowEmpty)
    : TokenFile(p, isWideTokenFile(p) ? 4 : 2, vocab, allowEmpty) {}

TokenFile::TokenFile(const std::string &p, int w, size_t vocab,
                     bool allowEmpty)
    : path(p), width(w) {
  int fd = -1;
  uint64_t size = 0;
  if (format::Status s = format::openRegularFile(p, fd, size); !s)
    throw Error(s.message());
  bytes = size_t(size);
  if ((bytes == 0 && !allowEmpty) || bytes % size_t(width)) {
    ::close(fd);
    throw Error(p + ": " + std::to_string(bytes) + " bytes is not a " +
                (allowEmpty ? "" : "non-empty ") + "whole number of " +
                (width == 4 ? "u32" : "u16") + " tokens");
  }
  if (bytes > 0) {
    void *map = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    ::close(fd);
    if (map == MAP_FAILED)
      throw Error(p + ": cannot map: " + std::strerror(e));
    data = map;
  } else {
    ::close(fd);
  }
  count = int64_t(bytes / size_t(width));
  for (int64_t i = 0; i < count; ++i)
    if (at(i) >= vocab) {
      std::string message = p + ": token " + std::to_string(at(i)) +
                            " at position " + std::to_string(i) +
                            " is outside the vocabulary [0, " +
                            std::to_string(vocab) + ")";
      ::munmap(const_cast<void *>(data), bytes);
      data = nullptr;
      throw Error(message);
    }
}

TokenFile::~TokenFile() {
  if (data)
    ::munmap(const_cast<void *>(data), bytes);
}

std::vector<int32_t> readTokenFile(const std::string &path, size_t vocab) {
  TokenFile file(path, vocab, /*allowEmpty=*/true);
  std::vector<int32_t> ids(size_t(file.count));
  for (int64_t i = 0; i < file.count; ++i)
    ids[size_t(i)] = int32_t(file.at(i));
  return ids;
}

void writeTokenFile(const std::string &path, const std::vector<int32_t> &ids,
                    bool wide) {
  std::string bytes;
  bytes.reserve(ids.size() * (wide ? 4 : 2));
  for (int32_t id : ids) {
    uint32_t v = uint32_t(id);
    for (int b = 0; b < (wide ? 4 : 2); ++b)
      bytes.push_back(char((v >> (8 * b)) & 0xff));
  }
  writeFileAtomic(path, bytes);
}

std::string readFile(const std::string &path) {
  std::string text;
  if (format::Status s = format::readFile(path, text); !s)
    throw Error(s.message());
  return text;
}

void writeFileAtomic(const std::string &path, const std::string &data) {
  if (format::Status s = format::writeFileAtomically(path, data); !s)
    throw Error(s.message());
}

} // namespace bitttt::run
