#include "core/pipeline/model_source.h"

#include "core/models/model_io.h"
#include "core/models/model_options.h"

namespace qg::pipeline {

bool IsOnnxFile(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

Result<bool> IsInt8ModelFile(const std::string& path) {
  if (IsOnnxFile(path)) return false;
  QG_ASSIGN_OR_RETURN(const auto kind, models::ModelFileKindOf(path));
  return kind == models::ModelFileKind::kInt8;
}

Result<models::GraphModule> LoadAnyModel(const std::string& path, const onnx_export::ImportOptions& import) {
  if (!IsOnnxFile(path)) return models::LoadModel(path);
  QG_ASSIGN_OR_RETURN(auto imported, onnx_export::ImportOnnx(path, import));
  return imported.model;
}

data::DatasetSpec DatasetForModel(data::DatasetSpec spec, const models::GraphModule& model) {
  return DatasetForOptions(std::move(spec), model->meta().options);
}

data::DatasetSpec DatasetForOptions(data::DatasetSpec spec, const nlohmann::json& options) {
  auto parsed = models::ModelOptions::FromJson(options);
  if (!parsed) return spec;
  if (spec.name == "synthetic") {
    spec.synthetic_channels = parsed->in_channels;
    spec.synthetic_size = parsed->image_size;
    spec.synthetic_classes = parsed->num_classes;
  } else if (spec.name == "image-folder") {
    spec.image_size = parsed->image_size;
  }
  if (options.contains("mean") && options.contains("std") && spec.mean.empty()) {
    spec.mean = options["mean"].get<std::vector<float>>();
    spec.std = options["std"].get<std::vector<float>>();
  }
  return spec;
}

}  // namespace qg::pipeline
