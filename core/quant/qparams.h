// Quantization parameters and the arithmetic that picks them, as PyTorch's
// observers do (torch.ao.quantization.observer._calculate_qparams), so our
// scales agree with what PyTorch users know.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "core/base/result.h"

namespace qg::quant {

enum class QScheme { kAffine, kSymmetric };

// How one tensor is quantized.
struct QuantSpec {
  torch::ScalarType dtype = torch::kQUInt8;  // activations quint8, weights qint8
  QScheme scheme = QScheme::kAffine;
  bool reduce_range = false;  // 7-bit range, for engines whose kernels overflow with 8 (fbgemm/x86)
  // Weights below 8 bits (qint8 only): values on a 2^bits-level grid,
  // [-2^(bits-1), 2^(bits-1) - 1], stored in int8 so they run on the INT8 kernels.
  int bits = 8;

  int64_t QuantMin() const;
  int64_t QuantMax() const;
};

struct QParams {
  double scale = 1.0;
  int64_t zero_point = 0;
};

// Scale and zero point covering [min_val, max_val] (the range is widened to
// include 0, so 0.0 is exactly representable).
QParams ChooseQParams(double min_val, double max_val, const QuantSpec& spec);
// Per-channel along dim 0: scales double [C], zero points int64 [C].
std::pair<torch::Tensor, torch::Tensor> ChooseQParamsPerChannel(const torch::Tensor& min_vals,
                                                                const torch::Tensor& max_vals, const QuantSpec& spec);

Result<QScheme> ParseScheme(const std::string& name, const std::string& field);

}  // namespace qg::quant
