// One translation per ONNX op the importer takes (the Importer's Translate*
// members) but those that move channels (onnx_import_channels.cc), with the
// attribute and padding helpers they share.
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/export/internal/onnx_importer.h"

namespace qg::onnx_export::internal {

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
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0, false, /*any_layout=*/true));
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
  EmitInLayout(n, std::move(node), values_.at(n.input(0)).channels_last);
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
    if (!ReadOnlyOnward(x.node)) return Unsupported(n, "adds a constant to a value that is read elsewhere too");
    if (linear.op == Op::kLayerNorm && x.channels_last && OnChannelAxis(x, linear, bias)) {
      params_[x.node].bias = params_[x.node].bias + bias.reshape({-1});  // a shift after the norm is its bias
      Alias(n, x);
      return OkStatus();
    }
    // A MatMul's output: a Linear, or over N,H,W,C a 1x1 conv.
    const bool matmul = linear.op == Op::kLinear || (linear.op == Op::kConv2d && x.channels_last);
    if (!matmul) return Unsupported(n, "adds a constant to something other than a MatMul's output");
    if (linear.bias) return Unsupported(n, "adds a second constant to a MatMul's output");
    if (!OnChannelAxis(x, linear, bias)) {
      return Unsupported(n, "adds to a MatMul's output a constant that is not one value per channel along its channels");
    }
    linear.bias = true;
    params_[x.node].bias = bias.reshape({-1});
    Alias(n, x);
    return OkStatus();
  }
  if (n.op_type() == "Mul" && (a->tensor || b->tensor) && (a->node >= 0 || b->node >= 0)) {
    return FoldConstantMul(n, a->node >= 0 ? *a : *b, a->tensor ? *a->tensor : *b->tensor);
  }
  if (a->channels_last != b->channels_last) return Unsupported(n, "combines an N,H,W,C and an N,C,H,W tensor");
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0, false, /*any_layout=*/true));
  QG_ASSIGN_OR_RETURN(int y, GraphInput(n, 1, false, /*any_layout=*/true));
  EmitInLayout(n, Node{.op = n.op_type() == "Add" ? Op::kAdd : Op::kMul, .inputs = {x, y}}, a->channels_last);
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
      const int flat = graph_.Add(std::move(flatten));
      node_shapes_[flat] = OutputShape(graph_.nodes[flat]);
      values_[n.output(0)].node = flat;
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
  QG_ASSIGN_OR_RETURN(const Value* in, Input(n, 0));
  if (in->channels_last) return TranslatePositionwiseMatMul(n);
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
  if (x->channels_last) return Unsupported(n, "pads an N,H,W,C tensor");
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

}  // namespace qg::onnx_export::internal
