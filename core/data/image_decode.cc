#include "core/data/image_decode.h"

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/base/files.h"

namespace qg::data {

Result<std::vector<uint8_t>> DecodeResizeCrop(const std::string& path, int resize_to, int crop) {
  QG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  int w = 0, h = 0, channels_in_file = 0;
  std::unique_ptr<unsigned char, decltype(&stbi_image_free)> pixels(
      stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()),
                            &w, &h, &channels_in_file, 3),
      &stbi_image_free);
  if (!pixels) return Error::Corruption("cannot decode image '{}': {}", path, stbi_failure_reason());

  // Shorter side to resize_to, keeping the aspect ratio (torchvision Resize(int)).
  const double scale = static_cast<double>(resize_to) / std::min(w, h);
  const int rw = std::max(crop, static_cast<int>(std::lround(w * scale)));
  const int rh = std::max(crop, static_cast<int>(std::lround(h * scale)));
  std::vector<uint8_t> resized(static_cast<size_t>(rw) * rh * 3);
  if (!stbir_resize_uint8(pixels.get(), w, h, 0, resized.data(), rw, rh, 0, 3)) {
    return Error::Internal("cannot resize image '{}' from {}x{} to {}x{}", path, w, h, rw, rh);
  }
  const int x0 = (rw - crop) / 2;
  const int y0 = (rh - crop) / 2;
  std::vector<uint8_t> chw(static_cast<size_t>(3) * crop * crop);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < crop; ++y) {
      for (int x = 0; x < crop; ++x) {
        chw[(static_cast<size_t>(c) * crop + y) * crop + x] = resized[(static_cast<size_t>(y0 + y) * rw + x0 + x) * 3 + c];
      }
    }
  }
  return chw;
}

}  // namespace qg::data
