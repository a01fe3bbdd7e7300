//===- Sampler.cpp - bitttt_sampler_*: logits → a token id ----------------===//
//
// The filters, in order (the order of Hugging Face transformers' logits
// warpers): repetition penalty on the raw logits, temperature, top-k, top-p,
// min-p. Probabilities are computed in double from the filtered logits, so
// the masks and the renormalisation are exact enough to compare with a
// reference computed the same way (python/tests/test_sampling.py).
//
//===----------------------------------------------------------------------===//
#include "CApi.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>
#include <unordered_set>
#include <vector>

using namespace bitttt::rt;

namespace {

/// xoshiro256** seeded by splitmix64: the same stream on every machine.
class Rng {
public:
  explicit Rng(uint64_t seed) { reseed(seed); }
  void reseed(uint64_t seed) {
    for (uint64_t &w : s_) {
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    uint64_t result = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

std::string check(const bitttt_sampling_params &p) {
  auto finite = [](float v) { return std::isfinite(v); };
  if (!finite(p.temperature) || p.temperature < 0)
    return "temperature is " + std::to_string(p.temperature) +
           ", expected >= 0";
  if (p.top_k < 0)
    return "top_k is " + std::to_string(p.top_k) + ", expected >= 0";
  if (!finite(p.top_p) || p.top_p <= 0 || p.top_p > 1)
    return "top_p is " + std::to_string(p.top_p) + ", expected in (0, 1]";
  if (!finite(p.min_p) || p.min_p < 0 || p.min_p > 1)
    return "min_p is " + std::to_string(p.min_p) + ", expected in [0, 1]";
  if (!finite(p.repeat_penalty) || p.repeat_penalty <= 0)
    return "repeat_penalty is " + std::to_string(p.repeat_penalty) +
           ", expected > 0";
  if (p.repeat_last_n < -1)
    return "repeat_last_n is " + std::to_string(p.repeat_last_n) +
           ", expected >= -1";
  return "";
}

} // namespace

struct bitttt_sampler {
  bitttt_sampling_params params;
  Rng rng{0};
  std::deque<int32_t> history; ///< accepted ids, oldest first

  /// The probabilities of the filtered distribution (greedy: one-hot).
  void distribution(const float *logits, size_t vocab,
                    std::vector<double> &probs) const;
  void accept(int32_t id) {
    if (params.repeat_last_n == 0)
      return;
    history.push_back(id);
    if (params.repeat_last_n > 0 &&
        history.size() > size_t(params.repeat_last_n))
      history.pop_front();
  }
};

void bitttt_sampler::distribution(const float *logits, size_t vocab,
                                  std::vector<double> &probs) const {
  std::vector<double> z(vocab);
  for (size_t i = 0; i < vocab; ++i)
    z[i] = std::isnan(logits[i]) ? -INFINITY : double(logits[i]);
  if (params.repeat_penalty != 1.0f) {
    std::unordered_set<int32_t> seen(history.begin(), history.end());
    double pen = params.repeat_penalty;
    for (int32_t id : seen)
      if (id >= 0 && size_t(id) < vocab)
        z[size_t(id)] =
            z[size_t(id)] > 0 ? z[size_t(id)] / pen : z[size_t(id)] * pen;
  }
  probs.assign(vocab, 0.0);
  if (params.temperature == 0.0f) { // greedy: the first maximum
    size_t best = 0;
    for (size_t i = 1; i < vocab; ++i)
      if (z[i] > z[best])
        best = i;
    if (z[best] > -INFINITY)
      probs[best] = 1.0;
    return; // all NaN / -inf: no candidate, all zeros
  }
  for (double &v : z)
    v /= double(params.temperature);
  // Candidates sorted by logit, descending (index order on ties).
  auto before = [&](size_t a, size_t b) {
    return z[a] > z[b] || (z[a] == z[b] && a < b);
  };
  std::vector<size_t> order(vocab);
  std::iota(order.begin(), order.end(), size_t(0));
  size_t k = params.top_k > 0 ? size_t(params.top_k) : vocab;
  if (k < vocab) {
    // Top-k without sorting the whole vocabulary (this runs every token):
    // the k-th largest logit, then only the candidates at or above it.
    std::nth_element(order.begin(), order.begin() + long(k - 1), order.end(),
                     before);
    double kth = z[order[k - 1]];
    if (kth > -INFINITY) {
      order.erase(std::remove_if(order.begin(), order.end(),
                                 [&](size_t i) { return z[i] < kth; }),
                  order.end());
    }
  }
  std::sort(order.begin(), order.end(), before);
  if (z[order[0]] == -INFINITY)
    return; // no candidate: all zeros
  size_t keep = order.size();
  while (keep > 1 && z[order[keep - 1]] == -INFINITY)
    --keep;
  if (k < keep) {
    double kth = z[order[k - 1]];
    keep = k;
    while (keep < order.size() && z[order[keep]] == kth) // ties at the k-th
      ++keep;                                            // stay
  }
  auto softmax = [&](size_t n, std::vector<double> &p) {
    p.assign(n, 0.0);
    double top = z[order[0]], sum = 0;
    for (size_t i = 0; i < n; ++i)
      sum += p[i] = std::exp(z[order[i]] - top);
    for (double &v : p)
      v /= sum;
  };
  std::vector<double> p;
  if (params.top_p < 1.0f) {
    softmax(keep, p);
    double mass = 0;
    size_t n = 0;
    while (n < keep && mass < double(params.top_p))
      mass += p[n++];
    keep = std::max<size_t>(n, 1);
  }
  if (params.min_p > 0.0f) {
    softmax(keep, p);
    double threshold = double(params.min_p) * p[0];
    size_t n = 1;
    while (n < keep && p[n] >= threshold)
      ++n;
    keep = n;
  }
  softmax(keep, p);
  for (size_t i = 0; i < keep; ++i)
    probs[order[i]] = p[i];
}

extern "C" {

bitttt_sampling_params bitttt_sampling_default_params(void) {
  bitttt_sampling_params p;
  p.temperature = 0.8f;
  p.top_k = 40;
  p.top_p = 0.95f;
  p.min_p = 0.05f;
  p.repeat_penalty = 1.0f;
  p.repeat_last_n = 64;
  p.seed = 0;
  return p;
}

bitttt_status bitttt_sampler_create(const bitttt_sampling_params *params,
                                    bitttt_sampler **out) {
  const char *function = "bitttt_sampler_create";
  if (!out)
    return nullArgument(function, "out");
  *out = nullptr;
  if (!params)
    return nullArgument(function, "params");
  return guarded(function, [&] {
    std::string bad = check(*params);
    if (!bad.empty())
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": params." + bad);
    auto s = std::make_unique<bitttt_sampler>();
    s->params = *params;
    s->rng.reseed(params->seed);
    *out = s.release();
    return BITTTT_OK;
  });
}

void bitttt_sampler_free(bitttt_sampler *sampler) { delete sampler; }

void bitttt_sampler_reset(bitttt_sampler *sampler) {
  if (!sampler)
    return;
  sampler->history.clear();
  sampler->rng.reseed(sampler->params.seed);
}

bitttt_status bitttt_sampler_set_temperature(bitttt_sampler *sampler,
                                             float temperature) {
  const char *function = "bitttt_sampler_set_temperature";
  if (!sampler)
    return nullArgument(function, "sampler");
  bitttt_sampling_params p = sampler->params;
  p.temperature = temperature;
  std::string bad = check(p);
  if (!bad.empty())
    return failSafely(BITTTT_ERR_INVALID_ARGUMENT, function, bad.c_str());
  sampler->params = p;
  return BITTTT_OK;
}

bitttt_status bitttt_sampler_accept(bitttt_sampler *sampler, int32_t id) {
  if (!sampler)
    return nullArgument("bitttt_sampler_accept", "sampler");
  return guarded("bitttt_sampler_accept", [&] {
    sampler->accept(id);
    return BITTTT_OK;
  });
}

bitttt_status bitttt_sampler_probs(const bitttt_sampler *sampler,
                                   const float *logits, size_t vocab,
                                   double *probs) {
  const char *function = "bitttt_sampler_probs";
  if (!sampler)
    return nullArgument(function, "sampler");
  if (!logits || !probs)
    return nullArgument(function, !logits ? "logits" : "probs");
  if (vocab == 0)
    return failSafely(BITTTT_ERR_INVALID_ARGUMENT, function, "vocab is 0");
  return guarded(function, [&] {
    std::vector<double> p;
    sampler->distribution(logits, vocab, p);
    std::copy(p.begin(), p.end(), probs);
    return BITTTT_OK;
  });
}

bitttt_status bitttt_sampler_sample(bitttt_sampler *sampler,
                                    const float *logits, size_t vocab,
                                    int32_t *id) {
  const char *function = "bitttt_sampler_sample";
  if (!sampler)
    return nullArgument(function, "sampler");
  if (!logits || !id)
    return nullArgument(function, !logits ? "logits" : "id");
  if (vocab == 0 || vocab > size_t(INT32_MAX))
    return failSafely(BITTTT_ERR_INVALID_ARGUMENT, function,
                      "vocab must be in [1, 2^31)");
  return guarded(function, [&] {
    std::vector<double> p;
    sampler->distribution(logits, vocab, p);
    size_t pick = vocab;
    if (sampler->params.temperature == 0.0f) {
      auto best = std::max_element(p.begin(), p.end());
      if (*best > 0)
        pick = size_t(best - p.begin());
    } else {
      double u = sampler->rng.uniform(), mass = 0;
      size_t last = vocab;
      for (size_t i = 0; i < vocab; ++i) {
        if (p[i] <= 0)
          continue;
        last = i;
        mass += p[i];
        if (u < mass) {
          pick = i;
          break;
        }
      }
      if (pick == vocab) // rounding left u above the total mass
        pick = last;
    }
    if (pick == vocab)
      return fail(BITTTT_ERR_INVALID_ARGUMENT,
                  std::string(function) + ": every logit is NaN");
    *id = int32_t(pick);
    sampler->accept(*id);
    return BITTTT_OK;
  });
}

} // extern "C"
