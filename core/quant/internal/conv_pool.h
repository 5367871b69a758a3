// A 3x3 conv over one input channel, its ReLU and the 2x2 max pool after it
// (the first block of a grayscale CNN) in one pass over the image. oneDNN runs
// the conv as a 1x1 conv over each pixel's 9 taps (im2col.h) and writes every
// conv output (1.6 MB of u8 for compact_cnn at batch 64, ~115 us), and the
// pool reads them back (~54 us). Requantization is monotone in the int32 sum
// (a positive per-channel scale, then round and clamp), so the pool's maximum
// can be taken over the four int32 sums of each window first: one quarter of
// the outputs get requantized, and none is written and read back. The bytes
// are the same as oneDNN's conv and LibTorch's pool (int8_step_test.cc checks
// them bit for bit), with AVX-512 VNNI, or with AVX2 where the weights are
// within +-64 (vpmaddubsw's int16 pairs then cannot saturate). Internal to
// core/quant.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/quant/internal/qstep.h"
#include "core/quant/internal/requantization.h"

namespace qg::quant::internal {

// Whether this conv step can run fused with a following 2x2 max pool: a
// single-channel 3x3 conv (IsSingleChannel3x3Conv) with symmetric int8
// weights and whole blocks of 16 output channels.
bool ConvPoolFits(const Step& conv);
// Whether this CPU runs the pass for it: with AVX-512 VNNI, or with AVX2
// where its weights are within +-64 (FitsU8S8Pairs, requantization.h).
bool ConvPoolRunsOnThisCpu(const Step& conv);

// The layer's weights, laid out once for the pass.
struct ConvPoolWeights {
  std::vector<int8_t> taps;  // [channels / 16][3 kernel rows][16 channels][4]: a row's 3 taps and a 0
  Requantizer requantizer;
  bool fits_u8s8_pairs = false;  // FitsU8S8Pairs: the pass can run on AVX2
};
ConvPoolWeights PrepareConvPool(const torch::Tensor& qweight, const torch::Tensor& bias);

// max_pool2d(conv2d(x) [ReLU], 2, 2) of a quint8 image x (N x 1 x H x W) with
// `pad` (0 or 1) pixels of padding: a quint8 N x C x (H + 2 pad - 2) / 2 x
// (W + 2 pad - 2) / 2 tensor, channels-last, with the given scale and zero
// point. Needs ConvPoolRunsOnThisCpu().
torch::Tensor ConvPool(const torch::Tensor& x, const ConvPoolWeights& w, int64_t pad, bool relu, double scale,
                       int64_t zero_point);

}  // namespace qg::quant::internal
