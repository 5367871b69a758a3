// ImportOnnx: the file, the graph input and output, dispatch to the op
// translations (onnx_import_ops.cc) and the parameters.
#include "core/export/onnx_import.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/shape_inference/implementation.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "core/base/sha256.h"
#include "core/base/torch_call.h"
#include "core/export/internal/onnx_importer.h"
#include "core/export/onnx_file.h"
#include "core/models/model_options.h"

namespace qg::onnx_export {
namespace internal {

std::string Joined(const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ", ")); }

torch::Tensor TensorFromProto(const onnx::TensorProto& t) {
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  auto options = torch::TensorOptions();
  switch (t.data_type()) {
    case onnx::TensorProto_DataType_FLOAT:
      if (t.has_raw_data()) {
        return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, options.dtype(torch::kFloat)).clone();
      }
      return torch::tensor(std::vector<float>(t.float_data().begin(), t.float_data().end())).reshape(dims);
    case onnx::TensorProto_DataType_INT64:
      if (t.has_raw_data()) {
        return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, options.dtype(torch::kLong)).clone();
      }
      return torch::tensor(std::vector<int64_t>(t.int64_data().begin(), t.int64_data().end())).reshape(dims);
    case onnx::TensorProto_DataType_INT32:
      if (t.has_raw_data()) {
        return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, options.dtype(torch::kInt)).clone()
            .to(torch::kLong);
      }
      return torch::tensor(std::vector<int64_t>(t.int32_data().begin(), t.int32_data().end())).reshape(dims);
    default:
      return torch::Tensor();
  }
}

// A tensor as a Value: integer tensors become foldable ints.
Value ConstantValue(const torch::Tensor& t) {
  Value v;
  if (t.scalar_type() == torch::kLong) {
    const auto c = t.contiguous();
    v.ints = std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    v.scalar = t.dim() == 0;
  } else {
    v.tensor = t.to(torch::kFloat);
  }
  return v;
}

std::vector<int64_t> ShapeOf(const onnx::TypeProto& type) {
  std::vector<int64_t> shape;
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return shape;
  for (const auto& d : type.tensor_type().shape().dim()) {
    shape.push_back(d.has_dim_value() ? d.dim_value() : (shape.empty() ? kBatch : -1));
  }
  return shape;
}

std::string Importer::NodeName(const onnx::NodeProto& n) const {
  return n.name().empty() ? fmt::format("{}:{}", n.op_type(), n.output(0)) : n.name();
}

Error Importer::Unsupported(const onnx::NodeProto& n, const std::string& why) const {
  if (why.empty()) return UnsupportedOp(n, "");
  return Error::InvalidArgument("{}: node '{}' ({}): {}", path_, NodeName(n), n.op_type(), why);
}

Error Importer::UnsupportedOp(const onnx::NodeProto& n, const std::string& except) const {
  return Error::InvalidArgument("{}: node '{}' has op type '{}', which quantgrid does not import{}; supported: {}",
                                path_, NodeName(n), n.op_type(), except.empty() ? "" : " " + except,
                                Joined(SupportedOnnxOps()));
}

Result<const Value*> Importer::Input(const onnx::NodeProto& n, int i) const {
  if (i >= n.input_size() || n.input(i).empty()) return Unsupported(n, fmt::format("input {} is missing", i));
  auto it = values_.find(n.input(i));
  if (it == values_.end()) return Unsupported(n, fmt::format("input '{}' is not produced before it", n.input(i)));
  return &it->second;
}

Result<int> Importer::GraphInput(const onnx::NodeProto& n, int i, bool padded, bool any_layout) const {
  QG_ASSIGN_OR_RETURN(const Value* v, Input(n, i));
  if (v->node < 0) return Unsupported(n, fmt::format("input '{}' must be computed from the image", n.input(i)));
  if (v->shuffle_stage > 0) return Unsupported(n, "reads a reshaped tensor that is not a flatten or channel shuffle");
  if (v->channels_last && !any_layout) {
    return Unsupported(n, fmt::format("reads '{}', transposed to N,H,W,C; there quantgrid imports LayerNormalization "
                                      "over the last axis, MatMul by a constant (+ Add of its bias), elementwise "
                                      "activations, Add, Mul by a constant, and the Transpose back",
                                      n.input(i)));
  }
  if (!padded && v->pending_pad != std::array<int64_t, 2>{0, 0}) {
    return Unsupported(n, fmt::format("reads the padded '{}'; only a Conv or an AveragePool that counts the padding "
                                      "can take a Pad's zeros as its own",
                                      n.input(i)));
  }
  return v->node;
}

Result<torch::Tensor> Importer::ConstantInput(const onnx::NodeProto& n, int i) const {
  QG_ASSIGN_OR_RETURN(const Value* v, Input(n, i));
  if (v->tensor) return *v->tensor;
  if (v->ints) {
    return torch::tensor(*v->ints, torch::kLong).reshape(v->scalar ? std::vector<int64_t>{} :
                                                                     std::vector<int64_t>{static_cast<int64_t>(v->ints->size())});
  }
  return Unsupported(n, fmt::format("input '{}' must be a constant (an initializer)", n.input(i)));
}

Result<std::vector<int64_t>> Importer::IntsInput(const onnx::NodeProto& n, int i) const {
  QG_ASSIGN_OR_RETURN(const Value* v, Input(n, i));
  if (v->ints) return *v->ints;
  if (v->tensor) {
    const auto t = v->tensor->to(torch::kLong).contiguous();
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  }
  return Unsupported(n, fmt::format("input '{}' must be a constant", n.input(i)));
}

int Importer::Emit(const onnx::NodeProto& n, Node node, int output) {
  const std::string base = output == 0 ? NodeName(n) : fmt::format("{}:{}", NodeName(n), output);
  std::string name = base;
  for (int k = 2; !names_.insert(name).second; ++k) name = fmt::format("{}#{}", base, k);
  node.name = name;
  const int index = graph_.Add(std::move(node));
  Value v;
  v.node = index;
  if (auto it = shapes_.find(n.output(output)); it != shapes_.end()) v.shape = it->second;
  // What shape inference left open, the layers built so far may know.
  auto open = [](int64_t d) { return d < 0 && d != kBatch; };
  if (v.shape.empty() || std::any_of(v.shape.begin(), v.shape.end(), open)) {
    const auto computed = OutputShape(graph_.nodes[index]);
    if (v.shape.empty()) {
      v.shape = computed;
    } else if (computed.size() == v.shape.size()) {
      for (size_t d = 0; d < v.shape.size(); ++d) v.shape[d] = open(v.shape[d]) ? computed[d] : v.shape[d];
    }
  }
  node_shapes_[index] = v.shape;
  values_[n.output(output)] = std::move(v);
  return index;
}

int Importer::EmitInLayout(const onnx::NodeProto& n, Node node, bool channels_last) {
  const int index = Emit(n, std::move(node));
  if (!channels_last) return index;
  // The graph node computes N,C,H,W from its inputs' N,C,H,W shapes; the ONNX value is its N,H,W,C transpose.
  Value& v = values_[n.output(0)];
  v.channels_last = true;
  auto nchw = OutputShape(graph_.nodes[index]);
  if (nchw.size() != 4 && v.shape.size() == 4) nchw = {v.shape[0], v.shape[3], v.shape[1], v.shape[2]};
  if (nchw.size() == 4) v.shape = {nchw[0], nchw[2], nchw[3], nchw[1]};
  node_shapes_[index] = nchw;
  return index;
}

std::vector<int64_t> Importer::OutputShape(const Node& n) const {
  auto in = [&](size_t k) -> std::vector<int64_t> {
    auto it = k < n.inputs.size() ? node_shapes_.find(n.inputs[k]) : node_shapes_.end();
    return it == node_shapes_.end() ? std::vector<int64_t>{} : it->second;
  };
  std::vector<int64_t> x = in(0);
  // Output size of a window sliding over `size` (LibTorch's rule, ceil_mode's
  // last window starting inside the input or its left padding). Attributes
  // come from the file: absurd ones leave the size unknown (-1) rather than
  // divide by zero or overflow.
  auto slide = [&](int64_t size, int d, int64_t dilation) -> int64_t {
    constexpr int64_t kSane = int64_t{1} << 24;
    for (int64_t v : {size, n.stride[d], dilation, n.kernel[d]}) {
      if (v <= 0 || v > kSane) return -1;
    }
    if (n.padding[d] < 0 || n.padding[d] > kSane) return -1;
    const int64_t span = size + 2 * n.padding[d] - dilation * (n.kernel[d] - 1) - 1;
    if (span < 0) return -1;
    int64_t out = (n.ceil_mode ? (span + n.stride[d] - 1) / n.stride[d] : span / n.stride[d]) + 1;
    if (n.ceil_mode && (out - 1) * n.stride[d] >= size + n.padding[d]) --out;
    return out;
  };
  const bool image = x.size() == 4;
  switch (n.op) {
    case Op::kConv2d:
      if (!image) return {};
      return {x[0], n.out_channels, slide(x[2], 0, n.dilation[0]), slide(x[3], 1, n.dilation[1])};
    case Op::kMaxPool2d:
    case Op::kAvgPool2d:
      if (!image) return {};
      return {x[0], x[1], slide(x[2], 0, 1), slide(x[3], 1, 1)};
    case Op::kAdaptiveAvgPool2d:
      if (!image) return {};
      return {x[0], x[1], n.output_size[0], n.output_size[1]};
    case Op::kLinear:
      return x.empty() ? x : std::vector<int64_t>{x[0], n.out_channels};
    case Op::kFlatten: {
      if (x.size() < 2) return {};
      int64_t features = 1;
      for (size_t d = 1; d < x.size(); ++d) {
        const bool fits = x[d] > 0 && features > 0 && features <= std::numeric_limits<int64_t>::max() / x[d];
        features = fits ? features * x[d] : -1;
      }
      return {x[0], features};
    }
    case Op::kConcat: {
      for (size_t k = 1; k < n.inputs.size() && x.size() > 1; ++k) {
        const auto more = in(k);
        const bool fits = more.size() == x.size() && x[1] > 0 && more[1] > 0 &&
                          x[1] <= std::numeric_limits<int64_t>::max() - more[1];
        x[1] = fits ? x[1] + more[1] : -1;
      }
      return x;
    }
    case Op::kSlice:
      if (x.size() > 1) x[1] = n.out_channels;
      return x;
    case Op::kAdd:
    case Op::kMul: {  // broadcast, aligned at the right
      const auto y = in(1);
      std::vector<int64_t> out(std::max(x.size(), y.size()));
      for (size_t i = 0; i < out.size(); ++i) {
        const int64_t a = i < out.size() - x.size() ? 1 : x[i - (out.size() - x.size())];
        const int64_t b = i < out.size() - y.size() ? 1 : y[i - (out.size() - y.size())];
        out[i] = a == 1 ? b : a;
      }
      return out;
    }
    default:  // batch norm, activations, channel shuffle, dropout: the input's shape
      return x;
  }
}

Status Importer::Translate(const onnx::NodeProto& n) {
  if (!n.domain().empty() && n.domain() != "ai.onnx") return Unsupported(n);
  const auto& table = Dispatch();
  auto it = table.find(n.op_type());
  if (it == table.end()) return Unsupported(n);
  return it->second(*this, n);
}

const std::map<std::string, Importer::Handler>& Importer::Dispatch() {
  using Fn = Handler;
  static const std::map<std::string, Fn> table = [] {
    std::map<std::string, Fn> t;
    auto add = [&](std::initializer_list<const char*> ops, Status (Importer::*fn)(const onnx::NodeProto&)) {
      for (const char* op : ops) t[op] = [fn](Importer& i, const onnx::NodeProto& n) { return (i.*fn)(n); };
    };
    add({"Conv"}, &Importer::TranslateConv);
    add({"BatchNormalization"}, &Importer::TranslateBatchNorm);
    add({"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish"}, &Importer::TranslateActivation);
    add({"Add", "Mul"}, &Importer::TranslateBinary);
    add({"MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean"}, &Importer::TranslatePool);
    add({"Gemm", "MatMul"}, &Importer::TranslateLinear);
    add({"Flatten", "Reshape", "Transpose"}, &Importer::TranslateReshape);
    add({"Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast", "Div", "Sub"}, &Importer::TranslateShapeMath);
    add({"Concat"}, &Importer::TranslateConcat);
    add({"Identity", "Dropout"}, &Importer::TranslateIdentity);
    add({"Pad"}, &Importer::TranslatePad);
    add({"Slice", "Split"}, &Importer::TranslateSlice);
    add({"LayerNormalization"}, &Importer::TranslateLayerNorm);
    add({"Gelu"}, &Importer::TranslateGelu);
    return t;
  }();
  return table;
}

// The image input: the first graph input that is not an initializer, 4-D,
// float. Its H and W come from the file or the options (never both, unless
// they agree); they are written into the model so shape inference knows them.
Status Importer::ReadInput(const ImportOptions& options) {
  std::set<std::string> initializers;
  for (const auto& t : model_.graph().initializer()) initializers.insert(t.name());
  const onnx::ValueInfoProto* input = nullptr;
  int inputs = 0;
  for (const auto& in : model_.graph().input()) {
    if (initializers.count(in.name())) continue;
    ++inputs;
    if (input == nullptr) input = &in;
  }
  if (input == nullptr) return Error::InvalidArgument("{}: the model has no input", path_);
  if (inputs > 1) return Error::InvalidArgument("{}: the model has {} inputs; quantgrid imports one image input", path_, inputs);
  const auto shape = ShapeOf(input->type());
  if (shape.size() != 4) {
    return Error::InvalidArgument("{}: input '{}' is {}-D; quantgrid imports image models with one N,C,H,W input",
                                  path_, input->name(), shape.size());
  }
  if (input->type().tensor_type().elem_type() != onnx::TensorProto_DataType_FLOAT) {
    return Error::InvalidArgument("{}: input '{}' is not float32", path_, input->name());
  }
  auto pick = [&](int64_t in_file, const std::optional<int64_t>& given, const char* what) -> Result<int64_t> {
    if (in_file > 0 && given && *given != in_file) {
      return Error::InvalidArgument("{}: the file says {} {}, the spec {}", path_, what, in_file, *given);
    }
    if (in_file > 0) return in_file;
    if (given) return *given;
    return Error::InvalidArgument("{}: input '{}' does not say its {}; give it (spec \"input\" or the CLI)", path_,
                                  input->name(), what);
  };
  QG_ASSIGN_OR_RETURN(channels_, pick(shape[1], options.channels, "channels"));
  QG_ASSIGN_OR_RETURN(image_size_, pick(shape[2], options.image_size, "image size"));
  if (shape[3] > 0 && shape[3] != image_size_) {
    return Error::InvalidArgument("{}: input '{}' is {}x{}; quantgrid models take square images", path_,
                                  input->name(), image_size_, shape[3]);
  }
  Value v;
  v.node = 0;
  v.shape = {kBatch, channels_, image_size_, image_size_};
  values_[input->name()] = v;
  node_shapes_[graph_.Add(Node{.name = "input", .op = Op::kInput})] = v.shape;
  names_.insert("input");
  return OkStatus();
}

Status Importer::ReadOutput() {
  if (model_.graph().output_size() == 0) return Error::InvalidArgument("{}: the model has no output", path_);
  const auto& out = model_.graph().output(0);
  auto it = values_.find(out.name());
  if (it == values_.end() || it->second.node < 0) {
    return Error::InvalidArgument("{}: output '{}' is not computed from the image", path_, out.name());
  }
  const auto shape = it->second.shape.empty() ? ShapeOf(out.type()) : it->second.shape;
  if (shape.size() != 2 || shape[1] <= 0) {
    return Error::InvalidArgument("{}: output '{}' is not [N, classes] logits", path_, out.name());
  }
  num_classes_ = shape[1];
  graph_.outputs = {it->second.node};
  return graph_.Validate();
}

Status Importer::Run(const ImportOptions& options) {
  QG_RETURN_IF_ERROR(ReadInput(options));
  // Shape inference with the input's size fixed, so every value's shape is known.
  onnx::ModelProto inferred = model_;
  for (auto& in : *inferred.mutable_graph()->mutable_input()) {
    if (values_.count(in.name()) == 0) continue;
    auto* dims = in.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim();
    (*dims)[1].set_dim_value(channels_);
    (*dims)[2].set_dim_value(image_size_);
    (*dims)[3].set_dim_value(image_size_);
  }
  try {
    onnx::shape_inference::InferShapes(inferred);
  } catch (const std::exception& e) {
    return Error::InvalidArgument("{}: shape inference: {}", path_, e.what());
  }
  for (const auto& vi : inferred.graph().value_info()) shapes_[vi.name()] = ShapeOf(vi.type());
  for (const auto& vi : inferred.graph().output()) shapes_[vi.name()] = ShapeOf(vi.type());
  for (const auto& t : model_.graph().initializer()) {
    torch::Tensor tensor = TensorFromProto(t);
    if (!tensor.defined()) {
      return Error::InvalidArgument("{}: initializer '{}' has data type {}; quantgrid imports FP32 models", path_,
                                    t.name(), t.data_type());
    }
    values_[t.name()] = ConstantValue(tensor);
  }
  const std::vector<onnx::NodeProto> nodes = FuseDecomposedOps(model_.graph());
  for (const auto& n : nodes) {
    for (const auto& in : n.input()) ++readers_[in];
  }
  for (const auto& out : model_.graph().output()) ++readers_[out.name()];
  for (const auto& n : nodes) {
    auto done = TorchCall("LibTorch", [&] { return Translate(n); });
    if (!done) return Unsupported(n, done.error().message);
    QG_RETURN_IF_ERROR(*done);
  }
  return ReadOutput();
}

// Copies the parameters collected while translating into the module.
Status LoadParameters(models::GraphModule& module, const std::map<int, Params>& params, const std::string& path) {
  torch::NoGradGuard no_grad;
  for (const auto& [index, p] : params) {
    const Node& n = module->graph().nodes[index];
    auto copy = [&](torch::Tensor dst, const torch::Tensor& src, const char* what) -> Status {
      if (!dst.defined() || !src.defined()) return OkStatus();
      if (dst.numel() != src.numel()) {
        return Error::InvalidArgument("{}: node '{}': {} has {} values, the layer needs {}", path, n.name, what,
                                      src.numel(), dst.numel());
      }
      dst.copy_(src.reshape(dst.sizes()).to(torch::kFloat));
      return OkStatus();
    };
    if (auto conv = module->conv(index)) {
      QG_RETURN_IF_ERROR(copy(conv->weight, p.weight, "the weight"));
      QG_RETURN_IF_ERROR(copy(conv->bias, p.bias, "the bias"));
    } else if (auto linear = module->linear(index)) {
      QG_RETURN_IF_ERROR(copy(linear->weight, p.weight, "the weight"));
      QG_RETURN_IF_ERROR(copy(linear->bias, p.bias, "the bias"));
    } else if (auto bn = module->bn(index)) {
      QG_RETURN_IF_ERROR(copy(bn->weight, p.weight, "the scale"));
      QG_RETURN_IF_ERROR(copy(bn->bias, p.bias, "the bias"));
      QG_RETURN_IF_ERROR(copy(bn->running_mean, p.mean, "the mean"));
      QG_RETURN_IF_ERROR(copy(bn->running_var, p.var, "the variance"));
    } else if (auto ln = module->layer_norm(index)) {
      QG_RETURN_IF_ERROR(copy(ln->weight, p.weight, "the scale"));
      QG_RETURN_IF_ERROR(copy(ln->bias, p.bias, "the bias"));
    }
  }
  module->UseChannelsLast();
  module->eval();
  return OkStatus();
}

int64_t Opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  }
  return 0;
}

}  // namespace internal

Result<ImportedModel> ImportOnnx(const std::string& path, const ImportOptions& options) {
  using internal::Importer, internal::LoadParameters, internal::Opset;
  QG_ASSIGN_OR_RETURN(onnx::ModelProto proto, ReadOnnxFile(path));
  ImportedModel out;
  out.opset = Opset(proto);
  if (out.opset < kMinOnnxOpset || out.opset > kMaxOnnxOpset) {
    return Error::InvalidArgument("{}: opset {} is outside the {}..{} quantgrid imports (re-export with "
                                  "opset_version={})",
                                  path, out.opset, kMinOnnxOpset, kMaxOnnxOpset, kMaxOnnxOpset);
  }
  Importer importer(proto, path);
  QG_RETURN_IF_ERROR(importer.Run(options));
  out.in_channels = importer.channels();
  out.image_size = importer.image_size();
  out.num_classes = importer.num_classes();
  QG_ASSIGN_OR_RETURN(out.sha256, Sha256File(path));
  const models::ModelOptions model_options{.in_channels = out.in_channels, .image_size = out.image_size,
                                           .num_classes = out.num_classes};
  nlohmann::json options_json = model_options.ToJson();
  options_json["onnx_sha256"] = out.sha256;
  if (!options.mean.empty()) options_json["mean"] = options.mean;
  if (!options.std.empty()) options_json["std"] = options.std;
  const models::ModelMeta meta{.model_name = "onnx", .options = options_json};
  QG_RETURN_IF_ERROR(TorchCall(fmt::format("building the model imported from '{}'", path), [&] {
    out.model = models::GraphModule(std::move(importer.graph()), meta);
  }));
  QG_RETURN_IF_ERROR(LoadParameters(out.model, importer.params(), path));
  return out;
}

const std::vector<std::string>& SupportedOnnxOps() {
  static const std::vector<std::string> ops{
      "Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Add",
      "Mul", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape",
      "Transpose", "Gemm", "MatMul", "Dropout", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze",
      "Cast", "Div", "Sub", "Pad", "Slice", "Split", "LayerNormalization",
      "ReduceMean, Sub, Pow, Sqrt and Div as a layer norm over the last axis", "Erf as part of GELU"};
  return ops;
}

}  // namespace qg::onnx_export
