#include "core/export/onnx_file.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
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
    int64_t bytes = element;  // a hostile shape must not overflow it
    bool fits = true;
    for (int64_t d : t.dims()) fits = fits && d >= 0 && !__builtin_mul_overflow(bytes, d, &bytes);
    if (!fits || static_cast<int64_t>(t.raw_data().size()) != bytes) {
      return Error::Corruption("{}: initializer '{}' holds {} bytes, its shape [{}] needs {}", path, t.name(),
                               t.raw_data().size(), fmt::join(t.dims(), ", "),
                               fits ? std::to_string(bytes) : "more than 2^63");
    }
  }
  return OkStatus();
}

// libonnx 1.12's shape inference divides by Conv and pooling strides without
// checking them: a stride of 0 is a SIGFPE inside InferShapes, not an error
// (and LibTorch takes a Conv's group as a divisor the same way).
Status CheckDivisors(const onnx::GraphProto& graph, const std::string& what) {
  for (const auto& n : graph.node()) {
    for (const auto& a : n.attribute()) {
      const bool bad_strides = a.name() == "strides" &&
                               std::any_of(a.ints().begin(), a.ints().end(), [](int64_t s) { return s <= 0; });
      if (bad_strides || (a.name() == "group" && a.i() <= 0)) {
        return Error::InvalidArgument("{}: node '{}' ({}): {} must be positive", what, n.name(), n.op_type(),
                                      a.name());
      }
      if (a.has_g()) QG_RETURN_IF_ERROR(CheckDivisors(a.g(), what));
      for (const auto& g : a.graphs()) QG_RETURN_IF_ERROR(CheckDivisors(g, what));
    }
  }
  return OkStatus();
}

}  // namespace

Status CheckOnnxModel(const onnx::ModelProto& model, const std::string& what) {
  QG_RETURN_IF_ERROR(CheckDivisors(model.graph(), what));
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
