// Layer norm over the channels of each pixel of a channels-last quint8
// image (ConvNeXt's LayerNorm). LibTorch's quantized::layer_norm runs each
// pixel's channels in 64-byte vectors and the rest one value at a time, so
// ConvNeXt's 24- and 48-channel stages ran all scalar: four layer norms took
// 2.6 of a 5.1 ms INT8 pass at batch 32. This pass does 16 channels a vector
// with a masked tail, in quantized_normalize_kernel's arithmetic: exact
// integer sums of the bytes and their squares, the mean and variance in
// float (the variance's subtraction fused), scale_x / sqrt(var scale_x^2 +
// eps) in double, each value as fma((q - zp - mean) * that, gamma, beta),
// times the output's inverted scale, rounded to nearest even. So are the
// bytes: nhwc_layer_norm_test.cc compares them with LibTorch's. Internal to
// core/quant.
#pragma once

#include <torch/types.h>

#include "core/quant/qparams.h"

namespace qg::quant::internal {

// Whether the pass takes `x` with `weight` and `bias`: a per-tensor quint8,
// 4-D, contiguous channels-last tensor, float32 weight and bias of one value
// per channel, and a CPU with AVX-512.
bool NhwcLayerNormTakes(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// quantized::layer_norm over x's channels (its N,H,W,C view's last dim) on
// x's bytes: the same shape, channels-last, quantized with `out`.
torch::Tensor NhwcLayerNorm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                            const QParams& out);

}  // namespace qg::quant::internal
