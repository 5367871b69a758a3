// Catalog: what an experiment spec may name, and how strategy parameters and
// training recipes are checked. The real catalog reads LibTorch-side
// registries (runner/torch_catalog.h); experiments/ stays LibTorch-free
// and tests use a fake.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/base/result.h"

namespace qg::exp {

class Catalog {
 public:
  virtual ~Catalog() = default;
  virtual std::vector<std::string> Models() const = 0;
  virtual std::vector<std::string> Datasets() const = 0;
  virtual std::vector<std::string> Strategies() const = 0;
  virtual std::vector<std::string> Engines() const = 0;
  virtual std::vector<std::string> Observers() const = 0;
  // INT8 strategies: they take an observer, a calibration size and an engine.
  virtual bool IsInt8Strategy(const std::string& strategy) const = 0;
  // Parameters with defaults filled in; InvalidArgument naming "<path>.<param>".
  virtual Result<nlohmann::json> ResolveStrategyParams(const std::string& strategy, const nlohmann::json& params,
                                                       const std::string& path) const = 0;
  // The training recipe with defaults filled in; InvalidArgument naming the field.
  virtual Result<nlohmann::json> ResolveRecipe(const nlohmann::json& recipe, const std::string& path) const = 0;
};

}  // namespace qg::exp
