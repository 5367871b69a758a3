// Channel shuffles, and the slices that read them, as 1x1 INT8 convs that
// pick channels, for the QDQ export.
//
// In ONNX a channel shuffle is Reshape, Transpose, Reshape over NCHW. ONNX
// Runtime runs INT8 convs channels-last, so around every shuffle it turned
// the whole tensor to NCHW and back: 50 Transposes took 4.1 of ShuffleNetV2
// x0.5's 11.1 ms at batch 32 (96x96 images, its profiler), and the QDQ model
// ran slower than the FP32 one. Shuffling channels-last instead needs a
// Transpose that interleaves bytes, which ONNX Runtime runs element by element:
// 2.8 ms for one shuffle's [4608, 2, 24] bytes.
//
// A 1x1 conv with weights 0 or 1, weight scale 1, no bias and its input's
// qparams as output qparams copies the channels it picks exactly: the
// accumulator is the byte minus the zero point, and the requantization scale
// is input scale * 1 / input scale = 1. ONNX Runtime runs it on its fast
// channels-last kernels (about 30 µs for a ShuffleNetV2 x0.5 shuffle at
// batch 32). A slice of a shuffle's channels becomes one such conv over the
// shuffle's input, so a shuffle read only by slices (each ShuffleNetV2 unit
// splits the shuffled channels in two halves) is not written at all.
//
// A pick conv's products grow with the square of the channels, the
// Transposes' bytes only with them. One ShuffleNetV2 unit's shuffle and split
// between convs at batch 32, 7x7 (ONNX Runtime's profiler, family 26): the
// two pick convs took 0.56 ms against 1.10 for the Transposes at 464
// channels, 1.33 against 1.6-3.1 at 704, 2.33 against 2.09 at 976. Shuffles
// of more than kMaxPickedChannels keep the Transposes.
// Internal to core/export.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/quant/internal/qstep.h"

namespace qg::onnx_export::internal {

inline constexpr int64_t kMaxPickedChannels = 768;

// Whether `step` is an INT8 channel shuffle of a known channel count, at most
// kMaxPickedChannels; or an INT8 slice of channels.
bool IsChannelShuffle(const quant::internal::Step& step);
bool IsChannelSlice(const quant::internal::Step& step);

// The channels `step` (IsChannelShuffle, or IsChannelSlice of the shuffle's
// output) takes from the shuffle's input, in its output's order. A slice past
// the shuffle's channels is InvalidArgument naming both (LibTorch's narrow
// refuses it too).
std::vector<int64_t> PickedChannels(const quant::internal::Step& step);
Result<std::vector<int64_t>> PickedChannels(const quant::internal::Step& slice, const quant::internal::Step& shuffle);

// A 1x1 INT8 conv named `name` over `in_channels` whose output channel k is
// input channel picks[k], unchanged: weight 1 at (k, picks[k]), 0 elsewhere,
// scale 1, no bias, output qparams `q` (the input's).
quant::internal::Step ChannelPickConv(const std::string& name, const std::vector<int64_t>& picks, int64_t in_channels,
                                      const quant::QParams& q);

}  // namespace qg::onnx_export::internal
