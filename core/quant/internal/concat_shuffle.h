// A channel concat and the channel shuffle that alone reads it (ShuffleNet's
// units) as one pass over channels-last images. LibTorch's quantized::cat
// dequantizes, concatenates and requantizes in float when its inputs' scales
// differ, and the shuffle then moves every byte three times (qstep.cc):
// shufflenet_v2_x0_5 at 3x96x96, batch 32, spent 0.27 and 0.16 ms on each
// such pair of its first stage. Here each input byte is requantized through a
// table and written straight to its shuffled channel. The tables are written
// by running quantized::cat itself on all 256 bytes in every channel (its
// vectorized body and its scalar tail round differently, so a byte's
// requantization depends on its channel), and the shuffle is a permutation,
// so the bytes are those of the two steps. Internal to core/quant.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/quant/internal/qstep.h"

namespace qg::quant::internal {

// Whether `shuffle` is a channel shuffle that can run with `concat` (a concat
// along the channels whose output only `shuffle` reads: the caller checks that).
bool ConcatShuffleFits(const Step& concat, const Step& shuffle);

struct ConcatShuffleTables {
  // The inputs the tables were written for: quantization and channels, one per input.
  std::vector<double> in_scales;
  std::vector<int64_t> in_zero_points;
  std::vector<int64_t> in_channels;
  // Input k's byte b in channel c -> the concat's: bytes[k][256 c + b].
  std::vector<std::vector<uint8_t>> bytes;
  // Concat channel k -> the shuffle's channel to[k].
  std::vector<int32_t> to;
};

// The tables of `concat` for inputs quantized as `inputs` are and as wide,
// written by quantized::cat on every byte in every channel, and the channel
// order of a shuffle in `groups` groups after it.
ConcatShuffleTables MakeConcatShuffleTables(const Step& concat, const std::vector<torch::Tensor>& inputs,
                                            int64_t groups);

// Whether `inputs` can take the pass: channels-last per-tensor quint8 images
// of one batch, height and width, as many as the concat reads, their channels
// summing to a multiple of `groups`.
bool ConcatShuffleTakes(const std::vector<torch::Tensor>& inputs, int64_t groups);
// Whether `tables` were written for these inputs' quantization and channels.
bool ConcatShuffleTablesFit(const ConcatShuffleTables& tables, const std::vector<torch::Tensor>& inputs);

// The shuffle's output: a channels-last quint8 image with the concat's
// quantization. Needs ConcatShuffleTakes and ConcatShuffleTablesFit.
torch::Tensor ConcatShuffle(const std::vector<torch::Tensor>& inputs, const ConcatShuffleTables& tables,
                            const Step& concat);

}  // namespace qg::quant::internal
