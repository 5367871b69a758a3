#include "runner/torch_catalog.h"

#include "core/data/dataset_registry.h"
#include "core/models/model_registry.h"
#include "core/quant/engine.h"
#include "core/quant/observers.h"
#include "core/quant/strategy.h"
#include "core/train/train_options.h"

namespace qg::runner {

std::vector<std::string> TorchCatalog::Models() const { return models::KnownModels(); }
std::vector<std::string> TorchCatalog::Datasets() const { return data::KnownDatasets(); }
std::vector<std::string> TorchCatalog::Strategies() const { return quant::KnownStrategies(); }
std::vector<std::string> TorchCatalog::Engines() const { return quant::SupportedEngines(); }
std::vector<std::string> TorchCatalog::Observers() const { return quant::ObserverKinds(); }

bool TorchCatalog::IsInt8Strategy(const std::string& strategy) const {
  return strategy != "fp32" && strategy != "fp16";
}

Result<nlohmann::json> TorchCatalog::ResolveStrategyParams(const std::string& strategy, const nlohmann::json& params,
                                                           const std::string& path) const {
  QG_ASSIGN_OR_RETURN(const quant::Strategy* s, quant::FindStrategy(strategy));
  return s->ResolveParams(params, path);
}

Result<nlohmann::json> TorchCatalog::ResolveRecipe(const nlohmann::json& recipe, const std::string& path) const {
  QG_ASSIGN_OR_RETURN(auto options, train::TrainOptions::FromJson(recipe, path));
  return options.ToJson();
}

}  // namespace qg::runner
