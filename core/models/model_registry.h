// Models by name. CreateModel seeds LibTorch's generator before building, so
// the same (name, options, seed) always gives the same initial weights.
// An unknown name is InvalidArgument listing the known ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/models/graph_module.h"
#include "core/models/model_options.h"

namespace qg::models {

std::vector<std::string> KnownModels();
Result<Graph> BuildGraph(const std::string& name, const ModelOptions& options);
Result<GraphModule> CreateModel(const std::string& name, const ModelOptions& options, uint64_t seed);

}  // namespace qg::models
