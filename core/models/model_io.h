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
// An INT8 model file (a quantize job's model_int8.pt) is FailedPrecondition,
// named as such: it holds quantized steps, not a graph module.
Result<GraphModule> LoadModel(const std::string& path);

// The record key of INT8 model files (core/quant/quantized_model.h writes
// them); here so that LoadModel and ModelFileKindOf tell the two apart.
inline constexpr const char* kInt8RecordKey = "quantgrid_int8_model";

enum class ModelFileKind { kModel, kInt8 };
// Which kind of quantgrid model file `path` is, by its record; NotFound or
// Corruption as LoadModel says them when it is neither.
Result<ModelFileKind> ModelFileKindOf(const std::string& path);

}  // namespace qg::models
