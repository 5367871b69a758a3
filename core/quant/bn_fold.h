// Exact BatchNorm folding: every Conv2d whose only reader is a BatchNorm2d
// absorbs it (W' = W * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta,
// computed in double). In eval mode the folded model computes the same function
// as the original; a test pins that to 1e-5 relative.
#pragma once

#include "core/base/result.h"
#include "core/models/graph_module.h"

namespace qg::quant {

// A new module; `model` is unchanged. Its meta records "bn_fold".
Result<models::GraphModule> FoldBatchNorm(const models::GraphModule& model);
// How many Conv-BN pairs FoldBatchNorm would fold.
int CountFoldableBatchNorms(const models::Graph& graph);

}  // namespace qg::quant
