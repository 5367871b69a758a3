// Model files. A model file is a LibTorch archive holding every parameter and
// buffer plus a JSON record of the graph and how it was made, so it reloads
// without the code that built it (a BN-folded graph reloads as folded). Its
// size on disk is the "model size" quantgrid reports.
#pragma once

#include <string>

#include "core/base/result.h"
#include "core/models/graph_module.h"

namespace qg::models {

// Writes atomically (temporary file + rename). IOError names the path.
Status SaveModel(const GraphModule& model, const std::string& path);
// NotFound when missing; Corruption when the archive or its record is damaged.
Result<GraphModule> LoadModel(const std::string& path);

}  // namespace qg::models
