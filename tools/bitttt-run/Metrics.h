//===- Metrics.h - training metrics (JSONL) and the loss curve --*- C++ -*-===//
//
// A training run logs one JSON object a line (metrics.jsonl): every write is
// one whole line handed to the kernel at once, so a crash leaves at most a
// partial last line, which readers skip and the next append removes. The
// loss curve is drawn by gnuplot (Debian's gnuplot-nox), run as a child
// process with its script and data in temporary files; no shell.
//
//===----------------------------------------------------------------------===//
#ifndef BITTTT_RUN_METRICS_H
#define BITTTT_RUN_METRICS_H

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bitttt::run {

/// An open metrics log. Each write() appends one line with a single write(2)
/// (the line is then in the kernel, readable by others at once); fsync
/// every `syncEvery` lines and on close makes it durable.
class MetricsLog {
public:
  enum class Mode {
    Append,  ///< keep the records there (resuming a run)
    Truncate ///< start an empty log (a new run)
  };
  /// Opens or creates `path` (Error naming it on failure). In Append mode a
  /// partial last line (a write cut by a crash) is removed first, or ended
  /// with a newline when it is a whole record.
  explicit MetricsLog(const std::string &path, Mode mode = Mode::Append,
                      unsigned syncEvery = 16);
  ~MetricsLog(); ///< close(), reporting nothing
  MetricsLog(const MetricsLog &) = delete;
  MetricsLog &operator=(const MetricsLog &) = delete;

  /// Appends `record` (a JSON object) as one line; Error on a failed write.
  void write(const nlohmann::json &record);
  /// fsyncs now.
  void sync();
  /// fsyncs and closes; Error if that fails. Further writes are errors.
  void close();
  const std::string &path() const { return path_; }

private:
  std::string path_;
  int fd_ = -1;
  unsigned syncEvery_, unsynced_ = 0;
};

/// The records of a metrics log, in order.
struct MetricsRecords {
  std::vector<nlohmann::json> records;
  /// Lines skipped: 1 when the last line was cut short (no newline and not
  /// a whole JSON object), else 0.
  size_t truncatedLines = 0;
};

/// Reads a metrics log. Blank lines are skipped, as is a truncated last
/// line (counted); any other line that is not a JSON object is an Error
/// "<path>:<line>: not a JSON object: <why>".
MetricsRecords readMetrics(const std::string &path);

/// Rewrites `path` atomically (temporary + rename) keeping the records of
/// steps up to `step` only: those whose "step" is ≤ `step`, and those
/// without a "step" that follow one (or come before any). Used before
/// resuming from a checkpoint older than the log's tail, so that the log
/// ends as an uninterrupted run's would; the kept lines are byte for byte
/// the same. A missing file is left missing. Returns the records dropped.
/// Close any MetricsLog on the file first.
size_t truncateAfterStep(const std::string &path, int64_t step);

struct PlotOptions {
  bool logY = false; ///< logarithmic loss axis (non-positive losses dropped)
  unsigned width = 960, height = 540; ///< pixels
};

/// What a plot drew.
struct PlotSummary {
  size_t trainPoints = 0, valPoints = 0;
  size_t truncatedLines = 0; ///< as in MetricsRecords
};

/// Draws the train loss (records with "loss") and validation loss (records
/// with "val_loss") of `metricsPath` against "step" into the PNG `pngPath`
/// (written atomically). Error when there is nothing to draw, when gnuplot
/// is missing ("gnuplot not found: install the Debian package
/// gnuplot-nox") or when it fails (with what it printed).
PlotSummary plotLossCurve(const std::string &metricsPath,
                          const std::string &pngPath, const std::string &title,
                          const PlotOptions &options = {});

/// bitttt-run plot: the loss curve of a training run, on demand.
void addPlot(CLI::App &app);

} // namespace bitttt::run

#endif // BITTTT_RUN_METRICS_H
