// A quantized linear layer small enough to finish before oneDNN's call
// would, as AVX-512 VNNI dot products on this thread (AVX2 ones on CPUs
// without VNNI, requantization.h). oneDNN's inner product costs microseconds
// per call whatever its size: at batch 1, compact_cnn's fc1 (1152 -> 256, 0.3
// M multiply-adds) took 16 us and fc2 (256 -> 10) 7 us, for sums that take
// about 1 us; at batch 64 fc2 (0.16 M) still took 16-36 us. Larger layers go
// to oneDNN, which amortizes that cost over their rows and both threads. The
// bytes are oneDNN's (requantization.h; int8_step_test.cc checks them bit
// for bit). Internal to core/quant.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/quant/internal/qstep.h"
#include "core/quant/internal/requantization.h"

namespace qg::quant::internal {

// Layers of up to this many multiply-adds over a batch of up to this many
// rows take the pass: compact_cnn's fc1 up to 3 rows, its fc2 up to 64
// (qg_bench int8-steps times both forms at batches 1, 2 and 64). A narrow
// layer's rows run one after another on one dependent chain of dot products
// (about 0.1 us a row for fc2), so the rows are capped at the largest batch
// measured faster than oneDNN.
constexpr int64_t kSmallLinearMultiplyAdds = 1'048'576;
constexpr int64_t kSmallLinearMaxRows = 64;

// Whether this linear step can take the pass: symmetric qint8 weights.
bool SmallLinearFits(const Step& linear);
// Whether this CPU runs the pass for it, bit for bit oneDNN's: AVX-512 VNNI,
// or AVX2 with weights within +-64 (FitsU8S8Pairs, requantization.h).
bool SmallLinearRunsOnThisCpu(const Step& linear);

// The layer's weights, laid out once for the pass.
struct SmallLinearWeights {
  int64_t in_features = 0;
  // [out blocks of 16][in groups of 4][16 outputs][4 inputs], zero-padded.
  std::vector<int8_t> packed;
  Requantizer requantizer;
  bool fits_u8s8_pairs = false;  // FitsU8S8Pairs: the pass can run on AVX2
};
SmallLinearWeights PrepareSmallLinear(const torch::Tensor& qweight, const torch::Tensor& bias);

// Whether `x` is what the pass reads for a layer of this size: a contiguous
// quint8 N x in_features matrix with N <= kSmallLinearMaxRows and
// N * in_features * out_features <= kSmallLinearMultiplyAdds.
bool SmallLinearTakes(const torch::Tensor& x, int64_t in_features, int64_t out_features);

// linear(x) [ReLU] as a quint8 N x out_features tensor with the given scale
// and zero point. Needs SmallLinearTakes(x, w.in_features, out_features), and
// HasAvx512Vnni(), or HasAvx2() and w.fits_u8s8_pairs.
torch::Tensor SmallLinear(const torch::Tensor& x, const SmallLinearWeights& w, bool relu, double scale,
                          int64_t zero_point);

}  // namespace qg::quant::internal
