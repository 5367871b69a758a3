// Max pooling of a channels-last quint8 image whose channel count is not a
// whole number of 64-byte vectors. LibTorch's quantized NHWC max pool
// vectorizes over channels 64 at a time and takes the rest one byte at a
// time: ShuffleNetV2's first pool (24 channels) ran all scalar, 1.9 of its
// 8 ms INT8 pass at batch 32. This pass takes a window's maximum over each
// pixel's channels with masked vectors. The maximum of bytes is the
// maximum of the values they quantize (one scale and zero point), so the
// bytes are LibTorch's. Internal to core/quant.
#pragma once

#include <torch/types.h>

#include <array>

namespace qg::quant::internal {

// Whether the pass takes `x`: a per-tensor quint8, 4-D, contiguous
// channels-last tensor of a channel count that is not a multiple of 64
// (those LibTorch runs fully vectorized).
bool NhwcMaxPoolTakes(const torch::Tensor& x);

// at::max_pool2d(x, kernel, stride, padding, dilation 1, ceil_mode) on x's
// bytes: the same shape, quantization and bytes, channels-last.
torch::Tensor NhwcMaxPool(const torch::Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                          std::array<int64_t, 2> padding, bool ceil_mode);

}  // namespace qg::quant::internal
