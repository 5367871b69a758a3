#include "core/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace qg::data {

LabeledImages MakeSyntheticImages(const SyntheticOptions& o) {
  LabeledImages out;
  out.count = o.count;
  out.channels = o.channels;
  out.height = o.height;
  out.width = o.width;
  const int64_t bytes = out.ImageBytes();
  // Templates come from the seed alone, so train and test splits made with
  // different example seeds share classes when they share `seed`.
  std::mt19937_64 template_rng(o.seed * 0x9E3779B97F4A7C15ull + 1);
  std::uniform_real_distribution<double> uniform(30.0, 225.0);
  std::vector<double> templates(static_cast<size_t>(o.num_classes * bytes));
  for (auto& v : templates) v = uniform(template_rng);

  std::mt19937_64 rng((o.seed ^ (o.split_seed * 0xD1B54A32D192ED03ull)) + 7);
  std::normal_distribution<double> noise(0.0, o.noise);
  out.pixels.resize(static_cast<size_t>(o.count * bytes));
  out.labels.resize(static_cast<size_t>(o.count));
  for (int64_t i = 0; i < o.count; ++i) {
    const int64_t label = i % o.num_classes;
    out.labels[i] = label;
    for (int64_t p = 0; p < bytes; ++p) {
      const double v = templates[label * bytes + p] + noise(rng);
      out.pixels[i * bytes + p] = static_cast<uint8_t>(std::clamp(std::lround(v), 0l, 255l));
    }
  }
  return out;
}

}  // namespace qg::data
