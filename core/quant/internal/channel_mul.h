// A quantized multiply of an NHWC image by one factor per image and channel
// (squeeze-excitation's gate, [N, C, 1, 1]), in one pass over the image.
// LibTorch's quantized::mul broadcasts it element by element through
// TensorIterator: efficientnet_b0 at batch 32 spent 7 ms of its INT8 pass
// there. The arithmetic is quantized::mul's (qmul_kernel): the int32 product
// of the two zero-point-free values, times the float multiplier
// in_scale * gate_scale / out_scale, rounded to nearest even, plus the zero
// point, clamped to a byte; so are the bytes. Internal to core/quant.
#pragma once

#include <torch/types.h>

namespace qg::quant::internal {

// Whether the pass takes `image` times `gate`: per-tensor quint8 tensors, the
// image 4-D and contiguous channels-last, the gate [N, C, 1, 1] of its N and C.
bool ChannelMulTakes(const torch::Tensor& image, const torch::Tensor& gate);

// image * gate as quantized::mul(image, gate, scale, zero_point) writes it:
// a channels-last quint8 tensor of the image's shape. Needs ChannelMulTakes.
torch::Tensor ChannelMul(const torch::Tensor& image, const torch::Tensor& gate, double scale, int64_t zero_point);

}  // namespace qg::quant::internal
