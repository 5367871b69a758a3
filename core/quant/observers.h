// Calibration observers: they watch the FP32 values at a quantization point
// and choose its range.
//   minmax          the range seen (PyTorch MinMaxObserver)
//   moving_average  exponential moving average of per-batch min/max (QAT's default)
//   histogram       2048-bin histogram, range clipped at a percentile (default 99.99)
//   entropy         histogram, range that minimises KL(P || Q) (TensorRT calibration)
//   mse             histogram, range that minimises the expected quantization MSE
// Weight observers work per output channel on the whole weight: minmax or mse.
// Observers are not thread-safe; one per quantization point.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/quant/qparams.h"

namespace qg::quant {

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void Observe(const torch::Tensor& x) = 0;
  // The range to quantize; valid once something was observed.
  virtual std::pair<double, double> Range() const = 0;
  bool empty() const { return !observed_; }
  QParams Compute(const QuantSpec& spec) const;

 protected:
  bool observed_ = false;
};

struct ObserverOptions {
  std::string kind = "minmax";
  double percentile = 99.99;     // histogram
  double averaging_constant = 0.01;  // moving_average
  int bins = 2048;
};

std::vector<std::string> ObserverKinds();
// InvalidArgument naming `field` and listing the kinds.
Result<std::unique_ptr<Observer>> MakeObserver(const ObserverOptions& options, const std::string& field = "observer");

// Per-channel (dim 0) ranges of a weight tensor: "minmax" or "mse" (each
// channel's clipping chosen to minimise its own quantization MSE).
Result<std::pair<torch::Tensor, torch::Tensor>> WeightRanges(const torch::Tensor& weight, const std::string& kind,
                                                             const QuantSpec& spec);

}  // namespace qg::quant
