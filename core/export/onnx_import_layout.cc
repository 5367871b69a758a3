// The importer's translations for channels-last regions: ConvNeXt's blocks
// transpose N,C,H,W to N,H,W,C, normalize each position over its channels,
// run two MatMuls with a GELU between them and transpose back. quantgrid's
// graph stays N,C,H,W: the region's values are its nodes' values read in the
// other layout, a position-wise MatMul is a 1x1 conv and the LayerNorm one
// over channels, so every layer runs on the same INT8 kernels as elsewhere.
#include <fmt/format.h>

#include "core/export/internal/onnx_importer.h"

namespace qg::onnx_export::internal {

Status Importer::TranslateLayoutTranspose(const onnx::NodeProto& n, const std::vector<int64_t>& perm) {
  QG_ASSIGN_OR_RETURN(const Value* x, Input(n, 0));
  const bool to_last = perm == std::vector<int64_t>{0, 2, 3, 1};
  if (x->pending_pad != std::array<int64_t, 2>{0, 0}) return Unsupported(n, "transposes a padded tensor");
  if (to_last == x->channels_last) {
    return Unsupported(n, to_last ? "transposes an N,H,W,C tensor again" : "transposes an N,C,H,W tensor to N,W,C,H");
  }
  Value v = *x;
  v.channels_last = to_last;
  if (auto it = shapes_.find(n.output(0)); it != shapes_.end() && it->second.size() == 4) {
    v.shape = it->second;
  } else if (x->shape.size() == 4) {
    const auto& s = x->shape;
    v.shape = {s[perm[0]], s[perm[1]], s[perm[2]], s[perm[3]]};
  }
  Alias(n, std::move(v));
  return OkStatus();
}

Status Importer::TranslateLayerNorm(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(const Value* v, Input(n, 0));
  const int64_t axis = IntAttr(n, "axis", -1);
  if (!v->channels_last || v->shape.size() != 4 || (axis != -1 && axis != 3)) {
    return Unsupported(n, "only a layer norm over the channels of an N,H,W,C tensor (its last axis) is imported");
  }
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0, false, /*any_layout=*/true));
  const int64_t channels = v->shape[3];
  if (channels <= 0) return Unsupported(n, "the channels of its input are not known");
  Params p{.weight = torch::ones({channels}), .bias = torch::zeros({channels})};
  if (n.input_size() > 1 && !n.input(1).empty()) {
    QG_ASSIGN_OR_RETURN(p.weight, ConstantInput(n, 1));
  }
  if (n.input_size() > 2 && !n.input(2).empty()) {
    QG_ASSIGN_OR_RETURN(p.bias, ConstantInput(n, 2));
  }
  if (p.weight.numel() != channels || p.bias.numel() != channels) {
    return Unsupported(n, fmt::format("scale and bias must hold one value per channel ({})", channels));
  }
  Node node{.op = Op::kLayerNorm, .inputs = {x}, .in_channels = channels, .out_channels = channels};
  node.eps = FloatAttr(n, "epsilon", 1e-5);
  params_[EmitInLayout(n, std::move(node), true)] = std::move(p);
  return OkStatus();
}

Status Importer::TranslateGelu(const onnx::NodeProto& n) {
  if (StringAttr(n, "approximate", "none") != "none") return Unsupported(n, "only the exact (erf) GELU is imported");
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0, false, /*any_layout=*/true));
  EmitInLayout(n, Node{.op = Op::kGELU, .inputs = {x}}, values_.at(n.input(0)).channels_last);
  return OkStatus();
}

Status Importer::TranslatePositionwiseMatMul(const onnx::NodeProto& n) {
  if (n.op_type() != "MatMul") return Unsupported(n, "on an N,H,W,C tensor only a MatMul by a constant is imported");
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0, false, /*any_layout=*/true));
  QG_ASSIGN_OR_RETURN(torch::Tensor b, ConstantInput(n, 1));
  const auto& shape = values_.at(n.input(0)).shape;
  if (b.dim() != 2 || shape.size() != 4 || b.size(0) != shape[3]) {
    return Unsupported(n, "the weight must be a 2-D initializer [channels, outputs]");
  }
  // x[n, h, w, :] @ B is a 1x1 conv with weight B^T.
  Node node{.op = Op::kConv2d, .inputs = {x}, .in_channels = b.size(0), .out_channels = b.size(1)};
  params_[EmitInLayout(n, std::move(node), true)] =
      Params{.weight = b.t().contiguous().reshape({b.size(1), b.size(0), 1, 1})};
  return OkStatus();
}

bool Importer::ReadOnlyOnward(int node) const {
  for (const auto& other : graph_.nodes) {
    if (std::find(other.inputs.begin(), other.inputs.end(), node) != other.inputs.end()) return false;
  }
  for (const auto& [name, v] : values_) {
    if (v.node != node) continue;
    auto it = readers_.find(name);
    if (it != readers_.end() && it->second != 1) return false;
  }
  return true;
}

bool Importer::OnChannelAxis(const Value& x, const Node& layer, const torch::Tensor& c) {
  if (c.numel() != layer.out_channels) return false;
  if (c.numel() == 1) return true;  // broadcasts along any axis
  const size_t from_right = x.channels_last || layer.op == Op::kLinear ? 1 : 3;
  const auto dims = c.sizes();
  return dims.size() >= from_right && dims[dims.size() - from_right] == layer.out_channels;
}

Status Importer::FoldConstantMul(const onnx::NodeProto& n, const Value& x, const torch::Tensor& c) {
  Node& layer = graph_.nodes[x.node];
  const bool layer_norm = layer.op == Op::kLayerNorm && x.channels_last;
  if (layer.op != Op::kConv2d && layer.op != Op::kLinear && !layer_norm) {
    return Unsupported(n,
                       "multiplies by a constant something other than a Conv's, MatMul's, Gemm's or "
                       "LayerNormalization's output");
  }
  // The constant must scale whole channels.
  if (c.numel() != 1 && !OnChannelAxis(x, layer, c)) {
    return Unsupported(n, "multiplies by a constant that is neither a scalar nor one per channel");
  }
  if (!ReadOnlyOnward(x.node)) {
    return Unsupported(n, "multiplies by a constant a layer's output that is read elsewhere too");
  }
  Params& p = params_[x.node];  // a layer norm's weight and bias are per channel too
  const torch::Tensor scale = c.to(torch::kFloat).reshape({-1}).expand({layer.out_channels});
  std::vector<int64_t> per_row(p.weight.dim(), 1);
  per_row[0] = -1;
  p.weight = p.weight * scale.reshape(per_row);
  if (p.bias.defined()) p.bias = p.bias.reshape({-1}) * scale;
  Alias(n, x);
  return OkStatus();
}

}  // namespace qg::onnx_export::internal
