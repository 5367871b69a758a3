#include "core/export/onnx_file.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <filesystem>

#include "core/base/files.h"

namespace qg::onnx_export {
namespace {

int64_t ElementSize(int32_t type) {
  switch (type) {
    case onnx::TensorProto_DataType_FLOAT:
    case onnx::TensorProto_DataType_INT32:
      return 4;
    case onnx::TensorProto_DataType_INT8:
    case onnx::TensorProto_DataType_UINT8:
      return 1;
    case onnx::TensorProto_DataType_INT64:
    case onnx::TensorProto_DataType_DOUBLE:
      return 8;
    case onnx::TensorProto_DataType_FLOAT16:
      return 2;
    default:
      return 0;  // unknown: not checked
  }
}

// The checker accepts raw_data of any length; a file cut inside an
// initializer's bytes would otherwise load with garbage weights.
Status CheckInitializerSizes(const onnx::ModelProto& model, const std::string& path) {
  for (const auto& t : model.graph().initializer()) {
    const int64_t element = ElementSize(t.data_type());
    if (element == 0 || !t.has_raw_data()) continue;
    int64_t count = 1;
    for (int64_t d : t.dims()) count *= d;
    if (static_cast<int64_t>(t.raw_data().size()) != count * element) {
      return Error::Corruption("{}: initializer '{}' holds {} bytes, its shape needs {}", path, t.name(),
                               t.raw_data().size(), count * element);
    }
  }
  return OkStatus();
}

}  // namespace

Status CheckOnnxModel(const onnx::ModelProto& model, const std::string& what) {
  try {
    onnx::checker::check_model(model);
    // What onnx.checker's full_check adds: strict shape and type inference,
    // which catches e.g. a Gemm whose weight does not fit its input.
    onnx::ModelProto inferred = model;
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);
    return Error::InvalidArgument("{}: ONNX checker: {}", what, message);
  }
  return OkStatus();
}

Status WriteOnnxFile(const onnx::ModelProto& model, const std::string& path) {
  QG_RETURN_IF_ERROR(CheckOnnxModel(model, path));
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return Error::Internal("{}: ONNX model does not serialize", path);
  return WriteFileAtomic(path, bytes);
}

Result<onnx::ModelProto> ReadOnnxFile(const std::string& path) {
  if (!std::filesystem::exists(path)) return Error::NotFound("{}: no such ONNX file", path);
  QG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes)) {
    return Error::Corruption("{}: not an ONNX model (protobuf does not parse: truncated or corrupted?)", path);
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    return Error::Corruption("{}: ONNX model has no graph (truncated or corrupted?)", path);
  }
  if (auto checked = CheckOnnxModel(model, path); !checked) {
    return Error::Corruption("{}", checked.error().message);
  }
  QG_RETURN_IF_ERROR(CheckInitializerSizes(model, path));
  return model;
}

}  // namespace qg::onnx_export
