// ExportFp32: one ONNX node (or none, for Dropout) per graph node.
#include <fmt/format.h>
#include <torch/torch.h>

#include "core/export/onnx_export.h"
#include "core/export/onnx_ops.h"
#include "core/models/model_options.h"

namespace qg::onnx_export {

using models::Op;

Result<onnx::ModelProto> ExportFp32(const models::GraphModule& model) {
  const auto& graph = model->graph();
  const auto& meta = model->meta();
  QG_ASSIGN_OR_RETURN(auto options, models::ModelOptions::FromJson(meta.options));
  OnnxGraphWriter w(meta.model_name, fmt::format("quantgrid FP32 export of {}", meta.model_name));
  w.SetMetadata("quantgrid.model", meta.model_name);
  w.SetMetadata("quantgrid.precision", "fp32");
  w.AddImageInput(kInputName, options.in_channels, options.image_size, options.image_size);

  std::vector<std::string> value(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const auto& n = graph.nodes[i];
    auto in = [&](size_t k) -> const std::string& { return value[n.inputs[k]]; };
    switch (n.op) {
      case Op::kInput:
        value[i] = kInputName;
        break;
      case Op::kConv2d: {
        auto conv = model->conv(static_cast<int>(i));
        QG_ASSIGN_OR_RETURN(auto p, AddFloatWeights(w, n.name, conv->weight, conv->bias));
        value[i] = EmitConv(w, n.name, in(0), p.weight, p.bias, n.kernel, n.stride, n.padding, n.groups, n.dilation);
        break;
      }
      case Op::kBatchNorm2d: {
        auto bn = model->bn(static_cast<int>(i));
        QG_ASSIGN_OR_RETURN(value[i],
                            EmitBatchNorm(w, n.name, in(0), bn->weight, bn->bias, bn->running_mean, bn->running_var,
                                          bn->options.eps()));
        break;
      }
      case Op::kReLU:
        value[i] = EmitSimple(w, "Relu", n.name, {in(0)});
        break;
      case Op::kLayerNorm: {
        auto ln = model->layer_norm(static_cast<int>(i));
        QG_ASSIGN_OR_RETURN(value[i], EmitChannelLayerNorm(w, n.name, in(0), ln->weight, ln->bias, n.eps));
        break;
      }
      case Op::kLinear: {
        auto linear = model->linear(static_cast<int>(i));
        QG_ASSIGN_OR_RETURN(auto p, AddFloatWeights(w, n.name, linear->weight, linear->bias));
        value[i] = EmitGemm(w, n.name, in(0), p.weight, p.bias);
        break;
      }
      case Op::kMaxPool2d:
        value[i] = EmitMaxPool(w, n.name, in(0), n.kernel, n.stride, n.padding, n.ceil_mode);
        break;
      case Op::kAvgPool2d:
        value[i] = EmitAvgPool(w, n.name, in(0), n.kernel, n.stride, n.padding, n.ceil_mode, n.count_include_pad);
        break;
      case Op::kAdaptiveAvgPool2d: {
        QG_ASSIGN_OR_RETURN(value[i], EmitAdaptiveAvgPool(w, n.name, in(0), n.output_size));
        break;
      }
      case Op::kFlatten: {
        QG_ASSIGN_OR_RETURN(value[i], EmitFlatten(w, n.name, in(0), n.dim));
        break;
      }
      case Op::kDropout:  // identity at inference
        value[i] = in(0);
        break;
      case Op::kAdd:
        value[i] = EmitSimple(w, "Add", n.name, {in(0), in(1)});
        break;
      case Op::kConcat: {
        std::vector<std::string> parts;
        for (int k : n.inputs) parts.push_back(value[k]);
        value[i] = EmitConcat(w, n.name, parts, n.dim);
        break;
      }
      default: {  // the parameter-free ops of imported models
        std::vector<std::string> inputs;
        for (int k : n.inputs) inputs.push_back(value[k]);
        QG_ASSIGN_OR_RETURN(value[i], EmitActivation(w, n.name, n, inputs));
        break;
      }
    }
  }
  EmitSimple(w, "Identity", kOutputName, {value[graph.outputs.at(0)]});
  w.AddLogitsOutput(kOutputName, options.num_classes);
  return w.Release();
}

}  // namespace qg::onnx_export
