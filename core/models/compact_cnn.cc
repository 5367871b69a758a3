#include "core/models/graph_builder.h"
#include "core/models/model_zoo.h"

namespace qg::models {

Result<Graph> BuildCompactCnn(const ModelOptions& o) {
  if (o.image_size < 8) return Error::InvalidArgument("compact_cnn needs images of at least 8x8 (got {})", o.image_size);
  constexpr int64_t kWidths[] = {32, 64, 128};
  constexpr int64_t kHidden = 256;
  GraphBuilder b(o.in_channels);
  int x = b.input();
  int64_t size = o.image_size;
  for (int i = 0; i < 3; ++i) {
    const std::string block = "block" + std::to_string(i + 1);
    x = b.ConvBnRelu(block, x, kWidths[i], {3, 3}, {1, 1}, {1, 1});
    x = b.MaxPool(block + ".pool", x, {2, 2}, {2, 2});
    size /= 2;
  }
  x = b.Flatten("flatten", x);
  x = b.Linear("fc1", x, kWidths[2] * size * size, kHidden);
  x = b.ReLU("fc1.relu", x);
  x = b.Dropout("dropout", x, o.dropout < 0 ? 0.25 : o.dropout);
  x = b.Linear("fc2", x, kHidden, o.num_classes);
  return b.Finish({x});
}

}  // namespace qg::models
