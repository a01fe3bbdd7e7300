//===- Metrics.cpp - training metrics (JSONL) and the loss curve ----------===//
//
// The log's rule: a record is a line that ends with a newline, or a last
// line that is a whole JSON object. Anything else at the end is a write cut
// short; readers skip it and MetricsLog (Append) removes it, so appending
// never glues a new record onto half an old one.
//
//===----------------------------------------------------------------------===//
#include "Metrics.h"

#include "Common.h"
#include "bitttt/Format/JsonDepth.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using nlohmann::json;

namespace bitttt::run {
namespace {

std::string errnoText(const std::string &what) {
  return what + ": " + std::strerror(errno);
}

bool isBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

/// The JSON object on `line`, or nullopt with `why` set.
std::optional<json> parseObject(std::string_view line, std::string &why) {
  if (std::string deep = bitttt::format::jsonDepthError(line); !deep.empty()) {
    why = deep;
    return std::nullopt;
  }
  json value;
  try {
    value = json::parse(line);
  } catch (const json::parse_error &e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 9:
    // syntax error ..." -> "column 9: syntax error ...".
    std::string what = e.what();
    size_t at = what.find("column ");
    why = at == std::string::npos ? what : what.substr(at);
    return std::nullopt;
  } catch (const json::exception &e) {
    why = e.what(); // a number beyond double's range (out_of_range.406)
    return std::nullopt;
  }
  if (!value.is_object()) {
    why = std::string("a JSON ") + value.type_name();
    return std::nullopt;
  }
  return value;
}

/// One record of a log and its line, as it is in the file (without the
/// newline).
struct Line {
  json record;
  std::string_view text;
};

/// The records of `text` (the contents of `path`); `truncated` counts a
/// skipped last line.
std::vector<Line> parseLog(const std::string &path, std::string_view text,
                           size_t &truncated) {
  std::vector<Line> lines;
  truncated = 0;
  size_t lineNo = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    bool last = end == std::string_view::npos;
    if (last)
      end = text.size();
    ++lineNo;
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (isBlank(line))
      continue;
    std::string why;
    std::optional<json> record = parseObject(line, why);
    if (record) {
      lines.push_back({std::move(*record), line});
    } else if (last) {
      truncated = 1;
    } else {
      throw Error(path + ":" + std::to_string(lineNo) +
                  ": not a JSON object: " + why);
    }
  }
  return lines;
}

/// The number in `record[key]`, if it is a finite one.
std::optional<double> number(const json &record, const char *key) {
  auto it = record.find(key);
  if (it == record.end() || !it->is_number())
    return std::nullopt;
  double v = it->get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

void writeAll(int fd, std::string_view data, const std::string &path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw Error(errnoText(path + ": cannot write"));
    data.remove_prefix(size_t(n));
  }
}

/// Ends the log with a newline: a whole last record gets one, a partial
/// last line is cut off.
void repairTail(int fd, const std::string &path) {
  struct stat st;
  if (::fstat(fd, &st) != 0)
    throw Error(errnoText(path + ": cannot stat"));
  // Find the last newline, reading back from the end.
  off_t end = st.st_size;
  std::string tail;
  char chunk[4096];
  while (end > 0) {
    off_t begin = end > off_t(sizeof chunk) ? end - off_t(sizeof chunk) : 0;
    ssize_t n = ::pread(fd, chunk, size_t(end - begin), begin);
    if (n != end - begin)
      throw Error(errnoText(path + ": cannot read"));
    std::string_view got(chunk, size_t(n));
    size_t nl = got.rfind('\n');
    tail.insert(0, got.substr(nl == std::string_view::npos ? 0 : nl + 1));
    if (nl != std::string_view::npos) {
      end = begin + off_t(nl) + 1;
      break;
    }
    end = begin;
  }
  if (tail.empty())
    return; // empty, or ends with a newline
  std::string why;
  if (!isBlank(tail) && parseObject(tail, why))
    writeAll(fd, "\n", path);
  else if (::ftruncate(fd, end) != 0)
    throw Error(errnoText(path + ": cannot cut its truncated last line"));
}

} // namespace

//===----------------------------------------------------------------------===//
// MetricsLog
//===----------------------------------------------------------------------===//

MetricsLog::MetricsLog(const std::string &path, Mode mode, unsigned syncEvery)
    : path_(path), syncEvery_(syncEvery) {
  int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC;
  if (mode == Mode::Truncate)
    flags |= O_TRUNC;
  fd_ = ::open(path.c_str(), flags, 0644);
  if (fd_ < 0)
    throw Error(errnoText(path + ": cannot open"));
  try {
    repairTail(fd_, path);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) {
    (void)::fsync(fd_);
    ::close(fd_);
  }
}

void MetricsLog::write(const json &record) {
  if (fd_ < 0)
    throw Error(path_ + ": the metrics log is closed");
  if (!record.is_object())
    throw Error(path_ + ": a metrics record must be a JSON object");
  // One write(2) for the whole line; invalid UTF-8 is replaced rather than
  // throwing in the middle of a run.
  std::string line =
      record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  writeAll(fd_, line, path_);
  if (syncEvery_ && ++unsynced_ >= syncEvery_)
    sync();
}

void MetricsLog::sync() {
  if (fd_ < 0)
    return;
  if (::fsync(fd_) != 0)
    throw Error(errnoText(path_ + ": cannot fsync"));
  unsynced_ = 0;
}

void MetricsLog::close() {
  if (fd_ < 0)
    return;
  int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    throw Error(errnoText(path_ + ": cannot fsync"));
  }
  if (::close(fd) != 0)
    throw Error(errnoText(path_ + ": cannot close"));
}

//===----------------------------------------------------------------------===//
// Reading and rewriting
//===----------------------------------------------------------------------===//

MetricsRecords readMetrics(const std::string &path) {
  std::string text = readFile(path);
  MetricsRecords out;
  for (Line &line : parseLog(path, text, out.truncatedLines))
    out.records.push_back(std::move(line.record));
  return out;
}

size_t truncateAfterStep(const std::string &path, int64_t step) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT)
    return 0;
  std::string text = readFile(path);
  size_t truncated = 0;
  std::vector<Line> lines = parseLog(path, text, truncated);
  std::string kept;
  size_t dropped = 0;
  // A record without a step belongs to the step before it (a header to
  // none, and stays).
  bool keep = true;
  for (const Line &line : lines) {
    if (std::optional<double> s = number(line.record, "step"))
      keep = *s <= double(step);
    if (keep) {
      kept.append(line.text);
      kept.push_back('\n');
    } else {
      ++dropped;
    }
  }
  if (dropped || truncated || kept.size() != text.size())
    writeFileAtomic(path, kept);
  return dropped;
}

//===----------------------------------------------------------------------===//
// The loss curve
//===----------------------------------------------------------------------===//

namespace {

/// A gnuplot string literal: single quotes, in which only a doubled quote
/// is special.
std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "''";
    else
      out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "'";
}

/// A path gnuplot can be given in its script (lines end at newlines).
void checkPath(const std::string &path) {
  if (path.find_first_of("\n\r") != std::string::npos)
    throw Error("cannot plot to or from a path with a line break: " + path);
}

/// A temporary directory, removed with what is in it.
struct TempDir {
  std::string path;
  std::vector<std::string> files;
  TempDir() {
    const char *tmp = std::getenv("TMPDIR");
    std::string base = tmp && *tmp ? tmp : "/tmp";
    if (base[0] != '/')
      base = "./" + base; // never an argument that looks like an option
    std::string pattern = base + "/bitttt-plot-XXXXXX";
    if (!::mkdtemp(pattern.data()))
      throw Error(errnoText("cannot create a temporary directory in " + base));
    path = pattern;
  }
  std::string file(const std::string &name) {
    files.push_back(path + "/" + name);
    return files.back();
  }
  ~TempDir() {
    for (const std::string &f : files)
      ::unlink(f.c_str());
    ::rmdir(path.c_str());
  }
};

/// `<path>.tmp.<pid>` beside `path` (so the rename is atomic; the umask's
/// permissions, as any new file), removed unless committed.
struct TempOutput {
  std::string path, tmp;
  explicit TempOutput(const std::string &target)
      : path(target), tmp(target + ".tmp." + std::to_string(::getpid())) {
    int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
      throw Error(errnoText(tmp + ": cannot create"));
    ::close(fd);
  }
  void commit() {
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    bool synced = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0)
      ::close(fd);
    if (!synced)
      throw Error(errnoText(tmp + ": cannot fsync"));
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error(errnoText("cannot rename " + tmp + " to " + path));
    tmp.clear();
  }
  ~TempOutput() {
    if (!tmp.empty())
      ::unlink(tmp.c_str());
  }
};

using Points = std::vector<std::pair<double, double>>;

void writePoints(const std::string &path, const Points &points) {
  std::string text;
  char buf[64];
  for (auto [x, y] : points) {
    std::snprintf(buf, sizeof buf, "%.17g %.17g\n", x, y);
    text += buf;
  }
  writeFileAtomic(path, text);
}

/// Runs `gnuplot script`, returning its exit status and what it printed.
std::pair<int, std::string> runGnuplot(const std::string &script) {
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0)
    throw Error(errnoText("cannot create a pipe for gnuplot"));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 2);
  std::string program = "gnuplot";
  char *argv[] = {program.data(), const_cast<char *>(script.c_str()), nullptr};
  pid_t pid;
  int rc = ::posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipeFds[1]);
  if (rc != 0) {
    ::close(pipeFds[0]);
    if (rc == ENOENT)
      throw Error("gnuplot not found: install the Debian package gnuplot-nox");
    errno = rc;
    throw Error(errnoText("cannot run gnuplot"));
  }
  std::string output;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(pipeFds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (output.size() < (1u << 16))
      output.append(buf, size_t(n));
  }
  ::close(pipeFds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw Error(errnoText("cannot wait for gnuplot"));
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!output.empty() && (output.back() == '\n' || output.back() == ' '))
    output.pop_back();
  return {code, output};
}

bool isPng(const std::string &path) {
  static const char kSignature[8] = {'\x89', 'P',  'N',    'G',
                                     '\r',   '\n', '\x1a', '\n'};
  char head[8];
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::read(fd, head, 8) == 8 && std::memcmp(head, kSignature, 8) == 0;
  ::close(fd);
  return ok;
}

} // namespace

PlotSummary plotLossCurve(const std::string &metricsPath,
                          const std::string &pngPath, const std::string &title,
                          const PlotOptions &options) {
  checkPath(pngPath);
  MetricsRecords log = readMetrics(metricsPath);
  Points train, val;
  for (const json &record : log.records) {
    std::optional<double> step = number(record, "step");
    if (!step)
      continue;
    const std::pair<const char *, Points *> series[] = {{"loss", &train},
                                                        {"val_loss", &val}};
    for (auto [key, points] : series)
      if (std::optional<double> v = number(record, key))
        if (!options.logY || *v > 0)
          points->push_back({*step, *v});
  }
  if (train.empty() && val.empty())
    throw Error(metricsPath + ": no record with a \"step\" and a \"loss\" or " +
                "\"val_loss\" to plot" +
                (options.logY ? " (a log scale needs positive losses)" : ""));

  TempDir dir;
  TempOutput png(pngPath);
  std::string size =
      std::to_string(options.width) + "," + std::to_string(options.height);
  // pngcairo when this gnuplot has it (antialiased), else libgd's png.
  std::string script = "set encoding utf8\n";
  script += "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n";
  script += "  set terminal pngcairo noenhanced size " + size + "\n";
  script += "} else {\n";
  script += "  set terminal png noenhanced size " + size + "\n";
  script += "}\n";
  script += "set output " + quote(png.tmp) + "\n";
  script += "set title " + quote(title) + "\n";
  script += "set xlabel 'step'\nset ylabel 'loss'\nset grid\n";
  script += "set key top right\n";
  if (options.logY)
    script += "set logscale y\n";
  std::vector<std::string> series;
  if (!train.empty()) {
    std::string data = dir.file("train.dat");
    writePoints(data, train);
    series.push_back(quote(data) + " using 1:2 with " +
                     (train.size() > 1 ? "lines" : "points pt 7") +
                     " lw 1.5 lc rgb '#1f77b4' title 'train loss'");
  }
  if (!val.empty()) {
    std::string data = dir.file("val.dat");
    writePoints(data, val);
    series.push_back(quote(data) + " using 1:2 with linespoints pt 7 ps 0.8 " +
                     "lw 2 lc rgb '#d62728' title 'validation loss'");
  }
  script += "plot " + series[0];
  if (series.size() > 1)
    script += ", \\\n     " + series[1];
  script += "\nunset output\n";
  std::string scriptPath = dir.file("loss.gp");
  writeFileAtomic(scriptPath, script);

  auto [code, output] = runGnuplot(scriptPath);
  if (code != 0)
    throw Error("gnuplot failed (exit status " + std::to_string(code) +
                ") drawing " + pngPath +
                (output.empty() ? std::string() : ":\n" + output));
  if (!isPng(png.tmp))
    throw Error("gnuplot wrote no PNG for " + pngPath +
                (output.empty() ? std::string() : ":\n" + output));
  png.commit();
  return {train.size(), val.size(), log.truncatedLines};
}

//===----------------------------------------------------------------------===//
// bitttt-run plot
//===----------------------------------------------------------------------===//

namespace {

struct PlotCommand {
  std::string metrics, output, title;
  PlotOptions options;
};

void runPlot(const PlotCommand &c) {
  std::string output = c.output;
  if (output.empty()) {
    std::string base = c.metrics;
    if (base.size() > 6 && base.compare(base.size() - 6, 6, ".jsonl") == 0)
      base.resize(base.size() - 6);
    output = base + ".png";
  }
  PlotSummary s = plotLossCurve(
      c.metrics, output, c.title.empty() ? c.metrics : c.title, c.options);
  if (s.truncatedLines)
    std::fprintf(stderr,
                 "bitttt-run: warning: %s: skipped its truncated last line "
                 "(a write cut short)\n",
                 c.metrics.c_str());
  std::fprintf(stderr, "plotted %zu train and %zu validation losses -> %s\n",
               s.trainPoints, s.valPoints, output.c_str());
}

} // namespace

void addPlot(CLI::App &app) {
  auto c = std::make_shared<PlotCommand>();
  CLI::App *cmd = app.add_subcommand(
      "plot",
      "Draw the loss curve of a training run on demand: the train loss "
      "(records with \"step\" and \"loss\") and the validation loss "
      "(records with \"step\" and \"val_loss\") of its metrics log, against "
      "the step, into a PNG. Needs gnuplot (Debian's gnuplot-nox).");
  cmd->add_option("METRICS", c->metrics,
                  "The run's metrics log (JSONL: one JSON object a line, "
                  "as bitttt-run train writes it; a truncated last line is "
                  "skipped with a warning)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", c->output,
                  "The PNG to write (replaced atomically); default: METRICS "
                  "with .jsonl replaced by .png");
  cmd->add_option("--title", c->title,
                  "Title above the plot; default: METRICS");
  cmd->add_flag("--log-y", c->options.logY,
                "Logarithmic loss axis (drops losses that are not positive)");
  cmd->add_option("--width", c->options.width, "Width of the image in pixels")
      ->check(CLI::Range(64u, 8192u))
      ->capture_default_str();
  cmd->add_option("--height", c->options.height,
                  "Height of the image in pixels")
      ->check(CLI::Range(64u, 8192u))
      ->capture_default_str();
  cmd->callback([c] { runPlot(*c); });
}

} // namespace bitttt::run
