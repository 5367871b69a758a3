// Layer-wise MSE: at every tensor an INT8 layer writes, the mean squared
// difference between the dequantized INT8 value and the FP32 model's value at
// the same place (matched by node name), absolute and relative to the FP32
// value's mean square. Shows where quantization error enters.
#pragma once

#include <nlohmann/json.hpp>

#include "core/base/result.h"
#include "core/models/graph_module.h"
#include "core/quant/quantized_model.h"

namespace qg::quant {

// [{layer, value, mse, relative_mse}] in execution order.
Result<nlohmann::json> LayerwiseMse(const models::GraphModule& fp32, QuantizedModel& int8, const torch::Tensor& images);

}  // namespace qg::quant
