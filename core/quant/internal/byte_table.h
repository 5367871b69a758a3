// Elementwise INT8 steps as a 256-entry table. A quint8 value has 256
// possible bytes, so a step that maps each byte on its own (sigmoid, hard
// sigmoid, hard swish, leaky ReLU, and one of them then a multiply by its own
// input: SiLU, or hard swish as x * hard sigmoid) is a lookup per byte once
// its input's scale and zero point are known. LibTorch's quantized sigmoid
// dequantizes, computes and requantizes every element (EfficientNet-B0 at
// batch 32 spent 21 of its 50 ms there, and 7 more in SiLU's multiplies); the
// lookup reads a byte and writes one. The table is written by running the
// very steps it replaces on all 256 bytes, so its bytes are theirs. Internal
// to core/quant.
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <vector>

#include "core/quant/internal/qstep.h"

namespace qg::quant::internal {

// Whether a step maps each byte on its own, so that a table can run it.
bool IsBytewiseStep(const Step& step);

struct ByteTable {
  double in_scale = 0;  // the input's quantization the table was written for
  int64_t in_zero_point = 0;
  double out_scale = 0;  // what the steps write
  int64_t out_zero_point = 0;
  std::array<uint8_t, 256> bytes{};
};

// The table of `chain` (steps that each read the previous one's output, the
// first reading the input; a later step may read that input again, as SiLU's
// multiply does) for a quint8 input of this scale and zero point, written by
// RunStep on every byte.
ByteTable MakeByteTable(const std::vector<const Step*>& chain, double in_scale, int64_t in_zero_point);

// Whether `x` has bytes a table can look up: a per-tensor quint8 tensor.
bool ByteTableTakes(const torch::Tensor& x);
// Whether `table` was written for `x`'s quantization (and ByteTableTakes(x)).
bool ByteTableFits(const ByteTable& table, const torch::Tensor& x);

// Each byte of `x` looked up in `table`: a quint8 tensor of x's shape and
// memory format, quantized as the table says. Needs ByteTableFits.
torch::Tensor LookUpBytes(const torch::Tensor& x, const ByteTable& table);

}  // namespace qg::quant::internal
