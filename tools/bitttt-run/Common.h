//===- Common.h - what bitttt-run's subcommands share -----------*- C++ -*-===//
//
// Options come from CLI11 (Debian's libcli11-dev, header only): the runtime
// library stays free of LLVM, and the tool gets subcommands, typed options
// with validation and generated --help without a hand-written parser
// (docs/tools.md says why not llvm::cl).
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUN_COMMON_H
#define BITTTT_RUN_COMMON_H

#include "bitttt.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace bitttt::run {

/// A failure a command reports: "bitttt-run: error: <message>", exit 1.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Throws Error with the runtime's last error unless `status` is OK.
void check(bitttt_status status);

/// Thrown to leave a command with an exit status but no error message
/// (train stopped by a signal: 128 + the signal number).
struct Exit {
  int code;
};

/// Owns a model and its sessions' handles; frees them on every path.
struct ModelHandle {
  bitttt_model *model = nullptr;
  ModelHandle(const std::string &path, int threads, const std::string &target);
  ~ModelHandle() { bitttt_model_free(model); }
  ModelHandle(const ModelHandle &) = delete;
  ModelHandle &operator=(const ModelHandle &) = delete;
  /// The model's tokenizer; Error when the .bitt carries none.
  const bitttt_tokenizer *tokenizer(const std::string &path) const;
};

struct SessionHandle {
  bitttt_session *session = nullptr;
  explicit SessionHandle(const bitttt_model *model) {
    check(bitttt_session_create(model, &session));
  }
  ~SessionHandle() { bitttt_session_free(session); }
  SessionHandle(const SessionHandle &) = delete;
  SessionHandle &operator=(const SessionHandle &) = delete;
};

struct SamplerHandle {
  bitttt_sampler *sampler = nullptr;
  explicit SamplerHandle(const bitttt_sampling_params &p) {
    check(bitttt_sampler_create(&p, &sampler));
  }
  ~SamplerHandle() { bitttt_sampler_free(sampler); }
  SamplerHandle(const SamplerHandle &) = delete;
  SamplerHandle &operator=(const SamplerHandle &) = delete;
};

/// Owns a tokenizer loaded on its own (data prepare, tokenizer commands).
struct TokenizerHandle {
  bitttt_tokenizer *tokenizer = nullptr;
  TokenizerHandle() = default;
  ~TokenizerHandle() { bitttt_tokenizer_free(tokenizer); }
  TokenizerHandle(const TokenizerHandle &) = delete;
  TokenizerHandle &operator=(const TokenizerHandle &) = delete;
};

/// The model options every model-running command takes.
struct ModelOptions {
  std::string path;
  int threads = 0;
  std::string target;
  void add(CLI::App &cmd);
};

/// Sampling and stopping options (generate, chat).
struct SamplingOptions {
  bitttt_sampling_params params = bitttt_sampling_default_params();
  int64_t seed = -1; ///< -1: from the clock
  int64_t maxTokens = 128;
  std::vector<std::string> stop;
  bool ignoreEos = false;
  void add(CLI::App &cmd, int64_t defaultMaxTokens);
  /// params with the seed resolved.
  bitttt_sampling_params resolved() const;
};

/// Encodes text with the tokenizer (Error with the runtime's message on
/// failure).
std::vector<int32_t> encode(const bitttt_tokenizer *tokenizer,
                            const std::string &text, bool addSpecial);

/// Token ids separated by commas and/or spaces ("1,2,3", "1 2 3"); Error
/// "<what>: 'x' is not a token id" for anything else.
std::vector<int32_t> parseIds(const std::string &list, const std::string &what);

/// Error "<what> is empty" / "<what> is not UTF-8 text: byte 0xFF at
/// offset N ..." unless `text` is non-empty valid UTF-8.
void checkText(const std::string &text, const std::string &what);

/// Generates until the budget, the end-of-text id (unless ignored) or a
/// stop string, printing text as it becomes printable (never half a UTF-8
/// character). The session must have logits. Returns the ids generated.
std::vector<int32_t> generateText(bitttt_session *session,
                                  const bitttt_tokenizer *tokenizer,
                                  bitttt_sampler *sampler,
                                  const SamplingOptions &options,
                                  double *decodeSeconds = nullptr);

/// A progress bar on stderr, drawn only when stderr is a terminal and the
/// work has taken more than a second.
class Progress {
public:
  Progress(std::string label, uint64_t total, const char *unit);
  void update(uint64_t done);
  ~Progress();

private:
  std::string label_;
  uint64_t total_;
  const char *unit_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, lastDraw_;
};

// Token files (DESIGN.md §2): `.bin` u16 little endian, `.u32` or
// `.u32.bin` u32 little endian.
/// Whether `path` names a token file (rather than text).
bool isTokenFile(const std::string &path);
/// Whether a token file holds u32 ids (`.u32`, `.u32.bin`), else u16.
bool isWideTokenFile(const std::string &path);
/// ".u32.bin" for u32 ids, ".bin" for u16.
const char *tokenFileSuffix(bool wide);
/// A token file mapped read-only, every id checked against [0, vocab) when
/// it is opened; the one reader of token files (train maps them, eval
/// copies them out). Opened without blocking and refused unless it is a
/// regular file. Throws Error naming the file (and the position of a bad id).
struct TokenFile {
  /// u16 or u32 from the name (isWideTokenFile); empty files refused unless
  /// `allowEmpty`.
  TokenFile(const std::string &path, size_t vocab, bool allowEmpty = false);
  /// `width` bytes per id (2 or 4), whatever the name says.
  TokenFile(const std::string &path, int width, size_t vocab, bool allowEmpty);
  TokenFile(const TokenFile &) = delete;
  TokenFile &operator=(const TokenFile &) = delete;
  ~TokenFile();
  uint32_t at(int64_t i) const {
    const auto *p = static_cast<const uint8_t *>(data) + i * width;
    return width == 2
               ? uint32_t(p[0] | p[1] << 8)
               : uint32_t(p[0] | p[1] << 8 | p[2] << 16) | uint32_t(p[3]) << 24;
  }

  std::string path;
  const void *data = nullptr; ///< `bytes` mapped bytes (null when empty)
  size_t bytes = 0;
  int width = 2;
  int64_t count = 0;
};
/// The ids of a token file (which may be empty), as TokenFile checks them.
std::vector<int32_t> readTokenFile(const std::string &path, size_t vocab);
/// Writes ids as u16 (or u32 when `wide`), atomically.
void writeTokenFile(const std::string &path, const std::vector<int32_t> &ids,
                    bool wide);

/// Reads a whole file (Error naming it on failure).
std::string readFile(const std::string &path);
/// Writes `data` to `path` atomically (temporary next to it + rename).
void writeFileAtomic(const std::string &path, const std::string &data);

double seconds(std::chrono::steady_clock::duration d);

// Each subcommand registers itself with its options and callback.
void addGenerate(CLI::App &app);
void addChat(CLI::App &app);
void addEval(CLI::App &app);
void addData(CLI::App &app);
void addTokenizer(CLI::App &app);
void addTrain(CLI::App &app);
void addInspect(CLI::App &app);

} // namespace bitttt::run

#endif // BITTTT_RUN_COMMON_H
