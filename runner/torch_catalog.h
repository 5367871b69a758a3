// TorchCatalog: the experiments Catalog backed by the real registries (models,
// datasets, strategies, engines, observers, training recipe checks).
#pragma once

#include "experiments/catalog.h"

namespace qg::runner {

class TorchCatalog final : public exp::Catalog {
 public:
  std::vector<std::string> Models() const override;
  std::vector<std::string> Datasets() const override;
  std::vector<std::string> Strategies() const override;
  std::vector<std::string> Engines() const override;
  std::vector<std::string> Observers() const override;
  bool IsInt8Strategy(const std::string& strategy) const override;
  Result<nlohmann::json> ResolveStrategyParams(const std::string& strategy, const nlohmann::json& params,
                                               const std::string& path) const override;
  Result<nlohmann::json> ResolveRecipe(const nlohmann::json& recipe, const std::string& path) const override;
};

}  // namespace qg::runner
