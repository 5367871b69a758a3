#include "core/models/model_registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <functional>
#include <map>

#include "core/base/torch_call.h"
#include "core/models/model_zoo.h"

namespace qg::models {
namespace {

using Factory = std::function<Result<Graph>(const ModelOptions&)>;

const std::map<std::string, Factory>& Factories() {
  static const std::map<std::string, Factory> factories = {
      {"compact_cnn", BuildCompactCnn},
      {"resnet18_cifar", BuildResNet18Cifar},
      {"inception_v3", BuildInceptionV3},
  };
  return factories;
}

// torchvision's ResNet/Inception initialisation: Kaiming-normal convolutions
// (fan-out), unit BN scale. The compact CNN keeps LibTorch's defaults.
void TorchvisionInit(GraphModuleImpl& model) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < model.graph().nodes.size(); ++i) {
    if (auto conv = model.conv(static_cast<int>(i))) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    }
  }
  model.UseChannelsLast();
}

}  // namespace

std::vector<std::string> KnownModels() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Factories()) names.push_back(name);
  return names;
}

Result<Graph> BuildGraph(const std::string& name, const ModelOptions& options) {
  const auto it = Factories().find(name);
  if (it == Factories().end()) {
    return Error::InvalidArgument("unknown model '{}'; known: {}", name, fmt::join(KnownModels(), ", "));
  }
  if (options.in_channels <= 0 || options.num_classes <= 0) {
    return Error::InvalidArgument("model '{}': in_channels and num_classes must be positive", name);
  }
  return it->second(options);
}

Result<GraphModule> CreateModel(const std::string& name, const ModelOptions& options, uint64_t seed) {
  QG_ASSIGN_OR_RETURN(Graph graph, BuildGraph(name, options));
  return TorchCall(fmt::format("building model '{}'", name), [&] {
    torch::manual_seed(seed);
    GraphModule model(std::move(graph), ModelMeta{.model_name = name, .options = options.ToJson()});
    if (name != "compact_cnn") TorchvisionInit(*model);
    return model;
  });
}

}  // namespace qg::models
