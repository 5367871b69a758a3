// A 3x3 convolution over a single-channel image, as oneDNN's INT8 kernels see
// it: each output pixel reads 9 input bytes, and VNNI instructions multiply 4
// input channels at a time, so a 1-channel 3x3 conv runs at a fraction of the
// machine's INT8 rate (compact_cnn's first conv: 261 us at batch 64 on 2
// threads here, 15 % of the VNNI peak). The same products as a 1x1 conv over
// the 9 taps of each pixel (an im2col tensor with 9 channels) take 156 us,
// plus about 30 us to write the taps. Internal to core/quant.
#pragma once

#include <torch/types.h>

namespace qg::quant::internal {

// Whether this CPU can build tap tensors fast (AVX-512 VBMI byte permutes).
// Without it, a scalar im2col costs about what the 1x1 form saves, so steps
// keep the 3x3 conv.
bool FastIm2colSupported();

// The 3x3 taps of a quint8 single-channel image x (N x 1 x H x W), stride 1,
// `pad` (0 or 1) pixels of padding on each side: a quint8 tensor N x 9 x Ho x
// Wo in channels-last layout with x's scale and zero point, where channel
// 3 * dy + dx of output pixel (h, w) is input pixel (h - pad + dy, w - pad + dx),
// and the zero point (real 0) outside the image. Needs FastIm2colSupported().
torch::Tensor Im2col3x3(const torch::Tensor& x, int64_t pad);

// The same taps from plain loops, for tests.
torch::Tensor Im2col3x3Reference(const torch::Tensor& x, int64_t pad);

}  // namespace qg::quant::internal
