// The per-layer size table of a quantized row ("Layer / Original / Quantized
// / Reduction"), from the "layer_sizes" document its quantize job stored:
// each conv/linear layer's weight and bias in FP32 and as the model stores
// them (int8 with scales and zero points, or FP32 where it kept a layer).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/base/text_table.h"
#include "experiments/report/results.h"

namespace qg::exp {

// One (row label, table) per row whose first run stored layer sizes, with a
// total line; rows without them (fp32, fp16, ONNX Runtime) are skipped.
std::vector<std::pair<std::string, TextTable>> LayerSizeTables(const ResultsView& view);

}  // namespace qg::exp
