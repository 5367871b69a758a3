#include "core/models/fp32_inference.h"

#include <fmt/format.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/torch.h>

#include <chrono>

#include "core/base/cuda_check.h"
#include "core/base/torch_call.h"

namespace qg::models {
namespace {

// A float literal TorchScript parses as float ("1e-05", "0.1", "1.0").
std::string FloatLiteral(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string IntList(const std::array<int64_t, 2>& v) { return fmt::format("[{}, {}]", v[0], v[1]); }

std::string ParamName(int node, const char* what) { return fmt::format("n{}_{}", node, what); }

}  // namespace

std::string EmitTorchScript(const Graph& graph) {
  std::vector<char> needed(graph.nodes.size(), 0);
  needed[graph.outputs[0]] = 1;
  for (int i = static_cast<int>(graph.nodes.size()) - 1; i >= 0; --i) {
    if (needed[i]) {
      for (int in : graph.nodes[i].inputs) needed[in] = 1;
    }
  }
  std::string src = "def forward(self, x):\n";
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (!needed[i]) continue;
    const Node& n = graph.nodes[i];
    const int id = static_cast<int>(i);
    auto in = [&](size_t k) { return fmt::format("v{}", n.inputs[k]); };
    std::string expr;
    switch (n.op) {
      case Op::kInput:
        expr = "x";
        break;
      case Op::kConv2d:
        expr = fmt::format("torch.conv2d({}, self.{}, {}, {}, {}, {}, {})", in(0), ParamName(id, "w"),
                           n.bias ? "self." + ParamName(id, "b") : "None", IntList(n.stride), IntList(n.padding),
                           IntList(n.dilation), n.groups);
        break;
      case Op::kBatchNorm2d:
        expr = fmt::format("torch.batch_norm({}, self.{}, self.{}, self.{}, self.{}, False, {}, {}, False)", in(0),
                           ParamName(id, "w"), ParamName(id, "b"), ParamName(id, "rm"), ParamName(id, "rv"),
                           FloatLiteral(n.momentum), FloatLiteral(n.eps));
        break;
      case Op::kReLU:
        expr = fmt::format("torch.relu({})", in(0));
        break;
      case Op::kLinear:
        expr = fmt::format("torch.linear({}, self.{}, {})", in(0), ParamName(id, "w"),
                           n.bias ? "self." + ParamName(id, "b") : "None");
        break;
      case Op::kMaxPool2d:
        expr = fmt::format("torch.max_pool2d({}, {}, {}, {}, [1, 1], {})", in(0), IntList(n.kernel), IntList(n.stride),
                           IntList(n.padding), n.ceil_mode ? "True" : "False");
        break;
      case Op::kAvgPool2d:
        expr = fmt::format("torch.avg_pool2d({}, {}, {}, {}, {}, {})", in(0), IntList(n.kernel), IntList(n.stride),
                           IntList(n.padding), n.ceil_mode ? "True" : "False",
                           n.count_include_pad ? "True" : "False");
        break;
      case Op::kAdaptiveAvgPool2d:
        expr = fmt::format("torch.adaptive_avg_pool2d({}, {})", in(0), IntList(n.output_size));
        break;
      case Op::kFlatten:
        expr = fmt::format("torch.flatten({}, {})", in(0), n.dim);
        break;
      case Op::kDropout:
        expr = in(0);  // identity at inference
        break;
      case Op::kAdd:
        expr = fmt::format("torch.add({}, {})", in(0), in(1));
        break;
      case Op::kConcat: {
        std::string parts;
        for (size_t k = 0; k < n.inputs.size(); ++k) parts += (k ? ", " : "") + in(k);
        expr = fmt::format("torch.cat([{}], {})", parts, n.dim);
        break;
      }
      case Op::kMul:
        expr = fmt::format("torch.mul({}, {})", in(0), in(1));
        break;
      case Op::kClamp:
        expr = fmt::format("torch.clamp({}, {}, {})", in(0), FloatLiteral(n.clamp_min), FloatLiteral(n.clamp_max));
        break;
      case Op::kLeakyReLU:
        expr = fmt::format("torch.leaky_relu({}, {})", in(0), FloatLiteral(n.alpha));
        break;
      case Op::kSigmoid:
        expr = fmt::format("torch.sigmoid({})", in(0));
        break;
      case Op::kHardSigmoid:
        expr = fmt::format("torch.clamp({} * {} + {}, 0.0, 1.0)", in(0), FloatLiteral(n.alpha), FloatLiteral(n.beta));
        break;
      case Op::kHardSwish:
        expr = fmt::format("torch.hardswish({})", in(0));
        break;
      case Op::kChannelShuffle:
        expr = fmt::format("torch.channel_shuffle({}, {})", in(0), n.groups);
        break;
      case Op::kSlice:
        expr = fmt::format("torch.narrow({}, 1, {}, {})", in(0), n.start, n.out_channels);
        break;
      case Op::kLayerNorm:
        expr = fmt::format("torch.layer_norm({}.permute([0, 2, 3, 1]), [{}], self.{}, self.{}, {})"
                           ".permute([0, 3, 1, 2])",
                           in(0), n.out_channels, ParamName(id, "w"), ParamName(id, "b"), FloatLiteral(n.eps));
        break;
      case Op::kGELU:
        expr = fmt::format("torch.gelu({})", in(0));
        break;
    }
    src += fmt::format("    v{} = {}\n", id, expr);
  }
  src += fmt::format("    return v{}\n", graph.outputs[0]);
  return src;
}

Result<std::unique_ptr<CompiledFp32Model>> CompiledFp32Model::Compile(const GraphModule& model) {
  return TorchCall("compiling the FP32 model to TorchScript", [&] {
    torch::NoGradGuard no_grad;
    torch::jit::Module m("QuantgridFp32");
    const Graph& graph = model->graph();
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const int id = static_cast<int>(i);
      if (auto conv = model->conv(id)) {
        m.register_parameter(ParamName(id, "w"), conv->weight.detach().contiguous(), false);
        if (conv->bias.defined()) m.register_parameter(ParamName(id, "b"), conv->bias.detach(), false);
      } else if (auto lin = model->linear(id)) {
        m.register_parameter(ParamName(id, "w"), lin->weight.detach(), false);
        if (lin->bias.defined()) m.register_parameter(ParamName(id, "b"), lin->bias.detach(), false);
      } else if (auto bn = model->bn(id)) {
        m.register_parameter(ParamName(id, "w"), bn->weight.detach(), false);
        m.register_parameter(ParamName(id, "b"), bn->bias.detach(), false);
        m.register_buffer(ParamName(id, "rm"), bn->running_mean.detach());
        m.register_buffer(ParamName(id, "rv"), bn->running_var.detach());
      } else if (auto ln = model->layer_norm(id)) {
        m.register_parameter(ParamName(id, "w"), ln->weight.detach(), false);
        m.register_parameter(ParamName(id, "b"), ln->bias.detach(), false);
      }
    }
    m.define(EmitTorchScript(graph));
    m.eval();
    auto frozen = torch::jit::freeze(m);
    return std::unique_ptr<CompiledFp32Model>(new CompiledFp32Model(torch::jit::optimize_for_inference(frozen)));
  });
}

std::string CompiledFp32Model::Describe() const {
  return "fp32, TorchScript frozen + optimize_for_inference (oneDNN convolutions)";
}

torch::Tensor CompiledFp32Model::Predict(const torch::Tensor& images) {
  torch::InferenceMode guard;
  const auto threads = ThreadsFor(images);
  return module_.forward({images}).toTensor();
}

EagerFp32Model::EagerFp32Model(GraphModule model) : model_(std::move(model)) { model_->eval(); }

torch::Tensor EagerFp32Model::Predict(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  return model_->forward(images);
}

namespace {
// Each node's time: from the previous node's output to its own.
class LayerTimer final : public ForwardHooks {
 public:
  torch::Tensor AfterNode(int, const Node& n, torch::Tensor out) override {
    const auto now = std::chrono::steady_clock::now();
    if (n.op != Op::kInput) {
      times.push_back({n.name, std::string(OpName(n.op)), std::chrono::duration<double, std::milli>(now - last).count()});
    }
    last = now;
    return out;
  }
  std::vector<LayerTime> times;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
};
}  // namespace

std::vector<LayerTime> EagerFp32Model::PredictTimingLayers(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  LayerTimer timer;
  model_->ForwardAll(images, &timer);
  return std::move(timer.times);
}

DeviceModel::DeviceModel(GraphModule model, torch::Device device, torch::ScalarType dtype)
    : model_(std::move(model)), device_(device), dtype_(dtype) {
  model_->to(device_);
  // Module::to(dtype) casts integer buffers too: leave an fp32 model's alone.
  if (dtype_ != torch::kFloat32) model_->to(dtype_);
  model_->eval();
}

namespace {

const char* DtypeName(torch::ScalarType dtype) {
  return dtype == torch::kHalf ? "fp16" : dtype == torch::kBFloat16 ? "bf16" : "fp32";
}

}  // namespace

Result<std::unique_ptr<InferenceModel>> DeviceModel::OnCuda(const GraphModule& model, torch::ScalarType dtype) {
  QG_RETURN_IF_ERROR(RequireCuda(fmt::format("{} on cuda", DtypeName(dtype))));
  return TorchCall(fmt::format("{} model on cuda", DtypeName(dtype)), [&]() -> std::unique_ptr<InferenceModel> {
    return std::make_unique<DeviceModel>(CloneModel(model), torch::Device(torch::kCUDA), dtype);
  });
}

std::string DeviceModel::Describe() const {
  return fmt::format("{} weights and compute on {}, eager interpreter", DtypeName(dtype_), device_.str());
}

torch::Tensor DeviceModel::Predict(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  return model_->forward(images.to(device_, dtype_)).to(torch::kCPU, torch::kFloat32);
}

}  // namespace qg::models
