// Batch transforms applied by the loader: normalization of uint8 images to
// float, and seeded augmentation (random crop with zero padding, horizontal
// flip). Augmentation draws its randomness from (seed, epoch, example index)
// alone, so an example is transformed the same way whatever the batch size,
// rank layout or resume point.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace qg::data {

// (x / 255 - mean[c]) / std[c] for uint8 [B,C,H,W]; returns float32.
torch::Tensor Normalize(const torch::Tensor& images_u8, const std::vector<float>& mean,
                        const std::vector<float>& std);

struct AugmentOptions {
  int64_t crop_padding = 0;      // 0 disables random cropping
  bool horizontal_flip = false;

  bool Enabled() const { return crop_padding > 0 || horizontal_flip; }
};

// Augments uint8 [B,C,H,W] images whose dataset indices are `indices`.
torch::Tensor Augment(const torch::Tensor& images_u8, const std::vector<int64_t>& indices,
                      const AugmentOptions& options, uint64_t seed, int64_t epoch);

}  // namespace qg::data
