// The ONNX importer's inner parts, shared by its three files: onnx_import.cc
// (the file, the graph input and output, dispatch, parameters) and
// onnx_import_ops.cc and onnx_import_channels.cc (one translation per ONNX
// op). Not for other users.
#pragma once

#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <array>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/export/onnx_import.h"
#include "core/models/graph.h"

namespace qg::onnx_export::internal {

using models::Graph;
using models::Node;
using models::Op;

// The dynamic batch dimension inside folded shapes.
constexpr int64_t kBatch = std::numeric_limits<int64_t>::min();

// What an ONNX value name stands for while translating.
struct Value {
  int node = -1;                              // a value of the graph
  std::vector<int64_t> shape;                 // its shape from shape inference (kBatch for N, -1 unknown)
  std::optional<torch::Tensor> tensor;        // a float constant (initializer, Constant)
  std::optional<std::vector<int64_t>> ints;   // an integer constant (shapes, axes), kBatch allowed
  bool scalar = false;                        // ints is a 0-d tensor
  // Reshape -> Transpose -> Reshape channel shuffle under way.
  int shuffle_groups = 0;
  int shuffle_stage = 0;
  // A zero Pad of height and width not applied yet: the next Conv or
  // AveragePool (count_include_pad) takes it as its own padding.
  std::array<int64_t, 2> pending_pad{0, 0};
};

// A node's parameters, copied into the module once it exists.
struct Params {
  torch::Tensor weight, bias, mean, var;
};

std::string Joined(const std::vector<std::string>& v);
// A node's attribute, or `fallback` when the node does not set it.
const onnx::AttributeProto* Attr(const onnx::NodeProto& n, const std::string& name);
int64_t IntAttr(const onnx::NodeProto& n, const std::string& name, int64_t fallback);
double FloatAttr(const onnx::NodeProto& n, const std::string& name, double fallback);
std::vector<int64_t> IntsAttr(const onnx::NodeProto& n, const std::string& name, std::vector<int64_t> fallback);
std::string StringAttr(const onnx::NodeProto& n, const std::string& name, const std::string& fallback);
torch::Tensor TensorFromProto(const onnx::TensorProto& t);
// A tensor as a Value: integer tensors become foldable ints.
Value ConstantValue(const torch::Tensor& t);
std::vector<int64_t> ShapeOf(const onnx::TypeProto& type);

class Importer {
 public:
  Importer(const onnx::ModelProto& model, std::string path) : model_(model), path_(std::move(path)) {}

  Status Run(const ImportOptions& options);
  Graph& graph() { return graph_; }
  std::map<int, Params>& params() { return params_; }
  int64_t channels() const { return channels_; }
  int64_t image_size() const { return image_size_; }
  int64_t num_classes() const { return num_classes_; }

 private:
  Status Translate(const onnx::NodeProto& n);
  Status TranslateConv(const onnx::NodeProto& n);
  Status TranslateBatchNorm(const onnx::NodeProto& n);
  Status TranslateActivation(const onnx::NodeProto& n);
  Status TranslateBinary(const onnx::NodeProto& n);
  Status TranslatePool(const onnx::NodeProto& n);
  Status TranslateLinear(const onnx::NodeProto& n);
  Status TranslateShapeMath(const onnx::NodeProto& n);
  Status TranslateReshape(const onnx::NodeProto& n);
  Status TranslateConcat(const onnx::NodeProto& n);
  Status TranslateIdentity(const onnx::NodeProto& n);
  Status TranslatePad(const onnx::NodeProto& n);
  Status TranslateSlice(const onnx::NodeProto& n);
  Status ReadInput(const ImportOptions& options);
  Status ReadOutput();

  using Handler = std::function<Status(Importer&, const onnx::NodeProto&)>;
  static const std::map<std::string, Handler>& Dispatch();

  // The node's i-th input; Unavailable-free: InvalidArgument naming the node.
  Result<const Value*> Input(const onnx::NodeProto& n, int i) const;
  // `padded`: the reader takes a pending Pad as its own padding.
  Result<int> GraphInput(const onnx::NodeProto& n, int i, bool padded = false) const;
  Result<torch::Tensor> ConstantInput(const onnx::NodeProto& n, int i) const;
  Result<std::vector<int64_t>> IntsInput(const onnx::NodeProto& n, int i) const;
  // Adds `node` producing the node's output `output`; its index.
  int Emit(const onnx::NodeProto& n, Node node, int output = 0);
  // The shape of a graph node's output from its inputs' (kBatch for N, -1
  // unknown), for values shape inference leaves open: after a Reshape whose
  // target Shape nodes compute (ShuffleNetV2's channel shuffle) it knows none.
  std::vector<int64_t> OutputShape(const Node& node) const;
  void Alias(const onnx::NodeProto& n, Value v) { values_[n.output(0)] = std::move(v); }
  std::string NodeName(const onnx::NodeProto& n) const;
  Error Unsupported(const onnx::NodeProto& n, const std::string& why = "") const;
  // The op type itself is the problem (`except`: where it would be imported).
  Error UnsupportedOp(const onnx::NodeProto& n, const std::string& except) const;

  const onnx::ModelProto& model_;
  std::string path_;
  Graph graph_;
  std::map<int, Params> params_;
  std::map<std::string, Value> values_;
  std::map<std::string, std::vector<int64_t>> shapes_;  // every value shape inference knows
  std::map<int, std::vector<int64_t>> node_shapes_;     // each graph node's output
  std::set<std::string> names_;
  int64_t channels_ = 0, image_size_ = 0, num_classes_ = 0;
};


}  // namespace qg::onnx_export::internal
