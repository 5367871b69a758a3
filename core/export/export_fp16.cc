// FP16 ONNX: the FP32 export with every float initializer (and float constant)
// stored as float16, a Cast to float16 after the image input and a Cast back
// to float before the logits, so callers feed and read float32 as with the
// FP32 graph (onnxconverter-common's keep_io_types). ONNX Runtime runs the
// half ops it has kernels for and wraps the others in Casts itself.
#include <torch/torch.h>

#include "core/export/onnx_export.h"

namespace qg::onnx_export {
namespace {

void ToHalf(onnx::TensorProto& t) {
  if (t.data_type() != onnx::TensorProto_DataType_FLOAT) return;
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  torch::Tensor f;
  if (!t.raw_data().empty()) {
    f = torch::from_blob(const_cast<char*>(t.raw_data().data()), {static_cast<int64_t>(t.raw_data().size() / 4)},
                         torch::kFloat32)
            .clone();
  } else {
    f = torch::tensor(std::vector<float>(t.float_data().begin(), t.float_data().end()), torch::kFloat32);
  }
  const torch::Tensor h = f.to(torch::kHalf).contiguous();
  t.clear_float_data();
  t.set_data_type(onnx::TensorProto_DataType_FLOAT16);
  t.set_raw_data(h.data_ptr(), static_cast<size_t>(h.numel()) * h.element_size());
}

void SetCast(onnx::NodeProto* node, const std::string& name, const std::string& from, const std::string& to,
             int32_t type) {
  node->set_op_type("Cast");
  node->set_name(name);
  node->add_input(from);
  node->add_output(to);
  auto* a = node->add_attribute();
  a->set_name("to");
  a->set_type(onnx::AttributeProto_AttributeType_INT);
  a->set_i(type);
}

}  // namespace

Result<onnx::ModelProto> ToFp16(onnx::ModelProto model) {
  auto* graph = model.mutable_graph();
  if (graph->input_size() != 1 || graph->output_size() != 1) {
    return Error::InvalidArgument("FP16 ONNX: expected one image input and one logits output, got {} and {}",
                                  graph->input_size(), graph->output_size());
  }
  for (auto& init : *graph->mutable_initializer()) ToHalf(init);
  for (auto& node : *graph->mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.type() == onnx::AttributeProto_AttributeType_TENSOR) ToHalf(*attr.mutable_t());
    }
  }
  graph->clear_value_info();  // intermediate types changed; ONNX Runtime infers them
  const std::string input = graph->input(0).name(), output = graph->output(0).name();
  const std::string half_input = input + "_fp16", half_output = output + "_fp16";
  for (auto& node : *graph->mutable_node()) {
    for (auto& in : *node.mutable_input()) {
      if (in == input) in = half_input;
    }
    for (auto& out : *node.mutable_output()) {
      if (out == output) out = half_output;
    }
  }
  // The input cast goes first (nodes are topologically sorted), the output cast last.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  SetCast(nodes.Add(), "cast_input_to_fp16", input, half_input, onnx::TensorProto_DataType_FLOAT16);
  for (auto& node : *graph->mutable_node()) *nodes.Add() = std::move(node);
  SetCast(nodes.Add(), "cast_logits_to_fp32", half_output, output, onnx::TensorProto_DataType_FLOAT);
  graph->mutable_node()->Swap(&nodes);
  model.set_doc_string(model.doc_string() + " (FP16 weights and compute, float32 input and output)");
  return model;
}

}  // namespace qg::onnx_export
