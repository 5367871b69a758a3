// FakeCatalog: a Catalog with a fixed vocabulary, for experiments/ tests that
// must not link LibTorch. Strategy parameters: "observer" (one of Observers()),
// "calibration_size" (positive integer) for INT8 strategies; defaults filled.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "experiments/catalog.h"

namespace qg::testing {

class FakeCatalog final : public exp::Catalog {
 public:
  std::vector<std::string> Models() const override { return {"compact_cnn", "resnet18_cifar"}; }
  std::vector<std::string> Datasets() const override { return {"fashion-mnist", "synthetic"}; }
  std::vector<std::string> Strategies() const override { return {"fp32", "fp16", "naive_ptq", "bn_fold", "mpq"}; }
  std::vector<std::string> Engines() const override { return {"onednn", "qnnpack"}; }
  std::vector<std::string> Observers() const override { return {"minmax", "histogram", "entropy"}; }
  bool IsInt8Strategy(const std::string& s) const override { return s != "fp32" && s != "fp16"; }

  Result<nlohmann::json> ResolveStrategyParams(const std::string& strategy, const nlohmann::json& params,
                                               const std::string& path) const override {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : params.items()) {
      const bool mpq_choice = strategy == "mpq" && (key == "fp32_layers" || key == "objective" ||
                                                    key == "accuracy_budget" || key == "size_budget");
      if (mpq_choice) {
        out[key] = value;
        continue;
      }
      if (!IsInt8Strategy(strategy) || (key != "observer" && key != "calibration_size" && key != "weight_bits" &&
                                         key != "weight_granularity")) {
        return Error::InvalidArgument("{}: unknown parameter \"{}\"", path, key);
      }
    }
    if (!IsInt8Strategy(strategy)) return out;
    const std::string observer = params.value("observer", "minmax");
    const auto obs = Observers();
    if (std::find(obs.begin(), obs.end(), observer) == obs.end()) {
      return Error::InvalidArgument("{}.observer: unknown \"{}\"; known: {}", path, observer, fmt::join(obs, ", "));
    }
    out["observer"] = observer;
    out["calibration_size"] = params.value("calibration_size", 1000);
    out["weight_granularity"] = params.value("weight_granularity", "per_channel");
    if (params.contains("weight_bits")) out["weight_bits"] = params["weight_bits"];
    return out;
  }

  Result<nlohmann::json> ResolveRecipe(const nlohmann::json& recipe, const std::string& path) const override {
    nlohmann::json out{{"epochs", 3}, {"lr", 0.05}, {"seed", 0}};
    for (const auto& [key, value] : recipe.items()) {
      if (!out.contains(key)) return Error::InvalidArgument("{}.{}: unknown field", path, key);
      out[key] = value;
    }
    if (!(out["lr"].get<double>() > 0)) return Error::InvalidArgument("{}.lr: must be positive", path);
    return out;
  }
};

}  // namespace qg::testing
