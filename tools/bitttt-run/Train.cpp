//===- Train.cpp - bitttt-run train ---------------------------------------===//
//
// The trainer of docs/training.md around the runtime's bitttt_trainer (the
// compiled training step): mmap'd token files, reproducible windows,
// warmup + cosine, gradient accumulation, periodic validation, JSONL
// metrics and the loss curve, checkpoints that never lose work, resume.
//
//===----------------------------------------------------------------------===//
#include "Common.h"
#include "Metrics.h"
#include "bitttt/Format/JsonDepth.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <sys/stat.h>
#include <unistd.h>

namespace bitttt::run {
namespace {

using json = nlohmann::json;

struct TrainOptions {
  ModelOptions model;
  std::string data, trainFile, valFile, out = "run", resume, config;
  int64_t steps = 1000, warmup = 100, accum = 1, evalEvery = 100,
          evalWindows = 64, saveEvery = 500, keep = 3;
  double lr = 3e-4, minLr = 1e-5, timeLimit = 0;
  int64_t stopAt = 0;
  uint64_t seed = 0;
  bool noExport = false;

  /// What a resumed run must share with the run it continues.
  json schedule() const {
    return json{{"steps", steps},          {"lr", lr},
                {"warmup", warmup},        {"min_lr", minLr},
                {"accum", accum},          {"seed", seed},
                {"eval_every", evalEvery}, {"eval_windows", evalWindows},
                {"train", trainFile},      {"val", valFile}};
  }
};

std::atomic<int> stopSignal{0};
extern "C" void onSignal(int sig) { stopSignal = sig; }

struct TrainerHandle {
  bitttt_trainer *trainer = nullptr;
  TrainerHandle(const bitttt_model *model, uint64_t seed) {
    check(bitttt_trainer_create(model, seed, &trainer));
  }
  ~TrainerHandle() { bitttt_trainer_free(trainer); }
};

double lrAt(const TrainOptions &o, int64_t t) {
  if (t <= o.warmup)
    return o.lr * double(t) / double(o.warmup);
  double p =
      std::min(1.0, double(t - o.warmup) /
                        double(std::max<int64_t>(1, o.steps - o.warmup)));
  return o.minLr + 0.5 * (o.lr - o.minLr) * (1.0 + std::cos(M_PI * p));
}

/// Settings from --config FILE for every option not given on the command
/// line (the command line wins).
void applyConfigFile(CLI::App &cmd, TrainOptions &o) {
  if (o.config.empty())
    return;
  std::string text = readFile(o.config);
  if (std::string deep = bitttt::format::jsonDepthError(text); !deep.empty())
    throw Error(o.config + ": " + deep);
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(o.config + ": not a JSON object");
  for (const auto &[key, value] : j.items()) {
    CLI::Option *opt = nullptr;
    try {
      opt = cmd.get_option("--" + key);
    } catch (const CLI::OptionNotFound &) {
    }
    if (!opt || key == "config")
      throw Error(o.config + ": unknown field '" + key + "'");
    if (opt->count() > 0)
      continue;
    std::string text =
        value.is_string() ? value.get<std::string>() : value.dump();
    try {
      opt->add_result(text);
      opt->run_callback();
    } catch (const CLI::Error &e) {
      throw Error(o.config + ": field '" + key + "': " + e.what());
    }
  }
}

void resolveData(TrainOptions &o) {
  if (!o.data.empty()) {
    for (const char *suffix : {".bin", ".u32.bin"}) {
      if (o.trainFile.empty() &&
          ::access((o.data + "/train" + suffix).c_str(), R_OK) == 0)
        o.trainFile = o.data + "/train" + suffix;
      if (o.valFile.empty() &&
          ::access((o.data + "/val" + suffix).c_str(), R_OK) == 0)
        o.valFile = o.data + "/val" + suffix;
    }
    if (o.trainFile.empty())
      throw Error(o.data + ": no train.bin or train.u32.bin (write them with "
                           "`bitttt-run data prepare`)");
  }
  if (o.trainFile.empty())
    throw Error("no training data: pass --data DIR or --train FILE");
}

void run(CLI::App &cmd, TrainOptions &o) {
  applyConfigFile(cmd, o);
  resolveData(o);
  if (o.steps < 1 || o.accum < 1 || o.warmup < 0 || o.keep < 1 ||
      o.saveEvery < 1 || o.evalEvery < 1 || !(o.lr > 0) || o.minLr < 0)
    throw Error("--steps, --accum, --keep, --save-every and --eval-every "
                "must be >= 1, --lr > 0, --warmup and --min-lr >= 0");
  ModelHandle model(o.model.path, o.model.threads, o.model.target);
  size_t vocab = bitttt_model_vocab_size(model.model);
  TrainerHandle handle(model.model, o.seed);
  bitttt_trainer *tr = handle.trainer;
  const int64_t batch = bitttt_trainer_batch(tr);
  const int64_t context = bitttt_trainer_context(tr);
  TokenFile train(o.trainFile, vocab);
  if (train.count < context + 1)
    throw Error(o.trainFile + ": " + std::to_string(train.count) +
                " tokens, fewer than a window of context + 1 = " +
                std::to_string(context + 1));
  std::unique_ptr<TokenFile> val;
  std::vector<int32_t> valWindows;
  if (!o.valFile.empty()) {
    val = std::make_unique<TokenFile>(o.valFile, vocab);
    int64_t n = std::min<int64_t>(o.evalWindows, (val->count - 1) / context);
    n -= n % batch;
    if (n < batch)
      throw Error(o.valFile + ": " + std::to_string(val->count) +
                  " tokens give fewer than batch = " + std::to_string(batch) +
                  " validation windows of " + std::to_string(context + 1) +
                  " tokens");
    for (int64_t w = 0; w < n; ++w)
      for (int64_t i = 0; i <= context; ++i)
        valWindows.push_back(int32_t(val->at(w * context + i)));
  }

  std::string ckptDir = o.out + "/checkpoints";
  std::string metricsPath = o.out + "/metrics.jsonl";
  ::mkdir(o.out.c_str(), 0755);
  double bestVal = INFINITY;
  if (!o.resume.empty()) {
    // The newest checkpoint that reads back (corrupt ones are reported and
    // skipped) must be of this model and of this run's options.
    std::string dir = o.resume + "/checkpoints";
    const char *extra = nullptr, *loadedPath = nullptr;
    check(bitttt_trainer_resume(tr, dir.c_str(), &loadedPath, &extra));
    std::string path = loadedPath;
    json e = json::parse(extra ? extra : "{}", nullptr, false);
    json saved = e.value("schedule", json());
    json now = o.schedule();
    for (const auto &[k, v] : now.items())
      if (!saved.contains(k) || saved[k] != v)
        throw Error(path + ": field 'schedule." + k + "' is " +
                    (saved.contains(k) ? saved[k].dump() : "missing") +
                    ", this run has " + v.dump() +
                    " (a resumed run keeps the options of the run it "
                    "continues)");
    const json &best = e.contains("best_val") ? e["best_val"] : json();
    bestVal = best.is_number() ? best.get<double>() : INFINITY;
    int64_t at = bitttt_trainer_step_count(tr);
    truncateAfterStep(metricsPath, at);
    std::fprintf(stderr, "resumed from %s at step %lld\n", path.c_str(),
                 (long long)at);
  }

  MetricsLog metrics(metricsPath, o.resume.empty() ? MetricsLog::Mode::Truncate
                                                   : MetricsLog::Mode::Append);
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);

  auto evaluate = [&]() -> double {
    double sum = 0;
    int64_t batches = int64_t(valWindows.size()) / (batch * (context + 1));
    for (int64_t b = 0; b < batches; ++b) {
      float loss = 0;
      check(bitttt_trainer_loss(
          tr, valWindows.data() + b * batch * (context + 1), &loss));
      sum += loss;
    }
    return sum / double(batches);
  };
  auto saveCheckpoint = [&](int64_t step, double valLoss) {
    json extra{{"schedule", o.schedule()},
               {"best_val", std::isfinite(bestVal) ? json(bestVal) : json()},
               {"val_loss", std::isfinite(valLoss) ? json(valLoss) : json()}};
    char name[64];
    std::snprintf(name, sizeof name, "step-%08lld.ckpt", (long long)step);
    metrics.sync();
    check(bitttt_trainer_save(tr, ckptDir.c_str(), name, extra.dump().c_str()));
    if (std::isfinite(valLoss) && valLoss <= bestVal)
      check(bitttt_checkpoint_mark_best(ckptDir.c_str(), name));
    check(bitttt_checkpoint_prune(ckptDir.c_str(), int(o.keep)));
    return std::string(ckptDir) + "/" + name;
  };

  std::vector<int32_t> tokens(size_t(batch * (context + 1)));
  int64_t step = bitttt_trainer_step_count(tr);
  const int64_t firstStep = step;
  bool tty = ::isatty(STDERR_FILENO);
  auto started = std::chrono::steady_clock::now();
  std::string lastCheckpoint;
  double lastVal = NAN;
  int stoppedBy = 0;
  while (step < o.steps) {
    auto t0 = std::chrono::steady_clock::now();
    double lr = lrAt(o, step + 1);
    double lossSum = 0;
    for (int64_t a = 0; a < o.accum; ++a) {
      check(bitttt_trainer_draw_windows(tr, train.data, train.count,
                                        train.width, tokens.data(), batch));
      float loss = 0;
      check(bitttt_trainer_accumulate(tr, tokens.data(), &loss));
      if (!std::isfinite(loss))
        throw Error("step " + std::to_string(step + 1) +
                    ": the loss is not finite (NaN or Inf); the last good "
                    "checkpoint is " +
                    (lastCheckpoint.empty() ? std::string("(none yet)")
                                            : lastCheckpoint));
      lossSum += loss;
    }
    float gradNorm = 0;
    bitttt_status st = bitttt_trainer_apply(tr, float(lr), &gradNorm);
    if (st != BITTTT_OK)
      throw Error("step " + std::to_string(step + 1) + ": " +
                  bitttt_last_error() + "; the last good checkpoint is " +
                  (lastCheckpoint.empty() ? std::string("(none yet)")
                                          : lastCheckpoint));
    ++step;
    double dt = seconds(std::chrono::steady_clock::now() - t0);
    double loss = lossSum / double(o.accum);
    metrics.write(
        json{{"step", step},
             {"loss", loss},
             {"grad_norm", gradNorm},
             {"lr", float(lr)},
             {"tokens_per_s", double(o.accum * batch * context) / dt}});
    if (tty) {
      double elapsed = seconds(std::chrono::steady_clock::now() - started);
      double eta = elapsed / double(step - firstStep) * double(o.steps - step);
      std::fprintf(stderr,
                   "\rstep %lld/%lld  loss %.4f  %.0f tok/s  ETA %.0fs   ",
                   (long long)step, (long long)o.steps, loss,
                   double(o.accum * batch * context) / dt, eta);
      std::fflush(stderr);
    }
    bool last = step == o.steps;
    bool timeUp = o.timeLimit > 0 && seconds(std::chrono::steady_clock::now() -
                                             started) >= o.timeLimit;
    stoppedBy = stopSignal.load();
    if (o.stopAt > 0 && step == o.stopAt && !last)
      stoppedBy = SIGINT;
    // Validation on the schedule only (a stop does not add a record, so
    // that a resumed run's log equals an uninterrupted one's).
    bool evalNow =
        val && (step % o.evalEvery == 0 || last || step % o.saveEvery == 0);
    if (evalNow) {
      lastVal = evaluate();
      metrics.write(json{{"step", step},
                         {"val_loss", lastVal},
                         {"val_ppl", std::exp(lastVal)}});
    }
    if (step % o.saveEvery == 0 || last || stoppedBy || timeUp) {
      double v = evalNow ? lastVal : NAN;
      if (std::isfinite(v) && v < bestVal)
        bestVal = v;
      lastCheckpoint = saveCheckpoint(step, v);
    }
    if (stoppedBy || timeUp)
      break;
  }
  if (tty)
    std::fprintf(stderr, "\n");
  metrics.close();
  std::string png = o.out + "/loss.png";
  std::string plotNote;
  try {
    plotLossCurve(metricsPath, png, "bitttt-run train: " + o.model.path, {});
  } catch (const Error &e) {
    plotNote = std::string(" (no plot: ") + e.what() + ")";
    png.clear();
  }
  std::string bittOut = o.out + "/model.bitt", dirOut = o.out + "/model";
  if (!o.noExport)
    check(bitttt_trainer_export(tr, bittOut.c_str(), dirOut.c_str()));
  json summary{
      {"steps", step},
      {"checkpoint", lastCheckpoint},
      {"metrics", metricsPath},
      {"loss_curve", png.empty() ? json() : json(png)},
      {"bitt", o.noExport ? json() : json(bittOut)},
      {"model_dir", o.noExport ? json() : json(dirOut)},
      {"val_loss", std::isfinite(lastVal) ? json(lastVal) : json()},
      {"seconds", seconds(std::chrono::steady_clock::now() - started)}};
  std::printf("%s\n", summary.dump().c_str());
  if (!plotNote.empty())
    std::fprintf(stderr, "bitttt-run train:%s\n", plotNote.c_str());
  if (stoppedBy) {
    std::fprintf(stderr,
                 "bitttt-run train: stopped by %s after step %lld; "
                 "resume with --resume %s\n",
                 stoppedBy == SIGINT ? "SIGINT" : "SIGTERM", (long long)step,
                 o.out.c_str());
    throw Exit{128 + stoppedBy};
  }
}

} // namespace

void addTrain(CLI::App &app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App *cmd = app.add_subcommand(
      "train",
      "Train the model of MODEL.bitt (compiled with `bitttt-compile --train`: "
      "the training step is compiled code) on token files, with "
      "checkpoints, validation, metrics and a loss curve under --out. "
      "SIGINT/SIGTERM finish the current step, save and exit; --resume "
      "continues bit-identically (docs/training.md).");
  o->model.add(*cmd);
  cmd->add_option("--data", o->data,
                  "Directory with train.bin and val.bin (as `data prepare` "
                  "writes; .u32.bin for large vocabularies)");
  cmd->add_option("--train", o->trainFile, "Training token file");
  cmd->add_option("--val", o->valFile, "Validation token file");
  cmd->add_option("--out", o->out,
                  "Run directory: checkpoints/, metrics.jsonl, loss.png, "
                  "model.bitt and model/ (default: run)");
  cmd->add_option("--resume", o->resume,
                  "Continue the run in DIR from its newest valid checkpoint "
                  "(the options must be those of that run)");
  cmd->add_option("--config", o->config,
                  "JSON file of options (keys are the long option names, "
                  "e.g. {\"steps\": 2000, \"lr\": 3e-4}); the command line "
                  "wins");
  cmd->add_option("--steps", o->steps, "Optimizer steps (default 1000)");
  cmd->add_option("--lr", o->lr, "Peak learning rate (default 3e-4)");
  cmd->add_option("--warmup", o->warmup,
                  "Linear warmup steps (default 100), then cosine to --min-lr");
  cmd->add_option("--min-lr", o->minLr, "Final learning rate (default 1e-5)");
  cmd->add_option("--accum", o->accum,
                  "Micro-batches per step (gradient accumulation; default 1)");
  cmd->add_option("--seed", o->seed,
                  "Seed of the window generator (default 0)");
  cmd->add_option("--eval-every", o->evalEvery,
                  "Validation every N steps (default 100)");
  cmd->add_option("--eval-windows", o->evalWindows,
                  "Validation windows (default 64; rounded down to the batch)");
  cmd->add_option("--save-every", o->saveEvery,
                  "Checkpoint every N steps (default 500)");
  cmd->add_option("--keep", o->keep,
                  "Step checkpoints kept (default 3; best.ckpt is kept too)");
  cmd->add_option("--time-limit", o->timeLimit,
                  "Stop (checkpoint and export) after this many seconds");
  cmd->add_option("--stop-at", o->stopAt,
                  "Stop after step N as SIGINT would (checkpoint, exit 130): "
                  "a staged run, continued with --resume");
  cmd->add_flag("--no-export", o->noExport,
                "Do not write model.bitt and model/ at the end");
  cmd->callback([cmd, o] { run(*cmd, *o); });
}

} // namespace bitttt::run
