// AdaRound (Nagel et al., "Up or Down? Adaptive Rounding for Post-Training
// Quantization", ICML 2020): instead of rounding each weight to the nearest
// grid point, learn per weight whether to round up or down so that the
// layer's output on calibration data matches FP32. Per layer, on the layer's
// FP32 inputs: W~ = s * clamp(floor(W/s) + h(V), qmin, qmax) with the
// rectified sigmoid h(V) = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1),
// minimise ||f(W~ x) - f(W x)||^2 + lambda * sum(1 - |2h(V) - 1|^beta) with
// Adam, beta annealed from 20 to 2 after a warm-up without the regularizer;
// then round up where h(V) >= 0.5. The scales are those nearest rounding
// uses, so the result drops into the same INT8 kernels. A layer whose learned
// rounding does not lower its output error on the kept inputs keeps nearest
// rounding (reported as kept_nearest).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "core/base/result.h"
#include "core/data/data_loader.h"
#include "core/quant/convert.h"
#include "core/quant/ptq.h"

namespace qg::quant {

struct AdaRoundOptions {
  int64_t iterations = 1000;  // per layer; the paper uses 10000 (the fast default fits 2 cores)
  int64_t batch_size = 32;    // inputs per step, drawn from the kept calibration inputs
  int64_t images = 256;       // calibration images whose layer inputs are kept
  double reg_weight = 0.01;   // lambda
  double beta_start = 20.0;
  double beta_end = 2.0;
  double warmup = 0.2;  // share of iterations without the rounding regularizer
  double lr = 1e-2;     // Adam; the paper uses 1e-3 with 10x the iterations
  uint64_t seed = 0;
};

struct AdaRoundResult {
  std::map<std::string, torch::Tensor> weights;        // quantized (qint8) weights per layer
  // {layer, flipped_share, kept_nearest, output_mse_nearest, output_mse_adaround}
  nlohmann::json report = nlohmann::json::array();
};

// The weight options.weight_spec / per_channel would give each INT8 layer of
// `prepared`, rounded adaptively. Layers in options.fp32_layers are skipped.
Result<AdaRoundResult> AdaRound(const PreparedModel& prepared, const ConvertOptions& options,
                                const data::DataLoader& calibration, const AdaRoundOptions& adaround);

}  // namespace qg::quant
