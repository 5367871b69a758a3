// A conv over the colour image, with the image padded to 4 channels, for the
// QDQ export.
//
// ONNX Runtime's fast u8s8 conv (MLAS ConvSym) takes input channels in
// multiples of 4; over an RGB image it falls back to im2col and a generic
// GEMM. At batch 32 on 96x96 images, mobilenet_v2's first conv (3x3, stride
// 2, 32 channels) took 1.24 ms of 9.3, shufflenet_v2_x0_5's 1.56 of 11.1
// (ONNX Runtime's profiler, AMD family 26). The quantized image padded with
// a fourth channel of its zero point (a uint8 Pad, 64 µs), read by a conv
// whose weights for that channel are 0, gives the same integers: 0.62-0.76
// and 0.62 ms, outputs bit-identical. (A float Pad took 0.40 ms, and padding
// channels-last runs byte by byte: 4.6 ms.)
// Internal to core/export.
#pragma once

#include <cstdint>

#include "core/quant/internal/qstep.h"

namespace qg::onnx_export::internal {

inline constexpr int64_t kConvChannelMultiple = 4;

// Whether `conv` is an ungrouped INT8 conv over 2 or 3 input channels, which
// the export runs over the image padded to kConvChannelMultiple channels.
bool PadsInputChannels(const quant::internal::Step& conv);

// `conv` with zero weights for the padding channels: kConvChannelMultiple
// input channels, the rest unchanged.
quant::internal::Step WithPaddedInputChannels(const quant::internal::Step& conv);

}  // namespace qg::onnx_export::internal
