// The float input of an INT8 model, quantized to quint8 in one vectorized
// pass split over LibTorch's intra-op threads. Internal to core/quant.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace qg::quant::internal {

// Bit-identical to at::quantize_per_tensor(x, scale, zero_point, kQUInt8) in
// value; inputs that are not contiguous float CPU tensors go to it. Colour
// images (N x 3 x H x W) come out channels-last, the layout oneDNN's INT8
// convs run in: given NCHW, the first conv reorders the image itself on every
// call (shufflenet_v2_x0_5 at 3x96x96, batch 32: 0.53 ms against 0.24 on
// channels-last).
torch::Tensor QuantizeInput(const torch::Tensor& x, double scale, int64_t zero_point);

}  // namespace qg::quant::internal
