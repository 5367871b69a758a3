// ImportOnnx: a user's FP32 ONNX model (architecture and trained weights) as
// a quantgrid model, so every strategy, measurement and export runs on it.
//
// The file goes through the ONNX checker and shape inference (libonnx), then
// each node becomes graph IR nodes (core/models/graph.h) with the
// initializers as parameters. What only computes a shape (Constant, Shape,
// Gather, Unsqueeze, Concat, ... on constants) is folded; Identity and
// Dropout vanish; Reshape and Transpose are accepted where they flatten or
// shuffle channels; MatMul + Add becomes a Linear. An op outside the set is
// an error naming the node, its op type and the supported set: nothing is
// silently dropped.
//
// The model takes one N,C,H,W float input (N may be dynamic) and its first
// output is the prediction, [N, classes].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/models/graph_module.h"

namespace qg::onnx_export {

struct ImportOptions {
  // What the file does not say (a dynamic H and W, channels): the spec's
  // "input" section or the CLI. A file that says otherwise is an error.
  std::optional<int64_t> image_size;
  std::optional<int64_t> channels;
  // The normalization the model was trained with (per channel, [0, 1]
  // scale); recorded with the model so its data is normalized the same way.
  std::vector<float> mean, std;
};

struct ImportedModel {
  models::GraphModule model{nullptr};
  int64_t in_channels = 0;
  int64_t image_size = 0;
  int64_t num_classes = 0;
  int64_t opset = 0;
  std::string sha256;  // of the file: part of every config hash that uses it
};

// Errors: NotFound for a missing file; Corruption for one that is not ONNX,
// is truncated or fails the checker; InvalidArgument for an opset outside
// 11..17, an input that is not 4-D, or an unsupported node (named, with its
// op type and the supported set).
Result<ImportedModel> ImportOnnx(const std::string& path, const ImportOptions& options = {});

// The ONNX op types the importer takes, for errors and documentation.
const std::vector<std::string>& SupportedOnnxOps();

inline constexpr int64_t kMinOnnxOpset = 11;
inline constexpr int64_t kMaxOnnxOpset = 17;

}  // namespace qg::onnx_export
