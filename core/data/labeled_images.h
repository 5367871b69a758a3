// LabeledImages: decoded pixels and labels in memory, the common output of the
// file-format readers (IDX, CIFAR-10 binary, synthetic). Plain C++ so the
// readers build without LibTorch; InMemoryDataset wraps it in tensors.
#pragma once

#include <cstdint>
#include <vector>

namespace qg::data {

struct LabeledImages {
  int64_t count = 0;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels;  // count x channels x height x width, row-major (NCHW)
  std::vector<int64_t> labels;  // count

  int64_t ImageBytes() const { return channels * height * width; }
};

}  // namespace qg::data
