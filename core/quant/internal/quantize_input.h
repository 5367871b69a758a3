// The float input of an INT8 model, quantized to quint8 in one vectorized
// pass split over LibTorch's intra-op threads. Internal to core/quant.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace qg::quant::internal {

// Bit-identical to at::quantize_per_tensor(x, scale, zero_point, kQUInt8);
// inputs that are not contiguous float CPU tensors go to it.
torch::Tensor QuantizeInput(const torch::Tensor& x, double scale, int64_t zero_point);

}  // namespace qg::quant::internal
