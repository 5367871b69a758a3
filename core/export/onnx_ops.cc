#include "core/export/onnx_ops.h"

#include <torch/torch.h>

#include <cmath>

namespace qg::onnx_export {

Result<WeightNames> AddFloatWeights(OnnxGraphWriter& w, const std::string& name, const torch::Tensor& weight,
                                    const torch::Tensor& bias) {
  WeightNames names;
  QG_ASSIGN_OR_RETURN(names.weight, w.AddInitializer(name + ".weight", weight.detach().contiguous()));
  if (bias.defined()) {
    QG_ASSIGN_OR_RETURN(names.bias, w.AddInitializer(name + ".bias", bias.detach().contiguous()));
  }
  return names;
}

std::string EmitConv(OnnxGraphWriter& w, const std::string& name, const std::string& x, const std::string& weight,
                     const std::string& bias, const Pair& kernel, const Pair& stride, const Pair& padding,
                     int64_t groups, const Pair& dilation) {
  std::vector<std::string> inputs{x, weight};
  if (!bias.empty()) inputs.push_back(bias);
  auto& node = w.AddNode("Conv", name, inputs, {name});
  OnnxGraphWriter::SetInts(node, "kernel_shape", {kernel[0], kernel[1]});
  OnnxGraphWriter::SetInts(node, "strides", {stride[0], stride[1]});
  OnnxGraphWriter::SetInts(node, "pads", OnnxPads(padding));
  OnnxGraphWriter::SetInts(node, "dilations", {dilation[0], dilation[1]});
  OnnxGraphWriter::SetInt(node, "group", groups);
  return name;
}

std::string EmitGemm(OnnxGraphWriter& w, const std::string& name, const std::string& x, const std::string& weight,
                     const std::string& bias) {
  std::vector<std::string> inputs{x, weight};
  if (!bias.empty()) inputs.push_back(bias);
  auto& node = w.AddNode("Gemm", name, inputs, {name});
  OnnxGraphWriter::SetInt(node, "transB", 1);
  return name;
}

Result<std::string> EmitBatchNorm(OnnxGraphWriter& w, const std::string& name, const std::string& x,
                                  const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& mean,
                                  const torch::Tensor& var, double eps) {
  auto f = [](const torch::Tensor& t) { return t.detach().to(torch::kFloat); };
  QG_ASSIGN_OR_RETURN(auto scale_name, w.AddInitializer(name + ".weight", f(weight)));
  QG_ASSIGN_OR_RETURN(auto bias_name, w.AddInitializer(name + ".bias", f(bias)));
  QG_ASSIGN_OR_RETURN(auto mean_name, w.AddInitializer(name + ".running_mean", f(mean)));
  QG_ASSIGN_OR_RETURN(auto var_name, w.AddInitializer(name + ".running_var", f(var)));
  auto& node = w.AddNode("BatchNormalization", name, {x, scale_name, bias_name, mean_name, var_name}, {name});
  OnnxGraphWriter::SetFloat(node, "epsilon", static_cast<float>(eps));
  return name;
}

Result<std::string> EmitChannelLayerNorm(OnnxGraphWriter& w, const std::string& name, const std::string& x,
                                         const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  auto per_channel = [](const torch::Tensor& t) { return t.detach().to(torch::kFloat).reshape({1, -1, 1, 1}); };
  QG_ASSIGN_OR_RETURN(auto scale, w.AddInitializer(name + ".weight", per_channel(weight)));
  QG_ASSIGN_OR_RETURN(auto shift, w.AddInitializer(name + ".bias", per_channel(bias)));
  QG_ASSIGN_OR_RETURN(auto epsilon, w.AddInitializer(name + ":eps", torch::tensor(static_cast<float>(eps))));
  auto mean = [&](const std::string& in, const std::string& out) {
    auto& node = w.AddNode("ReduceMean", out, {in}, {out});
    OnnxGraphWriter::SetInts(node, "axes", {1});
    return out;
  };
  const std::string centred = EmitSimple(w, "Sub", name + ":centred", {x, mean(x, name + ":mean")});
  const std::string square = EmitSimple(w, "Mul", name + ":square", {centred, centred});
  const std::string var = EmitSimple(w, "Add", name + ":var", {mean(square, name + ":mean_square"), epsilon});
  const std::string normed =
      EmitSimple(w, "Div", name + ":normed", {centred, EmitSimple(w, "Sqrt", name + ":std", {var})});
  return EmitSimple(w, "Add", name, {EmitSimple(w, "Mul", name + ":scaled", {normed, scale}), shift});
}

std::string EmitMaxPool(OnnxGraphWriter& w, const std::string& name, const std::string& x, const Pair& kernel,
                        const Pair& stride, const Pair& padding, bool ceil_mode) {
  auto& node = w.AddNode("MaxPool", name, {x}, {name});
  OnnxGraphWriter::SetInts(node, "kernel_shape", {kernel[0], kernel[1]});
  OnnxGraphWriter::SetInts(node, "strides", {stride[0], stride[1]});
  OnnxGraphWriter::SetInts(node, "pads", OnnxPads(padding));
  OnnxGraphWriter::SetInt(node, "ceil_mode", ceil_mode ? 1 : 0);
  return name;
}

std::string EmitAvgPool(OnnxGraphWriter& w, const std::string& name, const std::string& x, const Pair& kernel,
                        const Pair& stride, const Pair& padding, bool ceil_mode, bool count_include_pad) {
  auto& node = w.AddNode("AveragePool", name, {x}, {name});
  OnnxGraphWriter::SetInts(node, "kernel_shape", {kernel[0], kernel[1]});
  OnnxGraphWriter::SetInts(node, "strides", {stride[0], stride[1]});
  OnnxGraphWriter::SetInts(node, "pads", OnnxPads(padding));
  OnnxGraphWriter::SetInt(node, "ceil_mode", ceil_mode ? 1 : 0);
  OnnxGraphWriter::SetInt(node, "count_include_pad", count_include_pad ? 1 : 0);
  return name;
}

Result<std::string> EmitAdaptiveAvgPool(OnnxGraphWriter& w, const std::string& name, const std::string& x,
                                        const Pair& output_size) {
  if (output_size != Pair{1, 1}) {
    return Error::InvalidArgument("ONNX export: '{}' is an adaptive average pool to {}x{}; only 1x1 exports", name,
                                  output_size[0], output_size[1]);
  }
  w.AddNode("GlobalAveragePool", name, {x}, {name});
  return name;
}

Result<std::string> EmitFlatten(OnnxGraphWriter& w, const std::string& name, const std::string& x, int64_t dim,
                                bool nhwc) {
  if (dim != 1) return Error::InvalidArgument("ONNX export: '{}' flattens from dim {}; only dim 1 exports", name, dim);
  std::string in = x;
  if (nhwc) {
    in = name + ":nhwc";
    auto& t = w.AddNode("Transpose", in, {x}, {in});
    OnnxGraphWriter::SetInts(t, "perm", {0, 2, 3, 1});
  }
  auto& node = w.AddNode("Flatten", name, {in}, {name});
  OnnxGraphWriter::SetInt(node, "axis", 1);
  return name;
}

std::string EmitSimple(OnnxGraphWriter& w, const std::string& op, const std::string& name,
                       const std::vector<std::string>& inputs) {
  w.AddNode(op, name, inputs, {name});
  return name;
}

Result<std::string> EmitActivation(OnnxGraphWriter& w, const std::string& name, const models::Node& fn,
                                   const std::vector<std::string>& inputs) {
  using models::Op;
  switch (fn.op) {
    case Op::kMul:
      return EmitSimple(w, "Mul", name, inputs);
    case Op::kSigmoid:
      return EmitSimple(w, "Sigmoid", name, inputs);
    case Op::kGELU: {
      QG_ASSIGN_OR_RETURN(auto root2, w.AddInitializer(name + ":sqrt2", torch::tensor(static_cast<float>(M_SQRT2))));
      QG_ASSIGN_OR_RETURN(auto one, w.AddInitializer(name + ":one", torch::tensor(1.0f)));
      QG_ASSIGN_OR_RETURN(auto half, w.AddInitializer(name + ":half", torch::tensor(0.5f)));
      const std::string erf =
          EmitSimple(w, "Erf", name + ":erf", {EmitSimple(w, "Div", name + ":scaled", {inputs[0], root2})});
      const std::string gate = EmitSimple(w, "Add", name + ":gate", {erf, one});
      return EmitSimple(w, "Mul", name, {EmitSimple(w, "Mul", name + ":gated", {inputs[0], gate}), half});
    }
    case Op::kClamp: {
      QG_ASSIGN_OR_RETURN(auto lo, w.AddInitializer(name + ":min", torch::tensor(static_cast<float>(fn.clamp_min))));
      QG_ASSIGN_OR_RETURN(auto hi, w.AddInitializer(name + ":max", torch::tensor(static_cast<float>(fn.clamp_max))));
      return EmitSimple(w, "Clip", name, {inputs[0], lo, hi});
    }
    case Op::kLeakyReLU: {
      auto& node = w.AddNode("LeakyRelu", name, {inputs[0]}, {name});
      OnnxGraphWriter::SetFloat(node, "alpha", static_cast<float>(fn.alpha));
      return name;
    }
    case Op::kHardSigmoid:
    case Op::kHardSwish: {
      const bool swish = fn.op == Op::kHardSwish;
      const std::string gate = swish ? name + ":gate" : name;
      auto& node = w.AddNode("HardSigmoid", gate, {inputs[0]}, {gate});
      OnnxGraphWriter::SetFloat(node, "alpha", static_cast<float>(swish ? 1.0 / 6.0 : fn.alpha));
      OnnxGraphWriter::SetFloat(node, "beta", static_cast<float>(swish ? 0.5 : fn.beta));
      return swish ? EmitSimple(w, "Mul", name, {inputs[0], gate}) : gate;
    }
    case Op::kChannelShuffle: {
      // (N, g, C/g, H*W) -> swap the groups -> back to the input's own shape.
      if (fn.out_channels <= 0) return Error::InvalidArgument("ONNX export: '{}' does not know its channels", name);
      QG_ASSIGN_OR_RETURN(auto split, w.AddInitializer(name + ":split", torch::tensor(std::vector<int64_t>{
                                                                           0, fn.groups, fn.out_channels / fn.groups, -1})));
      // Back to the input's shape, written as constants where shape inference
      // knows its height and width: from a Shape node, the symbolic batch
      // leaves the output's shape open, and ONNX Runtime then runs every conv
      // after it in NCHW (it puts a conv channels-last only when it knows the
      // input's rank): ShuffleNetV2's convs took 15.2 ms at batch 32 that way,
      // 4.5 channels-last (ONNX Runtime's profiler).
      std::string shape = name + ":shape";
      if (const auto dims = w.InferredDims(inputs[0]); dims && dims->size() == 4 && (*dims)[2] > 0 && (*dims)[3] > 0) {
        QG_ASSIGN_OR_RETURN(
            shape,
            w.AddInitializer(shape, torch::tensor(std::vector<int64_t>{0, fn.out_channels, (*dims)[2], (*dims)[3]})));
      } else {
        w.AddNode("Shape", shape, {inputs[0]}, {shape});
      }
      w.AddNode("Reshape", name + ":groups", {inputs[0], split}, {name + ":groups"});
      auto& t = w.AddNode("Transpose", name + ":swap", {name + ":groups"}, {name + ":swap"});
      OnnxGraphWriter::SetInts(t, "perm", {0, 2, 1, 3});
      return EmitSimple(w, "Reshape", name, {name + ":swap", shape});
    }
    case Op::kSlice: {
      auto ints = [&](const char* what, int64_t v) {
        return w.AddInitializer(name + ":" + what, torch::tensor(std::vector<int64_t>{v}));
      };
      QG_ASSIGN_OR_RETURN(auto starts, ints("starts", fn.start));
      QG_ASSIGN_OR_RETURN(auto ends, ints("ends", fn.start + fn.out_channels));
      QG_ASSIGN_OR_RETURN(auto axes, ints("axes", 1));
      return EmitSimple(w, "Slice", name, {inputs[0], starts, ends, axes});
    }
    default:
      return Error::InvalidArgument("ONNX export: '{}' ({}) has no ONNX form here", name, models::OpName(fn.op));
  }
}

std::string EmitConcat(OnnxGraphWriter& w, const std::string& name, const std::vector<std::string>& inputs,
                       int64_t axis) {
  auto& node = w.AddNode("Concat", name, inputs, {name});
  OnnxGraphWriter::SetInt(node, "axis", axis);
  return name;
}

Result<std::string> EmitQuantDequant(OnnxGraphWriter& w, const std::string& name, const std::string& x,
                                     const quant::QParams& q) {
  if (q.zero_point < 0 || q.zero_point > 255) {
    return Error::InvalidArgument("ONNX export: '{}' has zero point {}, outside uint8", name, q.zero_point);
  }
  QG_ASSIGN_OR_RETURN(auto scale, w.AddInitializer(name + ":scale", torch::tensor(static_cast<float>(q.scale))));
  QG_ASSIGN_OR_RETURN(auto zp, w.AddInitializer(name + ":zero_point",
                                                torch::tensor(static_cast<uint8_t>(q.zero_point), torch::kByte)));
  w.AddNode("QuantizeLinear", name + ":q", {x, scale, zp}, {name + ":q"});
  w.AddNode("DequantizeLinear", name + ":dq", {name + ":q", scale, zp}, {name + ":dq"});
  return name + ":dq";
}

namespace {

// Scales (float) and zero points (`zp_type`) of a quantized weight, with the
// DequantizeLinear axis; per-tensor weights give rank-0 tensors.
struct WeightQParams {
  torch::Tensor scales;
  torch::Tensor zero_points;
  bool per_channel = false;
};

Result<WeightQParams> WeightQParamsOf(const std::string& name, const torch::Tensor& qweight) {
  WeightQParams p;
  if (qweight.qscheme() == torch::kPerChannelAffine || qweight.qscheme() == torch::kPerChannelSymmetric) {
    if (qweight.q_per_channel_axis() != 0) {
      return Error::InvalidArgument("ONNX export: '{}' is quantized per channel along axis {}, not 0", name,
                                    qweight.q_per_channel_axis());
    }
    p.scales = qweight.q_per_channel_scales().to(torch::kFloat);
    p.zero_points = qweight.q_per_channel_zero_points();
    p.per_channel = true;
  } else {
    p.scales = torch::tensor(static_cast<float>(qweight.q_scale()));
    p.zero_points = torch::tensor(qweight.q_zero_point());
  }
  return p;
}

}  // namespace

ChannelQParams PerOutputChannel(const torch::Tensor& qweight) {
  if (qweight.qscheme() == torch::kPerChannelAffine || qweight.qscheme() == torch::kPerChannelSymmetric) {
    return {qweight.q_per_channel_scales().to(torch::kDouble), qweight.q_per_channel_zero_points().to(torch::kLong)};
  }
  const int64_t channels = qweight.size(0);
  return {torch::full({channels}, qweight.q_scale(), torch::kDouble),
          torch::full({channels}, qweight.q_zero_point(), torch::kLong)};
}

Result<std::string> EmitInt8Weight(OnnxGraphWriter& w, const std::string& name, const torch::Tensor& qweight) {
  if (qweight.scalar_type() != torch::kQInt8) {
    return Error::InvalidArgument("ONNX export: '{}' weight is {}, not qint8", name, c10::toString(qweight.scalar_type()));
  }
  QG_ASSIGN_OR_RETURN(auto p, WeightQParamsOf(name, qweight));
  QG_ASSIGN_OR_RETURN(auto data, w.AddInitializer(name + ".weight:int8", qweight.int_repr().contiguous()));
  QG_ASSIGN_OR_RETURN(auto scale, w.AddInitializer(name + ".weight:scale", p.scales));
  QG_ASSIGN_OR_RETURN(auto zp, w.AddInitializer(name + ".weight:zero_point", p.zero_points.to(torch::kChar)));
  auto& dq = w.AddNode("DequantizeLinear", name + ".weight:dq", {data, scale, zp}, {name + ".weight:dq"});
  if (p.per_channel) OnnxGraphWriter::SetInt(dq, "axis", 0);
  return name + ".weight:dq";
}

Result<std::string> EmitInt32Bias(OnnxGraphWriter& w, const std::string& name, const torch::Tensor& bias,
                                  double input_scale, const torch::Tensor& qweight) {
  QG_ASSIGN_OR_RETURN(auto p, WeightQParamsOf(name, qweight));
  // Computed in double so the int32 values round like a fused kernel's would.
  const torch::Tensor scale = (p.scales.to(torch::kDouble) * input_scale).expand({bias.size(0)}).contiguous();
  const torch::Tensor q = torch::round(bias.detach().to(torch::kDouble) / scale).to(torch::kInt);
  QG_ASSIGN_OR_RETURN(auto data, w.AddInitializer(name + ".bias:int32", q));
  QG_ASSIGN_OR_RETURN(auto s, w.AddInitializer(name + ".bias:scale", scale.to(torch::kFloat)));
  QG_ASSIGN_OR_RETURN(auto zp, w.AddInitializer(name + ".bias:zero_point", torch::zeros({bias.size(0)}, torch::kInt)));
  auto& dq = w.AddNode("DequantizeLinear", name + ".bias:dq", {data, s, zp}, {name + ".bias:dq"});
  OnnxGraphWriter::SetInt(dq, "axis", 0);
  return name + ".bias:dq";
}

}  // namespace qg::onnx_export
