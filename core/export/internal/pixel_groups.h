// A conv over one input channel (a grayscale model's first layer) as a conv
// over groups of kPixelGroup neighbouring pixels of a row, for the QDQ export.
//
// ONNX Runtime's fast u8s8 conv (MLAS ConvSym) wants input channels in
// multiples of 4; over one channel it falls back to im2col and a generic GEMM,
// which took 1.14 ms of compact_cnn's 2.23 ms at batch 64. Read [N, 1, H, W]
// as [N, H, W/4, 4] (NHWC, a free reshape), and the same conv is one over 4
// channels: output channel j * C + c is channel c of the group's pixel j, its
// weights the original int8 taps placed where they fall (zeros elsewhere).
// Its output read as NHWC [N, H, W/4, 4C] is the original's [N, H, W, C], so
// ONNX Runtime's NHWC layout pass cancels every Transpose around it. The
// integer products are the same: outputs are bit-identical (0.21 ms there).
// Internal to core/export.
#pragma once

#include <cstdint>

#include "core/quant/internal/qstep.h"

namespace qg::onnx_export::internal {

inline constexpr int64_t kPixelGroup = 4;

// Whether `conv`, reading [N, 1, height, width], can run as a pixel-group conv:
// an INT8 conv over one input channel, stride and dilation 1, ungrouped,
// padding that keeps the width ("same": kernel width 2 * padding + 1), and a
// width that is a multiple of kPixelGroup.
bool CanGroupPixels(const quant::internal::Step& conv, int64_t width);

// The pixel-group form of `conv` (CanGroupPixels holds): kPixelGroup input
// channels, kPixelGroup times the output channels, each group's weights,
// scales and bias the original's; kernel height and padding unchanged.
quant::internal::Step GroupPixels(const quant::internal::Step& conv);

}  // namespace qg::onnx_export::internal
