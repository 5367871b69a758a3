// Conversion: a calibrated FP32 GraphModule becomes a QuantizedModel. Weights
// are quantized (qint8, per channel or per tensor) and packed once for the
// current engine; every block of the plan becomes one INT8 step, or an FP32
// step when asked (MPQ) or when the engine refuses the layer and fallback is
// allowed. A concat's own inputs (a requantizing block's output that only the
// concat reads) are written on the concat's qparams, so the concat copies
// bytes (convert.cc says when not).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/base/result.h"
#include "core/models/graph_module.h"
#include "core/quant/calibration.h"
#include "core/quant/quant_plan.h"
#include "core/quant/quantized_model.h"

namespace qg::quant {

struct ConvertOptions {
  QuantSpec weight_spec{.dtype = torch::kQInt8, .scheme = QScheme::kSymmetric};
  bool per_channel = true;
  std::string weight_observer = "minmax";  // or "mse"
  std::set<std::string> fp32_layers;       // blocks to keep in FP32 (by name)
  bool allow_fp32_fallback = false;        // a layer the engine refuses stays FP32, logged
  std::map<std::string, torch::Tensor> bias_overrides;  // corrected biases by layer name
  std::map<std::string, torch::Tensor> weight_overrides;  // already quantized (qint8) weights by layer (AdaRound)
  nlohmann::json meta = nlohmann::json::object();       // recorded in the model file
};

// Caps the weights at 7 bits where `engine`'s u8 x s8 pair sums saturate on
// this CPU with 8 (U8S8PairsSaturate, engine.h); ONNX Runtime's quantizer
// offers the same (reduce_range) for the same reason. Returns whether it did.
bool FitWeightsToEngine(ConvertOptions& options, const std::string& engine);

// The quantized weight Convert packs for a layer (exposed for bias correction).
// Throws c10::Error / std::invalid_argument on bad options.
torch::Tensor QuantizeWeight(const torch::Tensor& weight, const ConvertOptions& options);

// Errors: FailedPrecondition naming the layer the engine cannot quantize (when
// fallback is off); InvalidArgument for unknown layer names in fp32_layers.
Result<std::unique_ptr<QuantizedModel>> Convert(const models::GraphModule& model, const QuantPlan& plan,
                                                const ActivationQParams& qparams, const ConvertOptions& options);

}  // namespace qg::quant
