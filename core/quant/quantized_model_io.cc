// QuantizedModel::Save / Load: the INT8 model file.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "core/base/files.h"
#include "core/base/logging.h"
#include "core/base/torch_call.h"
#include "core/models/model_io.h"
#include "core/quant/engine.h"
#include "core/quant/internal/qstep.h"
#include "core/quant/quantized_model.h"

namespace qg::quant {

using internal::Step;
using internal::StepKind;

namespace {

constexpr const char* kRecordKey = models::kInt8RecordKey;

nlohmann::json StepToJson(const Step& s) {
  nlohmann::json j{{"kind", internal::StepKindName(s.kind)}, {"name", s.name},   {"inputs", s.inputs},
                   {"output", s.output},                    {"relu", s.relu},   {"quantize_output", s.quantize_output},
                   {"scale", s.out.scale},                  {"zero_point", s.out.zero_point},
                   {"kernel", s.kernel},                    {"stride", s.stride}, {"padding", s.padding},
                   {"output_size", s.output_size},          {"ceil_mode", s.ceil_mode},
                   {"count_include_pad", s.count_include_pad}, {"dim", s.dim}, {"groups", s.groups}, {"eps", s.eps}, {"nhwc", s.nhwc}};
  if (s.dilation != std::array<int64_t, 2>{1, 1}) j["dilation"] = s.dilation;
  if (std::isfinite(s.relu_max)) j["relu_max"] = s.relu_max;  // a fused ReLU6; absent for a ReLU
  if (s.kind == StepKind::kActivation || s.kind == StepKind::kFp32Op) {
    j["fn"] = {{"op", models::OpName(s.fn.op)}, {"alpha", s.fn.alpha}, {"beta", s.fn.beta},
               {"min", s.fn.clamp_min}, {"max", s.fn.clamp_max}, {"groups", s.fn.groups}, {"out", s.fn.out_channels}};
    if (s.fn.op == models::Op::kSlice) j["fn"]["start"] = s.fn.start;
  }
  if (s.qweight.defined()) {
    j["weight_qscheme"] = s.qweight.qscheme() == torch::kPerChannelAffine ? "per_channel" : "per_tensor";
    j["weight_shape"] = s.qweight.sizes().vec();
  }
  return j;
}

Result<Step> StepFromJson(const nlohmann::json& j) {
  Step s;
  const std::string kind = j.at("kind");
  if (!internal::StepKindFromName(kind, &s.kind)) return Error::Corruption("unknown INT8 step kind '{}'", kind);
  s.name = j.at("name");
  s.inputs = j.at("inputs").get<std::vector<int>>();
  s.output = j.at("output");
  s.relu = j.at("relu");
  if (j.contains("relu_max")) {
    s.relu_max = j.at("relu_max").get<double>();
    if (!(s.relu_max > 0.0)) return Error::Corruption("INT8 step '{}': relu_max {} is not above 0", s.name, s.relu_max);
  }
  s.quantize_output = j.at("quantize_output");
  s.out = QParams{j.at("scale").get<double>(), j.at("zero_point").get<int64_t>()};
  s.kernel = j.at("kernel");
  s.stride = j.at("stride");
  s.padding = j.at("padding");
  s.output_size = j.at("output_size");
  s.ceil_mode = j.at("ceil_mode");
  s.count_include_pad = j.at("count_include_pad");
  s.dim = j.at("dim");
  s.groups = j.at("groups");
  s.eps = j.at("eps");
  s.nhwc = j.value("nhwc", false);
  s.dilation = j.value("dilation", s.dilation);
  if (j.contains("fn")) {
    const auto& f = j.at("fn");
    QG_ASSIGN_OR_RETURN(s.fn.op, models::OpFromName(f.at("op").get<std::string>()));
    s.fn.name = s.name;
    s.fn.alpha = f.at("alpha");
    s.fn.beta = f.at("beta");
    s.fn.clamp_min = f.at("min");
    s.fn.clamp_max = f.at("max");
    s.fn.groups = f.at("groups");
    s.fn.out_channels = f.value("out", int64_t{0});
    s.fn.start = f.value("start", int64_t{0});
  }
  return s;
}

}  // namespace

Status QuantizedModel::Save(const std::string& path) const {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : steps_) steps.push_back(StepToJson(s));
  const nlohmann::json record{{"format", 1},           {"engine", engine_},        {"num_values", num_values_},
                              {"prediction", prediction_}, {"steps", steps},         {"meta", meta_}};
  std::error_code ec;
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  const std::string tmp = UniqueTempPath(path);  // one per attempt: two writers never share it
  QG_RETURN_IF_ERROR(TorchCall(fmt::format("writing INT8 model '{}'", path), [&] {
    torch::serialize::OutputArchive archive;
    archive.write(kRecordKey, c10::IValue(record.dump()));
    for (size_t i = 0; i < steps_.size(); ++i) {
      const Step& s = steps_[i];
      const std::string p = fmt::format("s{}_", i);
      if (s.qweight.defined()) {
        // int8 bytes + scales: the quantized tensor's own serialization would
        // store the same, but this layout is engine- and version-neutral.
        archive.write(p + "qweight", s.qweight.int_repr().contiguous());
        if (s.qweight.qscheme() == torch::kPerChannelAffine) {
          archive.write(p + "wscale", s.qweight.q_per_channel_scales().to(torch::kFloat64));
          archive.write(p + "wzero", s.qweight.q_per_channel_zero_points().to(torch::kInt32));
        } else {
          archive.write(p + "wscale", torch::tensor({s.qweight.q_scale()}, torch::kFloat64));
          archive.write(p + "wzero", torch::tensor({static_cast<int32_t>(s.qweight.q_zero_point())}, torch::kInt32));
        }
      }
      if (s.weight.defined()) archive.write(p + "weight", s.weight.contiguous());
      if (s.bias.defined()) archive.write(p + "bias", s.bias);
      if (s.bn_mean.defined()) {
        archive.write(p + "bn_mean", s.bn_mean);
        archive.write(p + "bn_var", s.bn_var);
      }
    }
    archive.save_to(tmp);
  }));
  QG_RETURN_IF_ERROR(CommitTempFile(tmp, path));
  return OkStatus();
}

Result<std::unique_ptr<QuantizedModel>> QuantizedModel::Load(const std::string& path, const std::string& engine) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Error::NotFound("INT8 model file '{}' does not exist", path);
  torch::serialize::InputArchive archive;
  if (auto loaded = TorchCall("", [&] { archive.load_from(path); }); !loaded) {
    return Error::Corruption("INT8 model file '{}' is not a readable LibTorch archive ({})", path,
                             loaded.error().message);
  }
  c10::IValue record_value;
  if (!archive.try_read(kRecordKey, record_value) || !record_value.isString()) {
    return Error::Corruption("'{}' is not an INT8 model written by quantgrid", path);
  }
  const auto record = nlohmann::json::parse(record_value.toStringRef(), nullptr, false);
  if (record.is_discarded()) return Error::Corruption("INT8 model file '{}': damaged record", path);
  const std::string use_engine = engine.empty() ? record.value("engine", std::string("onednn")) : engine;
  QG_RETURN_IF_ERROR(UseEngine(use_engine));

  std::vector<Step> steps;
  try {
    for (const auto& js : record.at("steps")) {
      QG_ASSIGN_OR_RETURN(Step s, StepFromJson(js));
      steps.push_back(std::move(s));
    }
  } catch (const nlohmann::json::exception& e) {
    return Error::Corruption("INT8 model file '{}': {}", path, e.what());
  }
  auto rebuilt = TorchCall(fmt::format("INT8 model file '{}'", path), [&] {
    for (size_t i = 0; i < steps.size(); ++i) {
      Step& s = steps[i];
      const std::string p = fmt::format("s{}_", i);
      // A fresh tensor per read: try_read into a defined tensor set_()s it in
      // place, which would rewrite every tensor sharing its storage.
      auto read = [&](const std::string& key) {
        torch::Tensor t;
        return archive.try_read(p + key, t) ? t : torch::Tensor();
      };
      if (auto w = read("weight"); w.defined()) {
        s.weight = w.contiguous(s.kind == StepKind::kFp32Conv ? torch::MemoryFormat::ChannelsLast
                                                               : torch::MemoryFormat::Contiguous);
      }
      s.bias = read("bias");
      s.bn_mean = read("bn_mean");
      if (s.bn_mean.defined()) archive.read(p + "bn_var", s.bn_var);
      torch::Tensor q = read("qweight");
      if (q.defined()) {
        torch::Tensor scales, zeros;
        // _make_*_quantized_tensor reads the bytes as contiguous whatever the
        // strides say: files written before the save made them contiguous
        // hold channels-last conv weights.
        q = q.contiguous();
        archive.read(p + "wscale", scales);
        archive.read(p + "wzero", zeros);
        if (record.at("steps")[i].value("weight_qscheme", "") == "per_channel") {
          s.qweight = at::_make_per_channel_quantized_tensor(q, scales, zeros.to(torch::kLong), 0);
        } else {
          s.qweight = at::_make_per_tensor_quantized_tensor(q, scales[0].item<double>(), zeros[0].item<int64_t>());
        }
        internal::PackWeights(s);
      }
    }
  });
  if (!rebuilt) return Error::Corruption("{}", rebuilt.error().message);
  auto model = std::make_unique<QuantizedModel>(std::move(steps), record.at("num_values"), record.at("prediction"),
                                                use_engine, record.value("meta", nlohmann::json::object()));
  if (const auto layers = model->LayersSaturatingOnThisCpu(); !layers.empty()) {
    Log("quant")->warn(
        "INT8 model file '{}' has 8-bit weights in {} ({}), which {} on this CPU (no VNNI) may saturate: "
        "results can be wrong; quantize again on this machine (it then uses 7-bit weights)",
        path, fmt::join(layers, ", "), layers.size() == 1 ? "1 layer" : fmt::format("{} layers", layers.size()),
        use_engine);
  }
  return model;
}

}  // namespace qg::quant
