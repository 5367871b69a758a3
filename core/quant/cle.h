// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through
// Weight Equalization and Bias Correction", ICCV 2019). For two layers with a
// positively homogeneous function between them (ReLU, max or average pooling,
// dropout, nothing), output channel i of the first can be divided by s_i and
// input channel i of the second multiplied by it without changing the FP32
// function. With s_i = sqrt(r1_i * r2_i) / r2_i (r: the channel's weight
// range, max |w|) both ranges become sqrt(r1_i * r2_i), so one per-tensor
// scale fits every channel. Chains (conv, depthwise conv, conv) are
// equalized pair by pair until the scales stop moving.
//
// ReLU6 (a clamp at 6) is not homogeneous: with `relu6_to_relu` it becomes a
// ReLU first (as AIMET does), which changes the FP32 function where
// activations exceed 6; else such pairs are left alone and reported.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/models/graph_module.h"

namespace qg::quant {

struct CleOptions {
  int max_iterations = 20;
  double tolerance = 1e-4;  // stop when no scale moved by more than this (relative)
  bool relu6_to_relu = false;
};

struct CleReport {
  int pairs = 0;       // layer pairs equalized
  int iterations = 0;  // passes over the pairs
  double last_change = 0;
  int relu6_replaced = 0;
  std::vector<std::string> skipped;  // "a -> b: why", for pairs behind a clamp
  // What each equalized layer's output channels were multiplied by (1 / the
  // product of its scales), by layer name: bias absorption needs it.
  std::map<std::string, torch::Tensor> output_scales;
  // Each equalized layer's per-output-channel weight range (max |w|) before
  // and after, in graph order: the report plots them.
  struct ChannelRanges {
    std::string layer;
    std::vector<double> before, after;
  };
  std::vector<ChannelRanges> weight_ranges;

  nlohmann::json ToJson() const;
};

// Equalizes `model` in place (BatchNorm must be folded first: a BN between
// the pair would undo the scaling). FailedPrecondition when a BatchNorm2d is
// still in the graph.
Result<CleReport> EqualizeCrossLayer(models::GraphModule& model, const CleOptions& options = {});

// Bias absorption (same paper, section 4.2): after equalization some channels
// carry large positive activations. Where a conv's BatchNorm says its output
// is N(beta, gamma^2) and a ReLU follows, c = max(0, beta - 3|gamma|) is
// taken out of the conv's bias and put into the next layer's bias (W2 . c),
// which is exact wherever the output stays above c (all but ~0.1 % of values)
// and shrinks the range the activation quantizer must cover.
struct BatchNormOfConv {
  torch::Tensor beta, gamma;  // the BN's bias and weight, as the folded conv's output mean and std
};
// Before folding: the BatchNorm behind each conv, by the conv's name.
std::map<std::string, BatchNormOfConv> BatchNormsOfConvs(const models::GraphModule& model);
// After folding and EqualizeCrossLayer: [{layer, next, channels, mean_shift}].
Result<nlohmann::json> AbsorbBiases(models::GraphModule& model, const std::map<std::string, BatchNormOfConv>& bns,
                                    const CleReport& equalization);

}  // namespace qg::quant
