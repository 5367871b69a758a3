// Empirical bias correction: for each INT8 layer in turn, measure on
// calibration data the expected per-output-channel shift between the layer's
// quantized output (INT8 input activations from the real INT8 model, quantized
// weights) and its FP32 output, and subtract it from the bias. Layers are
// corrected in order, each seeing the corrections before it.
#pragma once

#include <map>
#include <string>

#include "core/base/result.h"
#include "core/data/data_loader.h"
#include "core/quant/convert.h"
#include "core/quant/ptq.h"

namespace qg::quant {

struct BiasCorrection {
  std::map<std::string, torch::Tensor> biases;  // corrected bias per layer
  nlohmann::json report = nlohmann::json::array();  // {layer, mean_abs_shift, max_abs_shift}
};

Result<BiasCorrection> CorrectBiases(const PreparedModel& prepared, ConvertOptions options,
                                     const data::DataLoader& calibration);

}  // namespace qg::quant
