// GraphBuilder: the vocabulary model definitions are written in. Tracks the
// channel count of every value so a definition only states output widths.
//
//   GraphBuilder b(/*in_channels=*/1);
//   int x = b.ConvBnRelu("block1", b.input(), 32, {3, 3}, {1, 1}, {1, 1});
//   x = b.MaxPool("block1.pool", x, {2, 2}, {2, 2});
//   Graph g = b.Finish({b.Linear("fc", b.Flatten("flatten", x), 10)});
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/models/graph.h"

namespace qg::models {

using Pair = std::array<int64_t, 2>;

class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t in_channels);

  int input() const { return 0; }
  int64_t Channels(int value) const { return channels_[value]; }

  int Conv(const std::string& name, int x, int64_t out, Pair kernel, Pair stride = {1, 1}, Pair padding = {0, 0},
           bool bias = false);
  int BatchNorm(const std::string& name, int x, double eps = 1e-5);
  int ReLU(const std::string& name, int x);
  // "<prefix>.conv" (no bias) -> "<prefix>.bn" -> "<prefix>.relu" (when relu).
  int ConvBnRelu(const std::string& prefix, int x, int64_t out, Pair kernel, Pair stride = {1, 1},
                 Pair padding = {0, 0}, double bn_eps = 1e-5, bool relu = true);
  // Linear needs the flattened feature count, which depends on the image size.
  int Linear(const std::string& name, int x, int64_t in_features, int64_t out_features, bool bias = true);
  int MaxPool(const std::string& name, int x, Pair kernel, Pair stride, Pair padding = {0, 0}, bool ceil_mode = false);
  int AvgPool(const std::string& name, int x, Pair kernel, Pair stride, Pair padding = {0, 0},
              bool count_include_pad = true);
  int AdaptiveAvgPool(const std::string& name, int x, Pair output_size = {1, 1});
  int Flatten(const std::string& name, int x);
  int Dropout(const std::string& name, int x, double p);
  int Add(const std::string& name, int a, int b);
  int Concat(const std::string& name, const std::vector<int>& xs);

  Graph Finish(std::vector<int> outputs);

 private:
  int Push(Node node, int64_t channels);
  Graph graph_;
  std::vector<int64_t> channels_;
};

}  // namespace qg::models
