#include "core/models/model_options.h"

namespace qg::models {

nlohmann::json ModelOptions::ToJson() const {
  return {{"in_channels", in_channels}, {"image_size", image_size}, {"num_classes", num_classes},
          {"aux_logits", aux_logits}, {"dropout", dropout}};
}

Result<ModelOptions> ModelOptions::FromJson(const nlohmann::json& j) {
  try {
    ModelOptions o;
    o.in_channels = j.value("in_channels", o.in_channels);
    o.image_size = j.value("image_size", o.image_size);
    o.num_classes = j.value("num_classes", o.num_classes);
    o.aux_logits = j.value("aux_logits", o.aux_logits);
    o.dropout = j.value("dropout", o.dropout);
    return o;
  } catch (const nlohmann::json::exception& e) {
    return Error::InvalidArgument("model options: {}", e.what());
  }
}

}  // namespace qg::models
