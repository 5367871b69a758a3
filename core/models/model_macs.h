// Multiply-adds per weight layer: what a model costs, and what share of it an
// INT8 model runs on INT8 kernels ("INT8 coverage"). Counted at batch 1 from
// one forward pass: a conv costs C_out x H_out x W_out x (C_in / groups) x
// k_h x k_w, a linear in x out; nothing else is counted (elementwise ops and
// pooling are memory-bound, not multiply-adds).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/base/result.h"
#include "core/models/graph_module.h"

namespace qg::models {

// By node name, for every Conv2d and Linear node the prediction uses.
Result<std::map<std::string, int64_t>> MacsPerLayer(GraphModule model);

}  // namespace qg::models
