#include "core/export/onnx_import.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/shape_inference/implementation.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "core/base/sha256.h"
#include "core/base/torch_call.h"
#include "core/export/onnx_file.h"
#include "core/models/model_options.h"

namespace qg::onnx_export {
namespace {

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

std::string Joined(const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ", ")); }

torch::Tensor TensorFromProto(const onnx::TensorProto& t) {
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  auto options = torch::TensorOptions();
  switch (t.data_type()) {
    case onnx::TensorProto_DataType_FLOAT:
      if (t.has_raw_data()) {
        return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, options.dtype(torch::kFloat)).clone();
      }
      return torch::tensor(std::vector<float>(t.float_data().begin(), t.float_data().end())).reshape(dims);
    case onnx::TensorProto_DataType_INT64:
      if (t.has_raw_data()) {
        return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, options.dtype(torch::kLong)).clone();
      }
      return torch::tensor(std::vector<int64_t>(t.int64_data().begin(), t.int64_data().end())).reshape(dims);
    case onnx::TensorProto_DataType_INT32:
      if (t.has_raw_data()) {
        return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, options.dtype(torch::kInt)).clone()
            .to(torch::kLong);
      }
      return torch::tensor(std::vector<int64_t>(t.int32_data().begin(), t.int32_data().end())).reshape(dims);
    default:
      return torch::Tensor();
  }
}

// A tensor as a Value: integer tensors become foldable ints.
Value ConstantValue(const torch::Tensor& t) {
  Value v;
  if (t.scalar_type() == torch::kLong) {
    const auto c = t.contiguous();
    v.ints = std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    v.scalar = t.dim() == 0;
  } else {
    v.tensor = t.to(torch::kFloat);
  }
  return v;
}

std::vector<int64_t> ShapeOf(const onnx::TypeProto& type) {
  std::vector<int64_t> shape;
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return shape;
  for (const auto& d : type.tensor_type().shape().dim()) {
    shape.push_back(d.has_dim_value() ? d.dim_value() : (shape.empty() ? kBatch : -1));
  }
  return shape;
}

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
  // Adds `node` producing the node's output 0; its index.
  int Emit(const onnx::NodeProto& n, Node node);
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
  std::set<std::string> names_;
  int64_t channels_ = 0, image_size_ = 0, num_classes_ = 0;
};

std::string Importer::NodeName(const onnx::NodeProto& n) const {
  return n.name().empty() ? fmt::format("{}:{}", n.op_type(), n.output(0)) : n.name();
}

Error Importer::Unsupported(const onnx::NodeProto& n, const std::string& why) const {
  if (why.empty()) return UnsupportedOp(n, "");
  return Error::InvalidArgument("{}: node '{}' ({}): {}", path_, NodeName(n), n.op_type(), why);
}

Error Importer::UnsupportedOp(const onnx::NodeProto& n, const std::string& except) const {
  return Error::InvalidArgument("{}: node '{}' has op type '{}', which quantgrid does not import{}; supported: {}",
                                path_, NodeName(n), n.op_type(), except.empty() ? "" : " " + except,
                                Joined(SupportedOnnxOps()));
}

Result<const Value*> Importer::Input(const onnx::NodeProto& n, int i) const {
  if (i >= n.input_size() || n.input(i).empty()) return Unsupported(n, fmt::format("input {} is missing", i));
  auto it = values_.find(n.input(i));
  if (it == values_.end()) return Unsupported(n, fmt::format("input '{}' is not produced before it", n.input(i)));
  return &it->second;
}

Result<int> Importer::GraphInput(const onnx::NodeProto& n, int i, bool padded) const {
  QG_ASSIGN_OR_RETURN(const Value* v, Input(n, i));
  if (v->node < 0) return Unsupported(n, fmt::format("input '{}' must be computed from the image", n.input(i)));
  if (v->shuffle_stage > 0) return Unsupported(n, "reads a reshaped tensor that is not a flatten or channel shuffle");
  if (!padded && v->pending_pad != std::array<int64_t, 2>{0, 0}) {
    return Unsupported(n, fmt::format("reads the padded '{}'; only a Conv or an AveragePool that counts the padding "
                                      "can take a Pad's zeros as its own",
                                      n.input(i)));
  }
  return v->node;
}

Result<torch::Tensor> Importer::ConstantInput(const onnx::NodeProto& n, int i) const {
  QG_ASSIGN_OR_RETURN(const Value* v, Input(n, i));
  if (v->tensor) return *v->tensor;
  if (v->ints) {
    return torch::tensor(*v->ints, torch::kLong).reshape(v->scalar ? std::vector<int64_t>{} :
                                                                     std::vector<int64_t>{static_cast<int64_t>(v->ints->size())});
  }
  return Unsupported(n, fmt::format("input '{}' must be a constant (an initializer)", n.input(i)));
}

Result<std::vector<int64_t>> Importer::IntsInput(const onnx::NodeProto& n, int i) const {
  QG_ASSIGN_OR_RETURN(const Value* v, Input(n, i));
  if (v->ints) return *v->ints;
  if (v->tensor) {
    const auto t = v->tensor->to(torch::kLong).contiguous();
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  }
  return Unsupported(n, fmt::format("input '{}' must be a constant", n.input(i)));
}

int Importer::Emit(const onnx::NodeProto& n, Node node) {
  std::string name = NodeName(n);
  for (int k = 2; !names_.insert(name).second; ++k) name = fmt::format("{}#{}", NodeName(n), k);
  node.name = name;
  const int index = graph_.Add(std::move(node));
  Value v;
  v.node = index;
  if (auto it = shapes_.find(n.output(0)); it != shapes_.end()) v.shape = it->second;
  values_[n.output(0)] = std::move(v);
  return index;
}

// ---- attributes ----

const onnx::AttributeProto* Attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}
int64_t IntAttr(const onnx::NodeProto& n, const std::string& name, int64_t fallback) {
  const auto* a = Attr(n, name);
  return a ? a->i() : fallback;
}
double FloatAttr(const onnx::NodeProto& n, const std::string& name, double fallback) {
  const auto* a = Attr(n, name);
  return a ? a->f() : fallback;
}
std::vector<int64_t> IntsAttr(const onnx::NodeProto& n, const std::string& name, std::vector<int64_t> fallback) {
  const auto* a = Attr(n, name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : fallback;
}
std::string StringAttr(const onnx::NodeProto& n, const std::string& name, const std::string& fallback) {
  const auto* a = Attr(n, name);
  return a ? a->s() : fallback;
}

// ---- convolution and batch norm ----

// Symmetric pads {h, w} from ONNX pads [h_begin, w_begin, h_end, w_end] or
// auto_pad; nothing when they are asymmetric.
std::optional<std::array<int64_t, 2>> Padding(const onnx::NodeProto& n, const std::vector<int64_t>& in_shape,
                                              const std::array<int64_t, 2>& kernel, const std::array<int64_t, 2>& stride,
                                              const std::array<int64_t, 2>& dilation) {
  const std::string auto_pad = StringAttr(n, "auto_pad", "NOTSET");
  if (auto_pad == "VALID") return std::array<int64_t, 2>{0, 0};
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    std::array<int64_t, 2> pad{};
    for (int d = 0; d < 2; ++d) {
      const int64_t size = in_shape.size() == 4 ? in_shape[2 + d] : -1;
      if (size <= 0) return std::nullopt;
      const int64_t out = (size + stride[d] - 1) / stride[d];
      const int64_t total = std::max<int64_t>((out - 1) * stride[d] + (kernel[d] - 1) * dilation[d] + 1 - size, 0);
      if (total % 2 != 0) return std::nullopt;
      pad[d] = total / 2;
    }
    return pad;
  }
  const auto pads = IntsAttr(n, "pads", {0, 0, 0, 0});
  if (pads.size() != 4 || pads[0] != pads[2] || pads[1] != pads[3]) return std::nullopt;
  return std::array<int64_t, 2>{pads[0], pads[1]};
}

std::array<int64_t, 2> Pair(const std::vector<int64_t>& v, int64_t fallback) {
  if (v.size() == 2) return {v[0], v[1]};
  if (v.size() == 1) return {v[0], v[0]};
  return {fallback, fallback};
}

Status Importer::TranslateConv(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0, /*padded=*/true));
  const auto pad = values_.at(n.input(0)).pending_pad;
  QG_ASSIGN_OR_RETURN(torch::Tensor weight, ConstantInput(n, 1));
  if (weight.dim() != 4) return Unsupported(n, "only 2-D convolutions (a 4-D weight) are imported");
  Node node{.op = Op::kConv2d, .inputs = {x}};
  node.groups = IntAttr(n, "group", 1);
  node.out_channels = weight.size(0);
  node.in_channels = weight.size(1) * node.groups;
  node.kernel = {weight.size(2), weight.size(3)};
  node.stride = Pair(IntsAttr(n, "strides", {}), 1);
  node.dilation = Pair(IntsAttr(n, "dilations", {}), 1);
  const auto padding = Padding(n, values_[n.input(0)].shape, node.kernel, node.stride, node.dilation);
  if (!padding) return Unsupported(n, "asymmetric padding is not supported (pad the input symmetrically)");
  node.padding = {(*padding)[0] + pad[0], (*padding)[1] + pad[1]};
  Params p{.weight = weight};
  if (n.input_size() > 2 && !n.input(2).empty()) {
    QG_ASSIGN_OR_RETURN(p.bias, ConstantInput(n, 2));
    node.bias = true;
  }
  params_[Emit(n, std::move(node))] = std::move(p);
  return OkStatus();
}

Status Importer::TranslateBatchNorm(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0));
  if (IntAttr(n, "training_mode", 0) != 0) return Unsupported(n, "a batch norm in training mode cannot be imported");
  Params p;
  QG_ASSIGN_OR_RETURN(p.weight, ConstantInput(n, 1));
  QG_ASSIGN_OR_RETURN(p.bias, ConstantInput(n, 2));
  QG_ASSIGN_OR_RETURN(p.mean, ConstantInput(n, 3));
  QG_ASSIGN_OR_RETURN(p.var, ConstantInput(n, 4));
  Node node{.op = Op::kBatchNorm2d, .inputs = {x}};
  node.out_channels = node.in_channels = p.weight.numel();
  node.eps = FloatAttr(n, "epsilon", 1e-5);
  node.momentum = 1.0 - FloatAttr(n, "momentum", 0.9);  // ONNX keeps the old value's share
  params_[Emit(n, std::move(node))] = std::move(p);
  return OkStatus();
}

// ---- activations and elementwise ops ----

Status Importer::TranslateActivation(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0));
  Node node{.inputs = {x}};
  const std::string& op = n.op_type();
  if (op == "Relu") {
    node.op = Op::kReLU;
  } else if (op == "Clip") {
    // Opset 11+: min and max are optional constant inputs.
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    if (n.input_size() > 1 && !n.input(1).empty()) {
      QG_ASSIGN_OR_RETURN(auto t, ConstantInput(n, 1));
      lo = t.item<double>();
    }
    if (n.input_size() > 2 && !n.input(2).empty()) {
      QG_ASSIGN_OR_RETURN(auto t, ConstantInput(n, 2));
      hi = t.item<double>();
    }
    node.op = lo == 0 && std::isinf(hi) ? Op::kReLU : Op::kClamp;
    node.clamp_min = lo;
    node.clamp_max = hi;
  } else if (op == "LeakyRelu") {
    node.op = Op::kLeakyReLU;
    node.alpha = FloatAttr(n, "alpha", 0.01);
  } else if (op == "Sigmoid") {
    node.op = Op::kSigmoid;
  } else if (op == "HardSigmoid") {
    node.op = Op::kHardSigmoid;
    node.alpha = FloatAttr(n, "alpha", 0.2);
    node.beta = FloatAttr(n, "beta", 0.5);
  } else {  // HardSwish
    node.op = Op::kHardSwish;
  }
  Emit(n, std::move(node));
  return OkStatus();
}

Status Importer::TranslateBinary(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(const Value* a, Input(n, 0));
  QG_ASSIGN_OR_RETURN(const Value* b, Input(n, 1));
  if (a->ints && b->ints) return TranslateShapeMath(n);  // arithmetic on a shape
  // MatMul + Add: the Add's constant is the Linear's bias.
  if (n.op_type() == "Add" && (a->tensor || b->tensor) && (a->node >= 0 || b->node >= 0)) {
    const Value& x = a->node >= 0 ? *a : *b;
    const torch::Tensor bias = a->tensor ? *a->tensor : *b->tensor;
    Node& linear = graph_.nodes[x.node];
    if (linear.op != Op::kLinear || linear.bias || bias.numel() != linear.out_channels) {
      return Unsupported(n, "adds a constant to something other than a MatMul's output");
    }
    linear.bias = true;
    params_[x.node].bias = bias.reshape({-1});
    Alias(n, x);
    return OkStatus();
  }
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0));
  QG_ASSIGN_OR_RETURN(int y, GraphInput(n, 1));
  Emit(n, Node{.op = n.op_type() == "Add" ? Op::kAdd : Op::kMul, .inputs = {x, y}});
  return OkStatus();
}

// ---- pooling ----

Status Importer::TranslatePool(const onnx::NodeProto& n) {
  const std::string& op = n.op_type();
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0, /*padded=*/op == "AveragePool"));
  const auto pad = values_.at(n.input(0)).pending_pad;
  Node node{.inputs = {x}};
  if (op == "GlobalAveragePool" || op == "ReduceMean") {
    if (op == "ReduceMean") {
      auto axes = IntsAttr(n, "axes", {});
      if (axes.empty() && n.input_size() > 1) {
        QG_ASSIGN_OR_RETURN(axes, IntsInput(n, 1));
      }
      for (auto& a : axes) a = a < 0 ? a + 4 : a;
      std::sort(axes.begin(), axes.end());
      if (axes != std::vector<int64_t>{2, 3}) return Unsupported(n, "only a mean over height and width is imported");
    }
    node.op = Op::kAdaptiveAvgPool2d;
    node.output_size = {1, 1};
    if (op == "ReduceMean" && IntAttr(n, "keepdims", 1) == 0) {
      const int pooled = Emit(n, std::move(node));
      Node flatten{.op = Op::kFlatten, .inputs = {pooled}};
      flatten.name = graph_.nodes[pooled].name + ":flatten";
      values_[n.output(0)].node = graph_.Add(std::move(flatten));
    } else {
      Emit(n, std::move(node));
    }
    return OkStatus();
  }
  node.op = op == "MaxPool" ? Op::kMaxPool2d : Op::kAvgPool2d;
  node.kernel = Pair(IntsAttr(n, "kernel_shape", {}), 1);
  node.stride = Pair(IntsAttr(n, "strides", {}), 1);
  if (Pair(IntsAttr(n, "dilations", {}), 1) != std::array<int64_t, 2>{1, 1}) {
    return Unsupported(n, "dilated pooling is not supported");
  }
  const auto padding = Padding(n, values_[n.input(0)].shape, node.kernel, node.stride, {1, 1});
  if (!padding) return Unsupported(n, "asymmetric padding is not supported");
  node.ceil_mode = IntAttr(n, "ceil_mode", 0) != 0;
  node.count_include_pad = IntAttr(n, "count_include_pad", 0) != 0;
  if (pad != std::array<int64_t, 2>{0, 0}) {
    // A zero Pad before the pool averages its zeros: the pool's own padding
    // does the same when it counts it (and then it must not have its own).
    if (*padding != std::array<int64_t, 2>{0, 0} || node.ceil_mode) {
      return Unsupported(n, "pools a padded tensor with padding or ceil_mode of its own");
    }
    node.count_include_pad = true;
  }
  node.padding = {(*padding)[0] + pad[0], (*padding)[1] + pad[1]};
  Emit(n, std::move(node));
  return OkStatus();
}

// ---- fully connected ----

Status Importer::TranslateLinear(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0));
  QG_ASSIGN_OR_RETURN(torch::Tensor b, ConstantInput(n, 1));
  if (b.dim() != 2) return Unsupported(n, "the weight must be a 2-D initializer");
  Params p;
  Node node{.op = Op::kLinear, .inputs = {x}};
  if (n.op_type() == "Gemm") {
    if (IntAttr(n, "transA", 0) != 0) return Unsupported(n, "transA is not supported");
    const double alpha = FloatAttr(n, "alpha", 1.0), beta = FloatAttr(n, "beta", 1.0);
    p.weight = (IntAttr(n, "transB", 0) != 0 ? b : b.t()).contiguous() * alpha;
    if (n.input_size() > 2 && !n.input(2).empty()) {
      QG_ASSIGN_OR_RETURN(torch::Tensor c, ConstantInput(n, 2));
      if (c.numel() != p.weight.size(0)) return Unsupported(n, "C must be one bias per output");
      p.bias = c.reshape({-1}) * beta;
      node.bias = true;
    }
  } else {  // MatMul: x [N, in] @ B [in, out]; a following Add may bring a bias
    p.weight = b.t().contiguous();
  }
  node.out_channels = p.weight.size(0);
  node.in_channels = p.weight.size(1);
  params_[Emit(n, std::move(node))] = std::move(p);
  return OkStatus();
}

// ---- constants and shape arithmetic (folded) ----

// Elementwise integer arithmetic where the dynamic batch stays itself only
// when nothing is done to it.
Result<std::vector<int64_t>> Arith(const std::string& op, const std::vector<int64_t>& a,
                                   const std::vector<int64_t>& b) {
  const size_t n = std::max(a.size(), b.size());
  if (a.size() != n && a.size() != 1) return Error::InvalidArgument("shapes do not broadcast");
  if (b.size() != n && b.size() != 1) return Error::InvalidArgument("shapes do not broadcast");
  std::vector<int64_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t x = a[a.size() == 1 ? 0 : i], y = b[b.size() == 1 ? 0 : i];
    if (x == kBatch || y == kBatch) {
      if ((op == "Mul" || op == "Div") && y == 1) {
        out[i] = x;
        continue;
      }
      return Error::InvalidArgument("computes with the dynamic batch size");
    }
    if (op == "Add") out[i] = x + y;
    if (op == "Sub") out[i] = x - y;
    if (op == "Mul") out[i] = x * y;
    if (op == "Div") {
      if (y == 0) return Error::InvalidArgument("divides by zero");
      out[i] = x / y;
    }
  }
  return out;
}

Status Importer::TranslateShapeMath(const onnx::NodeProto& n) {
  const std::string& op = n.op_type();
  if (op == "Constant") {
    const auto* a = Attr(n, "value");
    if (a == nullptr || !a->has_t()) return Unsupported(n, "only tensor constants are imported");
    Alias(n, ConstantValue(TensorFromProto(a->t())));
    return OkStatus();
  }
  if (op == "Shape") {
    QG_ASSIGN_OR_RETURN(const Value* x, Input(n, 0));
    if (x->shape.empty()) return Unsupported(n, "the shape of its input is not known");
    Value v;
    v.ints = x->shape;
    Alias(n, std::move(v));
    return OkStatus();
  }
  if (op == "Cast") {
    QG_ASSIGN_OR_RETURN(const Value* x, Input(n, 0));
    if (!x->ints && !x->tensor) return Unsupported(n, "only constants can be cast");
    Alias(n, *x);
    return OkStatus();
  }
  for (int i = 0; i < n.input_size(); ++i) {
    QG_ASSIGN_OR_RETURN(const Value* in, Input(n, i));
    if (in->node >= 0) return UnsupportedOp(n, "only where it computes a shape, not on tensors of the image");
  }
  QG_ASSIGN_OR_RETURN(std::vector<int64_t> data, IntsInput(n, 0));
  Value v;
  if (op == "Gather") {
    QG_ASSIGN_OR_RETURN(std::vector<int64_t> index, IntsInput(n, 1));
    if (IntAttr(n, "axis", 0) != 0) return Unsupported(n, "only gathers along axis 0 of a shape are folded");
    std::vector<int64_t> out;
    for (int64_t i : index) {
      const int64_t k = i < 0 ? i + static_cast<int64_t>(data.size()) : i;
      if (k < 0 || k >= static_cast<int64_t>(data.size())) return Unsupported(n, "index out of range");
      out.push_back(data[k]);
    }
    v.ints = out;
    QG_ASSIGN_OR_RETURN(const Value* idx, Input(n, 1));
    v.scalar = idx->scalar;
  } else if (op == "Unsqueeze" || op == "Squeeze") {
    v.ints = data;  // 0-d <-> 1-d: the same numbers
    v.scalar = op == "Squeeze" && data.size() == 1;
  } else if (op == "Concat") {
    std::vector<int64_t> out;
    for (int i = 0; i < n.input_size(); ++i) {
      QG_ASSIGN_OR_RETURN(auto part, IntsInput(n, i));
      out.insert(out.end(), part.begin(), part.end());
    }
    v.ints = out;
  } else {  // Add, Sub, Mul, Div
    QG_ASSIGN_OR_RETURN(std::vector<int64_t> other, IntsInput(n, 1));
    auto out = Arith(op, data, other);
    if (!out) return Unsupported(n, out.error().message);
    v.ints = *out;
  }
  Alias(n, std::move(v));
  return OkStatus();
}

// ---- reshape: flatten, or a channel shuffle's three steps ----

Status Importer::TranslateReshape(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(const Value* x, Input(n, 0));
  if (x->node < 0) return Unsupported(n, "reshapes a constant");
  const int source = x->node;
  const auto in = graph_.nodes[source];
  const std::vector<int64_t> shape = x->shape;
  if (n.op_type() == "Flatten") {
    if (IntAttr(n, "axis", 1) != 1) return Unsupported(n, "only a flatten from axis 1 is imported");
    Emit(n, Node{.op = Op::kFlatten, .inputs = {source}, .dim = 1});
    return OkStatus();
  }
  if (n.op_type() == "Transpose") {
    if (x->shuffle_stage != 1 || IntsAttr(n, "perm", {}) != std::vector<int64_t>{0, 2, 1, 3, 4}) {
      return Unsupported(n, "a transpose is imported only inside a channel shuffle (reshape, transpose, reshape)");
    }
    Value v = *x;
    v.shuffle_stage = 2;
    Alias(n, std::move(v));
    return OkStatus();
  }
  QG_ASSIGN_OR_RETURN(std::vector<int64_t> target, IntsInput(n, 1));
  if (x->shuffle_stage == 2) {
    if (target.size() != 4) return Unsupported(n, "ends a channel shuffle with a shape that is not N, C, H, W");
    Emit(n, Node{.op = Op::kChannelShuffle, .inputs = {source}, .in_channels = shape[1], .out_channels = shape[1],
                 .groups = x->shuffle_groups});
    return OkStatus();
  }
  if (target.size() == 2 && (target[0] == kBatch || target[0] == 0 || target[0] == -1 || target[0] == shape[0])) {
    Emit(n, Node{.op = Op::kFlatten, .inputs = {source}, .dim = 1});
    return OkStatus();
  }
  if (target.size() == 5 && shape.size() == 4 && shape[1] > 0 && target[1] > 0 && target[1] * target[2] == shape[1]) {
    Value v = *x;  // (N, g, C/g, H, W): the first step of a channel shuffle
    v.shuffle_stage = 1;
    v.shuffle_groups = static_cast<int>(target[1]);
    Alias(n, std::move(v));
    return OkStatus();
  }
  return Unsupported(n, fmt::format("reshape to [{}] is neither a flatten nor a channel shuffle",
                                    fmt::join(target, ", ")));
}

Status Importer::TranslateConcat(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(const Value* first, Input(n, 0));
  if (first->ints) return TranslateShapeMath(n);  // pieces of a shape
  const int64_t axis = IntAttr(n, "axis", 1);
  if (axis != 1 && axis != -3) return Unsupported(n, "only a concat along channels (axis 1) is imported");
  Node node{.op = Op::kConcat, .dim = 1};
  for (int i = 0; i < n.input_size(); ++i) {
    QG_ASSIGN_OR_RETURN(int x, GraphInput(n, i));
    node.inputs.push_back(x);
  }
  if (node.inputs.size() == 1) {  // a concat of one value is that value
    Alias(n, values_.at(n.input(0)));
    return OkStatus();
  }
  Emit(n, std::move(node));
  return OkStatus();
}

Status Importer::TranslateIdentity(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(const Value* x, Input(n, 0));
  Value v = *x;
  if (auto it = shapes_.find(n.output(0)); it != shapes_.end() && v.node >= 0) v.shape = it->second;
  Alias(n, std::move(v));
  return OkStatus();
}

// A constant zero Pad of height and width only, symmetric: remembered on the
// value for the Conv or AveragePool that reads it (torch.onnx writes one before
// an AvgPool2d). Zero pads are nothing at all.
Status Importer::TranslatePad(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(const Value* x, Input(n, 0));
  if (x->node < 0) return Unsupported(n, "pads a constant");
  if (StringAttr(n, "mode", "constant") != "constant") return Unsupported(n, "only constant padding is imported");
  std::vector<int64_t> pads = IntsAttr(n, "pads", {});
  if (n.input_size() > 1 && !n.input(1).empty()) {
    QG_ASSIGN_OR_RETURN(pads, IntsInput(n, 1));
  }
  if (n.input_size() > 2 && !n.input(2).empty()) {
    QG_ASSIGN_OR_RETURN(torch::Tensor value, ConstantInput(n, 2));
    if (value.numel() != 1 || value.item<double>() != 0) return Unsupported(n, "only padding with zeros is imported");
  }
  if (n.input_size() > 3 && !n.input(3).empty()) return Unsupported(n, "padding selected axes is not imported");
  // [n_begin, c_begin, h_begin, w_begin, n_end, c_end, h_end, w_end]
  if (pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5] || pads[2] != pads[6] || pads[3] != pads[7] ||
      pads[2] < 0 || pads[3] < 0) {
    return Unsupported(n, "only symmetric, non-negative padding of height and width is imported");
  }
  Value v = *x;
  v.pending_pad = {x->pending_pad[0] + pads[2], x->pending_pad[1] + pads[3]};
  if (auto it = shapes_.find(n.output(0)); it != shapes_.end()) v.shape = it->second;
  Alias(n, std::move(v));
  return OkStatus();
}

Status Importer::Translate(const onnx::NodeProto& n) {
  if (!n.domain().empty() && n.domain() != "ai.onnx") return Unsupported(n);
  const auto& table = Dispatch();
  auto it = table.find(n.op_type());
  if (it == table.end()) return Unsupported(n);
  return it->second(*this, n);
}

const std::map<std::string, Importer::Handler>& Importer::Dispatch() {
  using Fn = Handler;
  static const std::map<std::string, Fn> table = [] {
    std::map<std::string, Fn> t;
    auto add = [&](std::initializer_list<const char*> ops, Status (Importer::*fn)(const onnx::NodeProto&)) {
      for (const char* op : ops) t[op] = [fn](Importer& i, const onnx::NodeProto& n) { return (i.*fn)(n); };
    };
    add({"Conv"}, &Importer::TranslateConv);
    add({"BatchNormalization"}, &Importer::TranslateBatchNorm);
    add({"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish"}, &Importer::TranslateActivation);
    add({"Add", "Mul"}, &Importer::TranslateBinary);
    add({"MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean"}, &Importer::TranslatePool);
    add({"Gemm", "MatMul"}, &Importer::TranslateLinear);
    add({"Flatten", "Reshape", "Transpose"}, &Importer::TranslateReshape);
    add({"Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast", "Div", "Sub"}, &Importer::TranslateShapeMath);
    add({"Concat"}, &Importer::TranslateConcat);
    add({"Identity", "Dropout"}, &Importer::TranslateIdentity);
    add({"Pad"}, &Importer::TranslatePad);
    return t;
  }();
  return table;
}

// The image input: the first graph input that is not an initializer, 4-D,
// float. Its H and W come from the file or the options (never both, unless
// they agree); they are written into the model so shape inference knows them.
Status Importer::ReadInput(const ImportOptions& options) {
  std::set<std::string> initializers;
  for (const auto& t : model_.graph().initializer()) initializers.insert(t.name());
  const onnx::ValueInfoProto* input = nullptr;
  int inputs = 0;
  for (const auto& in : model_.graph().input()) {
    if (initializers.count(in.name())) continue;
    ++inputs;
    if (input == nullptr) input = &in;
  }
  if (input == nullptr) return Error::InvalidArgument("{}: the model has no input", path_);
  if (inputs > 1) return Error::InvalidArgument("{}: the model has {} inputs; quantgrid imports one image input", path_, inputs);
  const auto shape = ShapeOf(input->type());
  if (shape.size() != 4) {
    return Error::InvalidArgument("{}: input '{}' is {}-D; quantgrid imports image models with one N,C,H,W input",
                                  path_, input->name(), shape.size());
  }
  if (input->type().tensor_type().elem_type() != onnx::TensorProto_DataType_FLOAT) {
    return Error::InvalidArgument("{}: input '{}' is not float32", path_, input->name());
  }
  auto pick = [&](int64_t in_file, const std::optional<int64_t>& given, const char* what) -> Result<int64_t> {
    if (in_file > 0 && given && *given != in_file) {
      return Error::InvalidArgument("{}: the file says {} {}, the spec {}", path_, what, in_file, *given);
    }
    if (in_file > 0) return in_file;
    if (given) return *given;
    return Error::InvalidArgument("{}: input '{}' does not say its {}; give it (spec \"input\" or the CLI)", path_,
                                  input->name(), what);
  };
  QG_ASSIGN_OR_RETURN(channels_, pick(shape[1], options.channels, "channels"));
  QG_ASSIGN_OR_RETURN(image_size_, pick(shape[2], options.image_size, "image size"));
  if (shape[3] > 0 && shape[3] != image_size_) {
    return Error::InvalidArgument("{}: input '{}' is {}x{}; quantgrid models take square images", path_,
                                  input->name(), image_size_, shape[3]);
  }
  Value v;
  v.node = 0;
  v.shape = {kBatch, channels_, image_size_, image_size_};
  values_[input->name()] = v;
  graph_.Add(Node{.name = "input", .op = Op::kInput});
  names_.insert("input");
  return OkStatus();
}

Status Importer::ReadOutput() {
  if (model_.graph().output_size() == 0) return Error::InvalidArgument("{}: the model has no output", path_);
  const auto& out = model_.graph().output(0);
  auto it = values_.find(out.name());
  if (it == values_.end() || it->second.node < 0) {
    return Error::InvalidArgument("{}: output '{}' is not computed from the image", path_, out.name());
  }
  const auto shape = it->second.shape.empty() ? ShapeOf(out.type()) : it->second.shape;
  if (shape.size() != 2 || shape[1] <= 0) {
    return Error::InvalidArgument("{}: output '{}' is not [N, classes] logits", path_, out.name());
  }
  num_classes_ = shape[1];
  graph_.outputs = {it->second.node};
  return graph_.Validate();
}

Status Importer::Run(const ImportOptions& options) {
  QG_RETURN_IF_ERROR(ReadInput(options));
  // Shape inference with the input's size fixed, so every value's shape is known.
  onnx::ModelProto inferred = model_;
  for (auto& in : *inferred.mutable_graph()->mutable_input()) {
    if (values_.count(in.name()) == 0) continue;
    auto* dims = in.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim();
    (*dims)[1].set_dim_value(channels_);
    (*dims)[2].set_dim_value(image_size_);
    (*dims)[3].set_dim_value(image_size_);
  }
  try {
    onnx::shape_inference::InferShapes(inferred);
  } catch (const std::exception& e) {
    return Error::InvalidArgument("{}: shape inference: {}", path_, e.what());
  }
  for (const auto& vi : inferred.graph().value_info()) shapes_[vi.name()] = ShapeOf(vi.type());
  for (const auto& vi : inferred.graph().output()) shapes_[vi.name()] = ShapeOf(vi.type());
  for (const auto& t : model_.graph().initializer()) {
    torch::Tensor tensor = TensorFromProto(t);
    if (!tensor.defined()) {
      return Error::InvalidArgument("{}: initializer '{}' has data type {}; quantgrid imports FP32 models", path_,
                                    t.name(), t.data_type());
    }
    values_[t.name()] = ConstantValue(tensor);
  }
  for (const auto& n : model_.graph().node()) {
    auto done = TorchCall("LibTorch", [&] { return Translate(n); });
    if (!done) return Unsupported(n, done.error().message);
    QG_RETURN_IF_ERROR(*done);
  }
  return ReadOutput();
}

// Copies the parameters collected while translating into the module.
Status LoadParameters(models::GraphModule& module, const std::map<int, Params>& params, const std::string& path) {
  torch::NoGradGuard no_grad;
  for (const auto& [index, p] : params) {
    const Node& n = module->graph().nodes[index];
    auto copy = [&](torch::Tensor dst, const torch::Tensor& src, const char* what) -> Status {
      if (!dst.defined() || !src.defined()) return OkStatus();
      if (dst.numel() != src.numel()) {
        return Error::InvalidArgument("{}: node '{}': {} has {} values, the layer needs {}", path, n.name, what,
                                      src.numel(), dst.numel());
      }
      dst.copy_(src.reshape(dst.sizes()).to(torch::kFloat));
      return OkStatus();
    };
    if (auto conv = module->conv(index)) {
      QG_RETURN_IF_ERROR(copy(conv->weight, p.weight, "the weight"));
      QG_RETURN_IF_ERROR(copy(conv->bias, p.bias, "the bias"));
    } else if (auto linear = module->linear(index)) {
      QG_RETURN_IF_ERROR(copy(linear->weight, p.weight, "the weight"));
      QG_RETURN_IF_ERROR(copy(linear->bias, p.bias, "the bias"));
    } else if (auto bn = module->bn(index)) {
      QG_RETURN_IF_ERROR(copy(bn->weight, p.weight, "the scale"));
      QG_RETURN_IF_ERROR(copy(bn->bias, p.bias, "the bias"));
      QG_RETURN_IF_ERROR(copy(bn->running_mean, p.mean, "the mean"));
      QG_RETURN_IF_ERROR(copy(bn->running_var, p.var, "the variance"));
    }
  }
  module->UseChannelsLast();
  module->eval();
  return OkStatus();
}

int64_t Opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  }
  return 0;
}

}  // namespace

Result<ImportedModel> ImportOnnx(const std::string& path, const ImportOptions& options) {
  QG_ASSIGN_OR_RETURN(onnx::ModelProto proto, ReadOnnxFile(path));
  ImportedModel out;
  out.opset = Opset(proto);
  if (out.opset < kMinOnnxOpset || out.opset > kMaxOnnxOpset) {
    return Error::InvalidArgument("{}: opset {} is outside the {}..{} quantgrid imports (re-export with "
                                  "opset_version={})",
                                  path, out.opset, kMinOnnxOpset, kMaxOnnxOpset, kMaxOnnxOpset);
  }
  Importer importer(proto, path);
  QG_RETURN_IF_ERROR(importer.Run(options));
  out.in_channels = importer.channels();
  out.image_size = importer.image_size();
  out.num_classes = importer.num_classes();
  QG_ASSIGN_OR_RETURN(out.sha256, Sha256File(path));
  const models::ModelOptions model_options{.in_channels = out.in_channels, .image_size = out.image_size,
                                           .num_classes = out.num_classes};
  nlohmann::json options_json = model_options.ToJson();
  options_json["onnx_sha256"] = out.sha256;
  if (!options.mean.empty()) options_json["mean"] = options.mean;
  if (!options.std.empty()) options_json["std"] = options.std;
  const models::ModelMeta meta{.model_name = "onnx", .options = options_json};
  QG_RETURN_IF_ERROR(TorchCall(fmt::format("building the model imported from '{}'", path), [&] {
    out.model = models::GraphModule(std::move(importer.graph()), meta);
  }));
  QG_RETURN_IF_ERROR(LoadParameters(out.model, importer.params(), path));
  return out;
}

const std::vector<std::string>& SupportedOnnxOps() {
  static const std::vector<std::string> ops{
      "Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Add",
      "Mul", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape",
      "Transpose", "Gemm", "MatMul", "Dropout", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze",
      "Cast", "Div", "Sub", "Pad"};
  return ops;
}

}  // namespace qg::onnx_export
