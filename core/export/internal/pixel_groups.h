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
//
// Tried and dropped (2026-12-04, AMD family 25 model 17): padding the float
// image by one column on the left (and three on the right) before quantizing
// lets a 3-wide kernel read 2 groups of taps instead of 3, a third fewer
// products. The conv went from 389 to 362 µs at batch 64, but ONNX Runtime's
// float Pad took 76 µs: the conv is not bound by its products.
// Internal to core/export.
#pragma once

#include <cstdint>

#include "core/quant/internal/qstep.h"

namespace qg::onnx_export::internal {

inline constexpr int64_t kPixelGroup = 4;

// Which pixel of the group each block of C output channels carries.
enum class PixelOrder {
  kInRow,        // block j: pixel j; the output read as [N, H', W, C]
  kEvenThenOdd,  // the group's even pixels, then its odd ones: read as
                 // [N, H', 2W/g, gC/2], each pixel holds a pair's left or right
                 // pixels, so a max pool of width 2 pools W/g wide pixels (it
                 // would pool W narrow ones) and its output, [N, H'', W/g,
                 // gC/2], is [N, H'', W/2, C] in order
};

// Whether `conv`, reading [N, 1, height, width], can run as a pixel-group conv:
// an INT8 conv over one input channel, stride and dilation 1, ungrouped,
// padding that keeps the width ("same": kernel width 2 * padding + 1), and a
// width that is a multiple of kPixelGroup.
bool CanGroupPixels(const quant::internal::Step& conv, int64_t width);

// The pixel-group form of `conv` (CanGroupPixels holds): kPixelGroup input
// channels, kPixelGroup times the output channels, each group's weights,
// scales and bias the original's; kernel height and padding unchanged.
quant::internal::Step GroupPixels(const quant::internal::Step& conv, PixelOrder order = PixelOrder::kInRow);

// Whether `pool` can read a kEvenThenOdd pixel-group conv's output as is: a
// max pool of width 2, stride 2 and no padding across the width (any height).
// ONNX Runtime's u8 NhwcMaxPool costs per output pixel, on one thread: over
// compact_cnn's first block at batch 64 it took 312 µs as 12544 pixels of 32
// channels, 136 µs as 6272 of 64 (AMD family 25).
bool PoolsPixelPairs(const quant::internal::Step& pool);

}  // namespace qg::onnx_export::internal
