#include "core/data/transforms.h"

#include <torch/torch.h>

namespace qg::data {
namespace {

// SplitMix64 (Vigna): a counter-based hash, so example i's draw needs no state.
uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

torch::Tensor Normalize(const torch::Tensor& images_u8, const std::vector<float>& mean,
                        const std::vector<float>& std) {
  const int64_t c = images_u8.size(1);
  auto m = torch::tensor(mean, torch::kFloat32).view({1, c, 1, 1}) * 255.0f;
  auto s = torch::tensor(std, torch::kFloat32).view({1, c, 1, 1}) * 255.0f;
  return (images_u8.to(torch::kFloat32) - m) / s;
}

torch::Tensor Augment(const torch::Tensor& images_u8, const std::vector<int64_t>& indices,
                      const AugmentOptions& options, uint64_t seed, int64_t epoch) {
  if (!options.Enabled()) return images_u8;
  const int64_t pad = options.crop_padding;
  const int64_t h = images_u8.size(2), w = images_u8.size(3);
  auto padded = pad > 0 ? torch::constant_pad_nd(images_u8, {pad, pad, pad, pad}, 0) : images_u8;
  auto out = torch::empty_like(images_u8);
  for (int64_t i = 0; i < images_u8.size(0); ++i) {
    const uint64_t r = SplitMix64(seed ^ SplitMix64(static_cast<uint64_t>(epoch) * 1000003u +
                                                    static_cast<uint64_t>(indices[i])));
    const int64_t dy = pad > 0 ? static_cast<int64_t>(r % (2 * pad + 1)) : 0;
    const int64_t dx = pad > 0 ? static_cast<int64_t>((r >> 16) % (2 * pad + 1)) : 0;
    auto img = padded[i].narrow(1, dy, h).narrow(2, dx, w);
    if (options.horizontal_flip && ((r >> 40) & 1)) img = img.flip({2});
    out[i].copy_(img);
  }
  return out;
}

}  // namespace qg::data
