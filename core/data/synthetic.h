// Synthetic, seeded labelled images for tests and benchmarks: each class has a
// fixed random template and each example is its template plus noise, so small
// models can learn it in a few steps. Same seed, same bytes.
#pragma once

#include <cstdint>

#include "core/data/labeled_images.h"

namespace qg::data {

struct SyntheticOptions {
  int64_t count = 1024;
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  int64_t num_classes = 10;
  uint64_t seed = 0;        // picks the class templates
  uint64_t split_seed = 0;  // picks the noise: give train and test different ones
  double noise = 40.0;  // std-dev of the per-pixel noise, in 0-255 units
};

LabeledImages MakeSyntheticImages(const SyntheticOptions& options);

}  // namespace qg::data
