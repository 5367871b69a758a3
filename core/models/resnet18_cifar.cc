#include "core/models/graph_builder.h"
#include "core/models/model_zoo.h"

namespace qg::models {
namespace {

// conv3x3-BN-ReLU-conv3x3-BN, plus a 1x1 conv-BN shortcut when the shape
// changes, then a residual Add and ReLU.
int BasicBlock(GraphBuilder& b, const std::string& name, int x, int64_t planes, int64_t stride) {
  const int64_t in = b.Channels(x);
  int y = b.ConvBnRelu(name + ".1", x, planes, {3, 3}, {stride, stride}, {1, 1});
  y = b.ConvBnRelu(name + ".2", y, planes, {3, 3}, {1, 1}, {1, 1}, 1e-5, /*relu=*/false);
  int shortcut = x;
  if (stride != 1 || in != planes) {
    shortcut = b.ConvBnRelu(name + ".shortcut", x, planes, {1, 1}, {stride, stride}, {0, 0}, 1e-5, /*relu=*/false);
  }
  return b.ReLU(name + ".relu", b.Add(name + ".add", y, shortcut));
}

}  // namespace

Result<Graph> BuildResNet18Cifar(const ModelOptions& o) {
  if (o.image_size < 8) return Error::InvalidArgument("resnet18_cifar needs images of at least 8x8 (got {})", o.image_size);
  GraphBuilder b(o.in_channels);
  int x = b.ConvBnRelu("stem", b.input(), 64, {3, 3}, {1, 1}, {1, 1});
  constexpr int64_t kPlanes[] = {64, 128, 256, 512};
  for (int layer = 0; layer < 4; ++layer) {
    for (int block = 0; block < 2; ++block) {
      const int64_t stride = (layer > 0 && block == 0) ? 2 : 1;
      x = BasicBlock(b, "layer" + std::to_string(layer + 1) + "." + std::to_string(block), x, kPlanes[layer], stride);
    }
  }
  x = b.AdaptiveAvgPool("avgpool", x);
  x = b.Flatten("flatten", x);
  x = b.Linear("fc", x, 512, o.num_classes);
  return b.Finish({x});
}

}  // namespace qg::models
