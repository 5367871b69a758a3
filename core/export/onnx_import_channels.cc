// The importer's translations of ops that move channels: Reshape, Flatten and
// Transpose (a flatten, a channel shuffle's three steps, or to N,H,W,C and
// back: onnx_import_layout.cc), Concat, and
// Slice or Split of channels. The rest are in onnx_import_ops.cc.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/export/internal/onnx_importer.h"

namespace qg::onnx_export::internal {

// Reshape: a flatten, or a channel shuffle's three steps.
Status Importer::TranslateReshape(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(const Value* x, Input(n, 0));
  if (x->node < 0) return Unsupported(n, "reshapes a constant");
  if (n.op_type() == "Transpose" && x->shuffle_stage == 0) {
    const auto perm = IntsAttr(n, "perm", {});
    if (perm == std::vector<int64_t>{0, 2, 3, 1} || perm == std::vector<int64_t>{0, 3, 1, 2}) {
      return TranslateLayoutTranspose(n, perm);
    }
  }
  if (x->channels_last) {
    return Unsupported(n, "reshapes an N,H,W,C tensor (transpose it back to N,C,H,W first)");
  }
  const int source = x->node;
  const auto in = graph_.nodes[source];
  const std::vector<int64_t> shape = x->shape;
  if (n.op_type() == "Flatten") {
    if (IntAttr(n, "axis", 1) != 1) return Unsupported(n, "only a flatten from axis 1 is imported");
    Emit(n, Node{.op = Op::kFlatten, .inputs = {source}, .dim = 1});
    return OkStatus();
  }
  if (n.op_type() == "Transpose") {
    if (x->shuffle_stage != 1 || IntsAttr(n, "perm", {}) != std::vector<int64_t>{0, 2, 1, 3, 4}) {
      return Unsupported(n, "a transpose is imported only inside a channel shuffle (reshape, transpose, reshape) "
                            "or to N,H,W,C and back");
    }
    Value v = *x;
    v.shuffle_stage = 2;
    Alias(n, std::move(v));
    return OkStatus();
  }
  QG_ASSIGN_OR_RETURN(std::vector<int64_t> target, IntsInput(n, 1));
  if (x->shuffle_stage == 2) {
    if (target.size() != 4) return Unsupported(n, "ends a channel shuffle with a shape that is not N, C, H, W");
    Emit(n, Node{.op = Op::kChannelShuffle, .inputs = {source}, .in_channels = shape[1], .out_channels = shape[1],
                 .groups = x->shuffle_groups});
    return OkStatus();
  }
  if (target.size() == 2 && (target[0] == kBatch || target[0] == 0 || target[0] == -1 || target[0] == shape[0])) {
    Emit(n, Node{.op = Op::kFlatten, .inputs = {source}, .dim = 1});
    return OkStatus();
  }
  if (target.size() == 5 && shape.size() == 4 && shape[1] > 0 && target[1] > 0 && target[1] * target[2] == shape[1]) {
    Value v = *x;  // (N, g, C/g, H, W): the first step of a channel shuffle
    v.shuffle_stage = 1;
    v.shuffle_groups = static_cast<int>(target[1]);
    Alias(n, std::move(v));
    return OkStatus();
  }
  return Unsupported(n, fmt::format("reshape to [{}] is neither a flatten nor a channel shuffle",
                                    fmt::join(target, ", ")));
}

Status Importer::TranslateConcat(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(const Value* first, Input(n, 0));
  if (first->ints) return TranslateShapeMath(n);  // pieces of a shape
  const int64_t axis = IntAttr(n, "axis", 1);
  if (axis != 1 && axis != -3) return Unsupported(n, "only a concat along channels (axis 1) is imported");
  Node node{.op = Op::kConcat, .dim = 1};
  for (int i = 0; i < n.input_size(); ++i) {
    QG_ASSIGN_OR_RETURN(int x, GraphInput(n, i));
    node.inputs.push_back(x);
  }
  if (node.inputs.size() == 1) {  // a concat of one value is that value
    Alias(n, values_.at(n.input(0)));
    return OkStatus();
  }
  Emit(n, std::move(node));
  return OkStatus();
}

// A slice of channels (ShuffleNetV2 splits its input in two halves): Slice
// of axis 1 with step 1, or Split of axis 1, one slice per output. Its bounds
// are constants or computed from Shape nodes (folded).
Status Importer::TranslateSlice(const onnx::NodeProto& n) {
  QG_ASSIGN_OR_RETURN(int x, GraphInput(n, 0));
  const std::vector<int64_t>& shape = values_.at(n.input(0)).shape;
  if (shape.size() != 4 || shape[1] <= 0) return Unsupported(n, "the channels of its input are not known");
  const int64_t channels = shape[1];
  auto emit = [&](int output, int64_t start, int64_t length) {
    if (start == 0 && length == channels) {  // all of it: the value itself
      values_[n.output(output)] = values_.at(n.input(0));
      return;
    }
    Emit(n, Node{.op = Op::kSlice, .inputs = {x}, .in_channels = channels, .out_channels = length, .start = start},
         output);
  };
  auto of_channels = [](int64_t axis) { return axis == 1 || axis == -3; };
  const bool inputs = n.input_size() > 1;  // opset 10+ (Slice) and 13+ (Split) take them as inputs
  auto optional_ints = [&](int i, const char* attr) -> Result<std::vector<int64_t>> {
    if (inputs) {
      if (n.input_size() > i && !n.input(i).empty()) return IntsInput(n, i);
      return std::vector<int64_t>{};
    }
    return IntsAttr(n, attr, {});
  };
  if (n.op_type() == "Split") {
    if (!of_channels(IntAttr(n, "axis", 0))) return Unsupported(n, "only a split of channels (axis 1) is imported");
    QG_ASSIGN_OR_RETURN(auto sizes, optional_ints(1, "split"));
    const int64_t outputs = n.output_size();
    if (sizes.empty() && outputs > 0 && channels % outputs == 0) sizes.assign(outputs, channels / outputs);
    int64_t total = 0;
    bool fits = static_cast<int64_t>(sizes.size()) == outputs;
    for (int64_t size : sizes) {
      if (size <= 0 || size > channels - total) {
        fits = false;
        break;
      }
      total += size;
    }
    if (!fits || total != channels) {
      return Unsupported(n, fmt::format("splits {} channels into [{}]", channels, fmt::join(sizes, ", ")));
    }
    int64_t start = 0;
    for (int i = 0; i < outputs; ++i) {
      emit(i, start, sizes[i]);
      start += sizes[i];
    }
    return OkStatus();
  }
  QG_ASSIGN_OR_RETURN(auto starts, optional_ints(1, "starts"));
  QG_ASSIGN_OR_RETURN(auto ends, optional_ints(2, "ends"));
  QG_ASSIGN_OR_RETURN(auto axes, optional_ints(3, "axes"));
  QG_ASSIGN_OR_RETURN(auto steps, optional_ints(4, ""));
  if (axes.empty()) axes = {0};
  if (starts.size() != 1 || ends.size() != 1 || axes.size() != 1) {
    return Unsupported(n, "only a slice of one axis is imported");
  }
  if (!of_channels(axes[0])) return Unsupported(n, "only a slice of channels (axis 1) is imported");
  if (!steps.empty() && (steps.size() != 1 || steps[0] != 1)) {
    return Unsupported(n, "only a slice with step 1 is imported");
  }
  auto clamp = [&](int64_t i) { return std::clamp(i < 0 ? i + channels : i, int64_t{0}, channels); };
  const int64_t start = clamp(starts[0]), end = clamp(ends[0]);
  if (end <= start) return Unsupported(n, "the slice is empty");
  emit(0, start, end - start);
  return OkStatus();
}

}  // namespace qg::onnx_export::internal
