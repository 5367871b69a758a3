#include "core/quant/observers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qg::quant {
namespace {

class MinMaxObserver final : public Observer {
 public:
  void Observe(const torch::Tensor& x) override {
    const auto [mn, mx] = torch::aminmax(x.detach());
    const double lo = mn.item<double>(), hi = mx.item<double>();
    min_ = observed_ ? std::min(min_, lo) : lo;
    max_ = observed_ ? std::max(max_, hi) : hi;
    observed_ = true;
  }
  std::pair<double, double> Range() const override { return {min_, max_}; }

 private:
  double min_ = 0, max_ = 0;
};

class MovingAverageObserver final : public Observer {
 public:
  explicit MovingAverageObserver(double c) : c_(c) {}
  void Observe(const torch::Tensor& x) override {
    const auto [mn, mx] = torch::aminmax(x.detach());
    const double lo = mn.item<double>(), hi = mx.item<double>();
    min_ = observed_ ? min_ + c_ * (lo - min_) : lo;
    max_ = observed_ ? max_ + c_ * (hi - max_) : hi;
    observed_ = true;
  }
  std::pair<double, double> Range() const override { return {min_, max_}; }

 private:
  double c_;
  double min_ = 0, max_ = 0;
};

// A histogram over [min, max] that widens as data arrives: the old counts are
// re-binned into the wider range (by bin centre), as PyTorch's HistogramObserver.
class HistogramBase : public Observer {
 public:
  explicit HistogramBase(int bins) : bins_(bins), hist_(static_cast<size_t>(bins), 0.0) {}

  void Observe(const torch::Tensor& x) override {
    const auto xf = x.detach().to(torch::kFloat32);
    const auto [mn, mx] = torch::aminmax(xf);
    double lo = mn.item<double>(), hi = mx.item<double>();
    if (observed_) {
      lo = std::min(lo, min_);
      hi = std::max(hi, max_);
    }
    if (hi <= lo) hi = lo + 1e-8;
    if (observed_ && (lo < min_ || hi > max_)) Rebin(lo, hi);
    min_ = lo;
    max_ = hi;
    const auto h = torch::histc(xf, bins_, min_, max_).to(torch::kDouble).contiguous();
    const double* hp = h.data_ptr<double>();
    for (int i = 0; i < bins_; ++i) hist_[i] += hp[i];
    observed_ = true;
  }

 protected:
  double BinWidth() const { return (max_ - min_) / bins_; }
  double BinCenter(int i) const { return min_ + (i + 0.5) * BinWidth(); }
  double Total() const {
    double t = 0;
    for (double v : hist_) t += v;
    return t;
  }
  // Expected squared quantization error of the histogram mass for range [lo, hi].
  double ExpectedMse(double lo, double hi, const QuantSpec& spec) const {
    const QParams q = ChooseQParams(lo, hi, spec);
    const double qmin = static_cast<double>(spec.QuantMin()), qmax = static_cast<double>(spec.QuantMax());
    double err = 0;
    for (int i = 0; i < bins_; ++i) {
      if (hist_[i] == 0) continue;
      const double v = BinCenter(i);
      const double qv = std::clamp(std::nearbyint(v / q.scale) + q.zero_point, qmin, qmax);
      const double d = (qv - q.zero_point) * q.scale - v;
      err += hist_[i] * d * d;
    }
    return err;
  }

  int bins_;
  std::vector<double> hist_;
  double min_ = 0, max_ = 0;

 private:
  void Rebin(double lo, double hi) {
    std::vector<double> fresh(static_cast<size_t>(bins_), 0.0);
    const double width = (hi - lo) / bins_;
    for (int i = 0; i < bins_; ++i) {
      if (hist_[i] == 0) continue;
      const int j = std::clamp(static_cast<int>((BinCenter(i) - lo) / width), 0, bins_ - 1);
      fresh[j] += hist_[i];
    }
    hist_ = std::move(fresh);
  }
};

class PercentileObserver final : public HistogramBase {
 public:
  PercentileObserver(int bins, double percentile) : HistogramBase(bins), percentile_(percentile) {}
  std::pair<double, double> Range() const override {
    const double total = Total();
    const double tail = total * (1.0 - percentile_ / 100.0);
    // Clip each tail that lies beyond zero; a ReLU output keeps its 0.
    double acc = 0;
    int lo_bin = 0;
    while (lo_bin < bins_ - 1 && acc + hist_[lo_bin] <= tail) acc += hist_[lo_bin++];
    acc = 0;
    int hi_bin = bins_ - 1;
    while (hi_bin > 0 && acc + hist_[hi_bin] <= tail) acc += hist_[hi_bin--];
    const double lo = min_ < 0 ? min_ + lo_bin * BinWidth() : min_;
    const double hi = max_ > 0 ? min_ + (hi_bin + 1) * BinWidth() : max_;
    return {std::min(lo, hi), std::max(lo, hi)};
  }

 private:
  double percentile_;
};

// TensorRT-style entropy calibration over |x|: pick the clipping threshold
// whose 255-level quantized distribution Q is closest (KL) to the clipped P.
class EntropyObserver final : public HistogramBase {
 public:
  explicit EntropyObserver(int bins) : HistogramBase(bins) {}
  std::pair<double, double> Range() const override {
    // Fold into a histogram of |x| on [0, max|x|].
    const double max_abs = std::max(std::abs(min_), std::abs(max_));
    std::vector<double> absh(static_cast<size_t>(bins_), 0.0);
    for (int i = 0; i < bins_; ++i) {
      const int j = std::min(bins_ - 1, static_cast<int>(std::abs(BinCenter(i)) / max_abs * bins_));
      absh[j] += hist_[i];
    }
    constexpr int kLevels = 128;  // quantized levels on one side of zero
    double best_kl = std::numeric_limits<double>::infinity();
    int best_i = bins_;
    for (int i = kLevels; i <= bins_; i += 8) {
      std::vector<double> p(absh.begin(), absh.begin() + i);
      for (int k = i; k < bins_; ++k) p[i - 1] += absh[k];  // outliers into the last bin
      // Q: merge p into kLevels groups, spread each group's mass over its non-empty bins.
      std::vector<double> q(static_cast<size_t>(i), 0.0);
      const double per = static_cast<double>(i) / kLevels;
      for (int g = 0; g < kLevels; ++g) {
        const int b0 = static_cast<int>(std::floor(g * per)), b1 = std::max(b0 + 1, static_cast<int>(std::floor((g + 1) * per)));
        double mass = 0;
        int nonzero = 0;
        for (int b = b0; b < b1 && b < i; ++b) {
          mass += absh[b];
          if (absh[b] > 0) ++nonzero;
        }
        for (int b = b0; b < b1 && b < i; ++b) {
          if (absh[b] > 0) q[b] = mass / nonzero;
        }
      }
      double ps = 0, qs = 0;
      for (int b = 0; b < i; ++b) {
        ps += p[b];
        qs += q[b];
      }
      if (ps == 0 || qs == 0) continue;
      double kl = 0;
      for (int b = 0; b < i; ++b) {
        if (p[b] == 0) continue;
        const double pb = p[b] / ps, qb = q[b] > 0 ? q[b] / qs : 1e-12;
        kl += pb * std::log(pb / qb);
      }
      if (kl < best_kl) {
        best_kl = kl;
        best_i = i;
      }
    }
    const double threshold = max_abs * static_cast<double>(best_i) / bins_;
    return {std::max(min_, -threshold), std::min(max_, threshold)};
  }
};

// Shrinks the observed range by a factor and keeps the one with least MSE.
class MseObserver final : public HistogramBase {
 public:
  explicit MseObserver(int bins) : HistogramBase(bins) {}
  std::pair<double, double> Range() const override {
    // The range's effect on MSE depends on the spec; activations use quint8 affine.
    const QuantSpec spec;
    double best = std::numeric_limits<double>::infinity();
    std::pair<double, double> best_range{min_, max_};
    for (int step = 0; step <= 80; ++step) {
      const double f = 1.0 - step * 0.01;
      const double lo = min_ * f, hi = max_ * f;
      const double err = ExpectedMse(lo, hi, spec);
      if (err < best) {
        best = err;
        best_range = {lo, hi};
      }
    }
    return best_range;
  }
};

}  // namespace

QParams Observer::Compute(const QuantSpec& spec) const {
  const auto [lo, hi] = Range();
  return ChooseQParams(lo, hi, spec);
}

std::vector<std::string> ObserverKinds() { return {"minmax", "moving_average", "histogram", "entropy", "mse"}; }

Result<std::unique_ptr<Observer>> MakeObserver(const ObserverOptions& o, const std::string& field) {
  if (o.kind == "minmax") return std::unique_ptr<Observer>(new MinMaxObserver());
  if (o.kind == "moving_average") return std::unique_ptr<Observer>(new MovingAverageObserver(o.averaging_constant));
  if (o.kind == "histogram") {
    if (!(o.percentile > 50 && o.percentile <= 100)) {
      return Error::InvalidArgument("{}: percentile {} must be in (50, 100]", field, o.percentile);
    }
    return std::unique_ptr<Observer>(new PercentileObserver(o.bins, o.percentile));
  }
  if (o.kind == "entropy") return std::unique_ptr<Observer>(new EntropyObserver(o.bins));
  if (o.kind == "mse") return std::unique_ptr<Observer>(new MseObserver(o.bins));
  return Error::InvalidArgument("{}: unknown \"{}\"; known: {}", field, o.kind, fmt::join(ObserverKinds(), ", "));
}

Result<std::pair<torch::Tensor, torch::Tensor>> WeightRanges(const torch::Tensor& weight, const std::string& kind,
                                                             const QuantSpec& spec) {
  const auto w = weight.detach().reshape({weight.size(0), -1}).to(torch::kFloat32);
  auto mins = std::get<0>(w.min(1));
  auto maxs = std::get<0>(w.max(1));
  if (kind == "minmax") return std::make_pair(mins, maxs);
  if (kind != "mse") {
    return Error::InvalidArgument("weight_observer: unknown \"{}\"; known: minmax, mse", kind);
  }
  // Per channel, shrink the range while the reconstruction MSE falls.
  const double qmin = static_cast<double>(spec.QuantMin()), qmax = static_cast<double>(spec.QuantMax());
  auto best_err = torch::full({w.size(0)}, std::numeric_limits<float>::infinity());
  auto best_f = torch::ones({w.size(0)});
  for (int step = 0; step <= 60; ++step) {
    const double f = 1.0 - step * 0.01;
    const auto lo = torch::clamp_max(mins * f, 0), hi = torch::clamp_min(maxs * f, 0);
    torch::Tensor scale, zp;
    if (spec.scheme == QScheme::kSymmetric) {
      scale = torch::clamp_min(torch::maximum(-lo, hi) / ((qmax - qmin) / 2), 1e-8);
      zp = torch::zeros_like(scale);
    } else {
      scale = torch::clamp_min((hi - lo) / (qmax - qmin), 1e-8);
      zp = torch::clamp(qmin - torch::round(lo / scale), qmin, qmax);
    }
    const auto q = torch::clamp(torch::round(w / scale.unsqueeze(1)) + zp.unsqueeze(1), qmin, qmax);
    const auto err = ((q - zp.unsqueeze(1)) * scale.unsqueeze(1) - w).pow(2).mean(1);
    const auto better = err < best_err;
    best_err = torch::where(better, err, best_err);
    best_f = torch::where(better, torch::full_like(best_f, f), best_f);
  }
  return std::make_pair(mins * best_f, maxs * best_f);
}

}  // namespace qg::quant
