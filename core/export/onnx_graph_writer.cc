#include "core/export/onnx_graph_writer.h"

#include <onnx/shape_inference/implementation.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "core/base/build_info.h"

namespace qg::onnx_export {
namespace {

Result<int32_t> OnnxType(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return onnx::TensorProto_DataType_FLOAT;
    case torch::kChar:
      return onnx::TensorProto_DataType_INT8;
    case torch::kByte:
      return onnx::TensorProto_DataType_UINT8;
    case torch::kInt:
      return onnx::TensorProto_DataType_INT32;
    case torch::kLong:  // shapes (Reshape targets)
      return onnx::TensorProto_DataType_INT64;
    default:
      return Error::InvalidArgument("ONNX export: no initializer type for {}", c10::toString(t));
  }
}

void SetShape(onnx::ValueInfoProto* v, int32_t elem_type, const std::vector<int64_t>& dims) {
  auto* tensor = v->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elem_type);
  auto* shape = tensor->mutable_shape();
  for (int64_t d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0) {
      dim->set_dim_param("batch");  // the dynamic batch axis
    } else {
      dim->set_dim_value(d);
    }
  }
}

}  // namespace

OnnxGraphWriter::OnnxGraphWriter(const std::string& graph_name, const std::string& doc) {
  model_.set_ir_version(onnx::IR_VERSION);
  model_.set_producer_name("quantgrid");
  model_.set_producer_version(kQuantgridVersion);
  model_.set_doc_string(doc);
  auto* opset = model_.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  graph_ = model_.mutable_graph();
  graph_->set_name(graph_name);
}

void OnnxGraphWriter::AddImageInput(const std::string& name, int64_t channels, int64_t height, int64_t width) {
  auto* v = graph_->add_input();
  v->set_name(name);
  SetShape(v, onnx::TensorProto_DataType_FLOAT, {-1, channels, height, width});
}

void OnnxGraphWriter::AddLogitsOutput(const std::string& name, int64_t classes) {
  auto* v = graph_->add_output();
  v->set_name(name);
  SetShape(v, onnx::TensorProto_DataType_FLOAT, {-1, classes});
}

void OnnxGraphWriter::AddOutput(const std::string& name, int32_t type) {
  auto* v = graph_->add_output();
  v->set_name(name);
  v->mutable_type()->mutable_tensor_type()->set_elem_type(type);
}

Result<std::string> OnnxGraphWriter::AddInitializer(const std::string& name, const torch::Tensor& tensor) {
  QG_ASSIGN_OR_RETURN(int32_t type, OnnxType(tensor.scalar_type()));
  const torch::Tensor t = tensor.contiguous().cpu();
  auto* init = graph_->add_initializer();
  init->set_name(name);
  init->set_data_type(type);
  for (int64_t d : t.sizes()) init->add_dims(d);
  init->set_raw_data(t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
  return name;
}

onnx::NodeProto& OnnxGraphWriter::AddNode(const std::string& op, const std::string& name,
                                          const std::vector<std::string>& inputs,
                                          const std::vector<std::string>& outputs) {
  auto* node = graph_->add_node();
  node->set_op_type(op);
  node->set_name(name);
  for (const auto& i : inputs) node->add_input(i);
  for (const auto& o : outputs) node->add_output(o);
  return *node;
}

void OnnxGraphWriter::SetInts(onnx::NodeProto& node, const std::string& attr, const std::vector<int64_t>& values) {
  auto* a = node.add_attribute();
  a->set_name(attr);
  a->set_type(onnx::AttributeProto_AttributeType_INTS);
  for (int64_t v : values) a->add_ints(v);
}

void OnnxGraphWriter::SetInt(onnx::NodeProto& node, const std::string& attr, int64_t value) {
  auto* a = node.add_attribute();
  a->set_name(attr);
  a->set_type(onnx::AttributeProto_AttributeType_INT);
  a->set_i(value);
}

void OnnxGraphWriter::SetFloat(onnx::NodeProto& node, const std::string& attr, float value) {
  auto* a = node.add_attribute();
  a->set_name(attr);
  a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
  a->set_f(value);
}

void OnnxGraphWriter::SetMetadata(const std::string& key, const std::string& value) {
  auto* p = model_.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

std::vector<int64_t> OnnxPads(const std::array<int64_t, 2>& padding) {
  return {padding[0], padding[1], padding[0], padding[1]};
}

std::optional<std::vector<int64_t>> OnnxGraphWriter::InferredDims(const std::string& value) const {
  onnx::ModelProto inferred = model_;
  try {
    onnx::shape_inference::InferShapes(inferred);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  auto dims_of = [](const onnx::ValueInfoProto& v) -> std::optional<std::vector<int64_t>> {
    if (!v.type().tensor_type().has_shape()) return std::nullopt;
    std::vector<int64_t> dims;
    for (const auto& d : v.type().tensor_type().shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    return dims;
  };
  for (const auto& v : inferred.graph().value_info()) {
    if (v.name() == value) return dims_of(v);
  }
  for (const auto& v : inferred.graph().input()) {
    if (v.name() == value) return dims_of(v);
  }
  return std::nullopt;
}

onnx::ModelProto OnnxGraphWriter::Release() {
  // Backwards, nodes being in execution order: a node is kept when something
  // kept reads one of its outputs.
  std::set<std::string> read;
  for (const auto& output : graph_->output()) read.insert(output.name());
  std::vector<bool> keep(graph_->node_size(), false);
  for (int i = graph_->node_size() - 1; i >= 0; --i) {
    const auto& node = graph_->node(i);
    keep[i] = std::any_of(node.output().begin(), node.output().end(), [&](const auto& o) { return read.contains(o); });
    if (keep[i]) read.insert(node.input().begin(), node.input().end());
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i = 0; i < graph_->node_size(); ++i) {
    if (keep[i]) *nodes.Add() = std::move(*graph_->mutable_node(i));
  }
  graph_->mutable_node()->Swap(&nodes);
  google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
  for (auto& t : *graph_->mutable_initializer()) {
    if (read.contains(t.name())) *initializers.Add() = std::move(t);
  }
  graph_->mutable_initializer()->Swap(&initializers);
  return std::move(model_);
}

}  // namespace qg::onnx_export
