// Mixed precision (MPQ). Sensitivity of a layer = how much the model's output
// moves when only that layer runs in INT8 (real kernels, every other weight
// layer in FP32): relative output MSE vs FP32, or top-1 drop. The Pareto front
// walks k = 0..L most sensitive layers kept in FP32 and records accuracy and
// model-file size for each k.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/data/data_loader.h"
#include "core/quant/convert.h"
#include "core/quant/ptq.h"

namespace qg::quant {

struct LayerSensitivity {
  std::string layer;
  double relative_mse = 0;  // mean((y_q - y)^2) / mean(y^2) over the logits
  double accuracy_drop = 0; // FP32 top-1 minus top-1 with only this layer in INT8 (points)
  int64_t parameters = 0;
};

struct FrontPoint {
  int fp32_count = 0;
  std::vector<std::string> fp32_layers;
  double accuracy = 0;      // top-1 % on the selection data
  int64_t model_bytes = 0;  // size of the model file written for this point
};

// Sorted most sensitive first (by `metric`: "mse" or "accuracy").
Result<std::vector<LayerSensitivity>> MeasureSensitivity(const PreparedModel& prepared, const ConvertOptions& options,
                                                         const data::DataLoader& data, const std::string& metric);

Result<std::vector<FrontPoint>> ParetoFront(const PreparedModel& prepared, const ConvertOptions& options,
                                            const std::vector<LayerSensitivity>& ranked, const data::DataLoader& data,
                                            const std::string& scratch_dir);

}  // namespace qg::quant
