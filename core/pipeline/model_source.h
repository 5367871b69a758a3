// Where an FP32 model comes from, for jobs and CLI verbs alike: a quantgrid
// model file (model.pt, as training writes it) or a user's ONNX file, imported
// (core/export/onnx_import.h). And the data a model reads: an imported model
// decides the shape of synthetic data, the crop of an image folder and the
// normalization; a model of the registry was built to fit its data already.
#pragma once

#include <string>

#include "core/base/result.h"
#include "core/data/dataset_registry.h"
#include "core/export/onnx_import.h"
#include "core/models/graph_module.h"

namespace qg::pipeline {

bool IsOnnxFile(const std::string& path);

// Whether `path` is an INT8 model file (a quantize job's model_int8.pt, for
// quant::QuantizedModel::Load) rather than one LoadAnyModel reads; NotFound or
// Corruption for a file that is neither. ONNX files are not.
Result<bool> IsInt8ModelFile(const std::string& path);

// A model file by its kind: ".onnx" files are imported with `import`.
Result<models::GraphModule> LoadAnyModel(const std::string& path, const onnx_export::ImportOptions& import = {});

// `spec` adapted to `model`: synthetic data of its input shape and classes,
// an image folder cropped to its size, and its mean and std when it records
// them (imported models).
data::DatasetSpec DatasetForModel(data::DatasetSpec spec, const models::GraphModule& model);
// The same from a model's recorded options (an INT8 model's meta carries them).
data::DatasetSpec DatasetForOptions(data::DatasetSpec spec, const nlohmann::json& options);

}  // namespace qg::pipeline
