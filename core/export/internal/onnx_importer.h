// The ONNX importer's inner parts, shared by its files: onnx_import.cc (the
// file, the graph input and output, dispatch, parameters), onnx_import_ops.cc,
// onnx_import_channels.cc and onnx_import_layout.cc (one translation per ONNX
// op) and onnx_import_patterns.cc (decomposed ops put back together). Not for
// other users.
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
  // The N,H,W,C transpose of its graph node's N,C,H,W value (ConvNeXt's
  // blocks: LayerNorm over channels, MatMuls as 1x1 convs, GELU); `shape` is
  // the ONNX (N,H,W,C) one.
  bool channels_last = false;
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
// The graph's nodes with the decomposed forms torch.onnx writes below their
// own opset put back together: LayerNormalization over the last axis
// (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div[, Mul][, Add]) and Gelu
// (Div by sqrt 2, Erf, Add 1, Mul by x, Mul by 1/2). A pattern matches only
// when its inner values are read inside it alone; the rest stays as it is.
std::vector<onnx::NodeProto> FuseDecomposedOps(const onnx::GraphProto& graph);

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
  Status TranslateLayerNorm(const onnx::NodeProto& n);
  Status TranslateGelu(const onnx::NodeProto& n);
  // Transpose to N,H,W,C and back: the value itself, in the other layout.
  Status TranslateLayoutTranspose(const onnx::NodeProto& n, const std::vector<int64_t>& perm);
  // MatMul by a constant over the channels of an N,H,W,C value: a 1x1 conv.
  Status TranslatePositionwiseMatMul(const onnx::NodeProto& n);
  // x * constant, per channel or scalar, folded into the conv, linear or
  // layer norm that alone computes x (ConvNeXt's layer scale).
  Status FoldConstantMul(const onnx::NodeProto& n, const Value& x, const torch::Tensor& c);
  // Whether the graph node's value is read only along the chain of names it
  // goes by (each read once, by the next): folding a constant into the node
  // changes no other reader.
  bool ReadOnlyOnward(int node) const;
  // Whether constant `c` holds one value per channel of `x`, the output of
  // `layer`, along x's channel axis: axis 1 of an N,C,H,W value, the last of
  // an N,H,W,C one or of a Linear's [N, features].
  static bool OnChannelAxis(const Value& x, const Node& layer, const torch::Tensor& c);
  Status ReadInput(const ImportOptions& options);
  Status ReadOutput();

  using Handler = std::function<Status(Importer&, const onnx::NodeProto&)>;
  static const std::map<std::string, Handler>& Dispatch();

  // The node's i-th input; Unavailable-free: InvalidArgument naming the node.
  Result<const Value*> Input(const onnx::NodeProto& n, int i) const;
  // `padded`: the reader takes a pending Pad as its own padding;
  // `any_layout`: it reads an N,H,W,C value too (elementwise ops).
  Result<int> GraphInput(const onnx::NodeProto& n, int i, bool padded = false, bool any_layout = false) const;
  Result<torch::Tensor> ConstantInput(const onnx::NodeProto& n, int i) const;
  Result<std::vector<int64_t>> IntsInput(const onnx::NodeProto& n, int i) const;
  // Adds `node` producing the node's output `output`; its index.
  int Emit(const onnx::NodeProto& n, Node node, int output = 0);
  // Emit for a node whose ONNX output is N,H,W,C when `channels_last`.
  int EmitInLayout(const onnx::NodeProto& n, Node node, bool channels_last);
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
  std::map<std::string, int> readers_;  // how many node inputs and graph outputs read each value
  int64_t channels_ = 0, image_size_ = 0, num_classes_ = 0;
};


}  // namespace qg::onnx_export::internal
