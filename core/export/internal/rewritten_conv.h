// A copy of an INT8 conv step whose weights the QDQ export rewrote (pixel
// groups, padded image channels). Internal to core/export.
#pragma once

#include <torch/types.h>

#include <utility>

#include "core/quant/internal/qstep.h"

namespace qg::onnx_export::internal {

// `conv` with `qweight` for weights and none of the packs LibTorch made for
// the old ones: a copy that runs packs its own (quant::internal::PackWeights).
inline quant::internal::Step WithRewrittenWeights(const quant::internal::Step& conv, torch::Tensor qweight) {
  quant::internal::Step out = conv;
  out.qweight = std::move(qweight);
  out.packed_conv.reset();
  out.packs_by_shape.reset();
  out.im2col = false;
  return out;
}

}  // namespace qg::onnx_export::internal
