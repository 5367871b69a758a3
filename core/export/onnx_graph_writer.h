// OnnxGraphWriter: appends nodes, initializers and the dynamic-batch input and
// output to an ONNX ModelProto (opset 13), so the FP32 and QDQ exporters say
// what they emit ("Conv of these names") instead of filling protobuf fields.
// Initializer names are made unique by the caller (node name + role).
#pragma once

#include <onnx/onnx_pb.h>
#include <torch/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace qg::onnx_export {

inline constexpr int64_t kOpset = 13;

class OnnxGraphWriter {
 public:
  // `doc` ends up in the model's doc_string.
  OnnxGraphWriter(const std::string& graph_name, const std::string& doc);

  // A float input [batch, C, H, W] with a symbolic batch axis.
  void AddImageInput(const std::string& name, int64_t channels, int64_t height, int64_t width);
  // A float output [batch, classes].
  void AddLogitsOutput(const std::string& name, int64_t classes);

  // An output of element type `type` (onnx::TensorProto_DataType) and a
  // shape left to shape inference.
  void AddOutput(const std::string& name, int32_t type);

  // `tensor` is copied as raw little-endian data in its own dtype (float,
  // int8, uint8, int32); scalars (dim 0) become rank-0 initializers.
  // Returns `name`.
  Result<std::string> AddInitializer(const std::string& name, const torch::Tensor& tensor);

  // Appends a node; attributes go on the returned proto.
  onnx::NodeProto& AddNode(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs);

  static void SetInts(onnx::NodeProto& node, const std::string& attr, const std::vector<int64_t>& values);
  static void SetInt(onnx::NodeProto& node, const std::string& attr, int64_t value);
  static void SetFloat(onnx::NodeProto& node, const std::string& attr, float value);

  // Model metadata (strategy, engine, source model), shown by Netron and ORT.
  void SetMetadata(const std::string& key, const std::string& value);

  // The dims ONNX shape inference gives `value` in the graph written so far
  // (-1 for a symbolic one, such as the batch), or nullopt where it gives
  // none. It infers over a copy of the whole model: for the few nodes that
  // need a shape written out as constants.
  std::optional<std::vector<int64_t>> InferredDims(const std::string& value) const;

  // The model, without the nodes and initializers that neither a node nor an
  // output reads (an exporter may write a value that a later form of its
  // reader no longer takes, such as the image before its padding).
  onnx::ModelProto Release();

 private:
  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
};

// ONNX Conv/Pool pads from symmetric {h, w} padding: [top, left, bottom, right].
std::vector<int64_t> OnnxPads(const std::array<int64_t, 2>& padding);

}  // namespace qg::onnx_export
