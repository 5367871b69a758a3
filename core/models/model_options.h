// ModelOptions: what a model definition needs to know about its data.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

#include "core/base/result.h"

namespace qg::models {

struct ModelOptions {
  int64_t in_channels = 3;
  int64_t image_size = 32;  // square inputs
  int64_t num_classes = 10;
  bool aux_logits = false;  // inception_v3 only
  double dropout = -1;      // < 0: the architecture's default

  nlohmann::json ToJson() const;
  static Result<ModelOptions> FromJson(const nlohmann::json& j);
};

}  // namespace qg::models
