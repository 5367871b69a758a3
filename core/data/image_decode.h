// Image decoding and geometry for image-folder datasets, through Debian's stb
// (stb_image decodes JPEG/PNG/BMP, stb_image_resize resamples). No LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace qg::data {

// Decodes `path` to 3-channel RGB, resizes the shorter side to `resize_to`,
// center-crops `crop` x `crop`, and returns CHW bytes. Corruption names the
// file and stb's reason when it cannot be decoded.
Result<std::vector<uint8_t>> DecodeResizeCrop(const std::string& path, int resize_to, int crop);

}  // namespace qg::data
