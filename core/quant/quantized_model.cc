#include "core/quant/quantized_model.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>

#include "core/quant/engine.h"
#include "core/quant/internal/byte_table.h"
#include "core/quant/internal/concat_shuffle.h"
#include "core/quant/internal/conv_pool.h"
#include "core/quant/internal/qstep.h"
#include "core/quant/internal/small_linear.h"

namespace qg::quant {

using internal::Step;
using internal::StepKind;

QuantizedModel::ValueUses QuantizedModel::UsesOf(const std::vector<Step>& steps, int num_values) {
  const auto n = static_cast<size_t>(num_values);
  ValueUses uses{std::vector<int>(n, -1), std::vector<int>(n, 0), std::vector<int>(n, -1)};
  for (size_t i = 0; i < steps.size(); ++i) {
    uses.producer[steps[i].output] = static_cast<int>(i);
    for (int in : steps[i].inputs) ++uses.readers[in], uses.last_reader[in] = static_cast<int>(i);
  }
  return uses;
}

QuantizedModel::QuantizedModel(std::vector<Step> steps, int num_values, int prediction, std::string engine,
                               nlohmann::json meta)
    : steps_(std::move(steps)),
      num_values_(num_values),
      prediction_(prediction),
      engine_(std::move(engine)),
      meta_(std::move(meta)) {
  // Free each value after the last step that reads it: inference keeps only
  // what is still needed.
  const ValueUses uses = UsesOf(steps_, num_values_);
  last_use_ = uses.last_reader;
  last_use_[prediction_] = static_cast<int>(steps_.size());
  values_.resize(static_cast<size_t>(num_values_));
  PlanOwnPasses(uses);
}

std::vector<std::string> QuantizedModel::StepNamesWhere(const std::function<bool(const OwnPass&)>& pick) const {
  std::vector<std::string> names;
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (pick(own_passes_[i])) names.push_back(steps_[i].name);
  }
  return names;
}

void QuantizedModel::PlanByteTables(const ValueUses& uses) {
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    if (internal::IsBytewiseStep(s)) own_passes_[i].lookup_chain = {static_cast<int>(i)};
    if (s.kind != StepKind::kMul || s.inputs.size() != 2) continue;
    // x * f(x), where only this multiply reads f(x): SiLU (sigmoid), and hard
    // swish as opset 13 exports it (hard sigmoid).
    for (int k = 0; k < 2; ++k) {
      const int x = s.inputs[k], gate = s.inputs[1 - k], j = uses.producer[gate];
      if (j < 0 || !internal::IsBytewiseStep(steps_[j]) || steps_[j].inputs.size() != 1 || steps_[j].inputs[0] != x ||
          uses.readers[gate] != 1 || gate == prediction_) {
        continue;
      }
      own_passes_[i].lookup_chain = {j, static_cast<int>(i)};
      own_passes_[j].lookup_chain.clear();
      own_passes_[j].skipped = true;
      break;
    }
  }
}

std::vector<std::string> QuantizedModel::ByteTableSteps() const {
  return StepNamesWhere([](const OwnPass& own) { return !own.lookup_chain.empty(); });
}

void QuantizedModel::PlanConcatShuffles(const ValueUses& uses) {
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& concat = steps_[i];
    if (concat.kind != StepKind::kConcat || concat.output == prediction_ || uses.readers[concat.output] != 1) continue;
    const int j = uses.last_reader[concat.output];
    if (!internal::ConcatShuffleFits(concat, steps_[j])) continue;
    own_passes_[i].shuffle = j;
    own_passes_[j].skipped = true;
  }
}

std::vector<std::string> QuantizedModel::ConcatShuffles() const {
  return StepNamesWhere([](const OwnPass& own) { return own.shuffle >= 0; });
}

void QuantizedModel::PlanOwnPasses(const ValueUses& uses) {
  own_passes_.assign(steps_.size(), OwnPass{});
  // Tables are written by the engine's own kernels: bit for bit on any engine.
  PlanByteTables(uses);
  PlanConcatShuffles(uses);
  // Bit for bit oneDNN's requantization: other engines round their own way.
  if (engine_ != "onednn") return;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& step = steps_[i];
    if (internal::SmallLinearFits(step)) {
      own_passes_[i].small_linear = internal::SmallLinearRunsOnThisCpu(step);
      continue;
    }
    if (step.output == prediction_ || !internal::ConvPoolFits(step)) continue;
    if (!internal::ConvPoolRunsOnThisCpu(step)) continue;
    if (uses.readers[step.output] != 1) continue;
    const int reader = uses.last_reader[step.output];
    const Step& pool = steps_[reader];
    const std::array<int64_t, 2> two{2, 2}, zero{0, 0};
    if (pool.kind != StepKind::kMaxPool || pool.kernel != two || pool.stride != two || pool.padding != zero ||
        pool.ceil_mode) {
      continue;
    }
    own_passes_[i].pool = reader;
    own_passes_[i].conv_pool =
        std::make_shared<const internal::ConvPoolWeights>(internal::PrepareConvPool(step.qweight, step.bias));
    own_passes_[reader].skipped = true;
  }
}

std::vector<std::string> QuantizedModel::FusedConvPools() const {
  return StepNamesWhere([](const OwnPass& own) { return own.pool >= 0; });
}

std::vector<std::string> QuantizedModel::SmallBatchLinears() const {
  return StepNamesWhere([](const OwnPass& own) { return own.small_linear; });
}

QuantizedModel::~QuantizedModel() = default;

std::string QuantizedModel::Describe() const {
  return fmt::format("int8 ({}): {} INT8 layers, {} FP32 layers", engine_, Int8Layers().size(), Fp32Layers().size());
}

const char* QuantizedModel::RunStepAt(size_t i) {
  const Step& s = steps_[i];
  OwnPass& own = own_passes_[i];
  const torch::Tensor& x = values_[s.inputs.empty() ? 0 : s.inputs[0]];
  const char* kind = internal::StepKindName(s.kind);
  if (!own.lookup_chain.empty()) {
    const torch::Tensor& in = values_[steps_[own.lookup_chain.front()].inputs[0]];
    if (!own.table || !internal::ByteTableFits(*own.table, in)) {
      std::vector<const Step*> chain;
      for (int j : own.lookup_chain) chain.push_back(&steps_[j]);
      // A float input (a layer kept in FP32 before it) has no bytes to look up.
      if (internal::ByteTableTakes(in)) {
        own.table = std::make_shared<const internal::ByteTable>(
            internal::MakeByteTable(chain, in.q_scale(), in.q_zero_point()));
      }
    }
    if (own.table && internal::ByteTableFits(*own.table, in)) {
      values_[s.output] = internal::LookUpBytes(in, *own.table);
      kind = own.lookup_chain.size() > 1 ? "activation+mul (table)" : "activation (table)";
    } else {
      for (int j : own.lookup_chain) internal::RunStep(steps_[j], values_);
    }
  } else if (own.shuffle >= 0) {
    const Step& shuffle = steps_[own.shuffle];
    std::vector<torch::Tensor> inputs;
    for (int in : s.inputs) inputs.push_back(values_[in]);
    if (internal::ConcatShuffleTakes(inputs, shuffle.fn.groups)) {
      if (!own.concat_tables || !internal::ConcatShuffleTablesFit(*own.concat_tables, inputs)) {
        own.concat_tables = std::make_shared<const internal::ConcatShuffleTables>(
            internal::MakeConcatShuffleTables(s, inputs, shuffle.fn.groups));
      }
      values_[shuffle.output] = internal::ConcatShuffle(inputs, *own.concat_tables, s);
      kind = "concat+channel_shuffle";
    } else {
      internal::RunStep(s, values_);
      internal::RunStep(shuffle, values_);
    }
  } else if (own.pool >= 0) {
    values_[steps_[own.pool].output] =
        internal::ConvPool(x, *own.conv_pool, s.padding[0], s.relu, s.out.scale, s.out.zero_point);
    kind = "conv+max_pool";
  } else if (own.small_linear && internal::SmallLinearTakes(x, s.qweight.size(1), s.qweight.size(0))) {
    if (!own.small_linear_weights) {
      own.small_linear_weights =
          std::make_shared<const internal::SmallLinearWeights>(internal::PrepareSmallLinear(s.qweight, s.bias));
    }
    values_[s.output] = internal::SmallLinear(x, *own.small_linear_weights, s.relu, s.out.scale, s.out.zero_point);
    kind = "linear (small batch)";
  } else if (!own.skipped) {
    internal::RunStep(s, values_);
  } else {
    kind = nullptr;
  }
  for (int in : s.inputs) {
    if (last_use_[in] == static_cast<int>(i)) values_[in].reset();
  }
  return kind;
}

torch::Tensor QuantizedModel::Predict(const torch::Tensor& images) {
  torch::InferenceMode guard;
  const auto threads = ThreadsFor(images);
  values_[0] = images;
  for (size_t i = 0; i < steps_.size(); ++i) RunStepAt(i);
  torch::Tensor out = std::move(values_[prediction_]);
  return out.is_quantized() ? out.dequantize() : out;
}

std::vector<models::LayerTime> QuantizedModel::PredictTimingLayers(const torch::Tensor& images) {
  torch::InferenceMode guard;
  const auto threads = ThreadsFor(images);
  std::vector<models::LayerTime> times;
  values_[0] = images;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    const char* kind = RunStepAt(i);
    const auto end = std::chrono::steady_clock::now();
    if (kind) times.push_back({steps_[i].name, kind, std::chrono::duration<double, std::milli>(end - start).count()});
  }
  values_[prediction_].reset();
  return times;
}

std::vector<torch::Tensor> QuantizedModel::RunKeepingValues(const torch::Tensor& images) {
  torch::InferenceMode guard;
  std::vector<torch::Tensor> values(static_cast<size_t>(num_values_));
  values[0] = images;
  for (const auto& s : steps_) internal::RunStep(s, values);
  return values;
}

std::vector<torch::Tensor> QuantizedModel::RunEachStepOn(const torch::Tensor& images,
                                                         const std::vector<torch::Tensor>& given) {
  torch::InferenceMode guard;
  std::vector<torch::Tensor> inputs = given, outputs(static_cast<size_t>(num_values_));
  inputs.resize(static_cast<size_t>(num_values_));
  const auto given_at = [&](int slot) {
    return static_cast<size_t>(slot) < given.size() ? given[slot] : torch::Tensor();
  };
  for (const auto& s : steps_) {
    // The image slot may hold the quantized image after a pass (the
    // quantize step writes over it): the quantize step reads the images.
    const bool reads_images = s.kind == StepKind::kQuantizeInput && (s.inputs.empty() || s.inputs[0] == 0);
    if (reads_images) inputs[0] = images;
    internal::RunStep(s, inputs);
    outputs[s.output] = inputs[s.output];
    if (reads_images && s.output != 0) inputs[0] = given_at(0);
    if (given_at(s.output).defined()) inputs[s.output] = given_at(s.output);  // else later steps read ours
  }
  return outputs;
}

std::vector<std::string> QuantizedModel::Int8Layers() const {
  std::vector<std::string> names;
  for (const auto& s : steps_) {
    if (s.kind == StepKind::kConv || s.kind == StepKind::kLinear) names.push_back(s.name);
  }
  return names;
}

std::vector<std::string> QuantizedModel::LayersSaturatingOnThisCpu() const {
  std::vector<std::string> names;
  if (!U8S8PairsSaturate(engine_)) return names;
  for (const auto& s : steps_) {
    if ((s.kind != StepKind::kConv && s.kind != StepKind::kLinear) || !s.qweight.defined()) continue;
    if (!internal::FitsU8S8Pairs(s.qweight)) names.push_back(s.name);
  }
  return names;
}

std::vector<std::string> QuantizedModel::Fp32Layers() const {
  std::vector<std::string> names;
  for (const auto& s : steps_) {
    if (s.kind == StepKind::kFp32Conv || s.kind == StepKind::kFp32Linear) names.push_back(s.name);
  }
  return names;
}

int64_t QuantizedModel::Int8WeightCount() const {
  int64_t n = 0;
  for (const auto& s : steps_) {
    if ((s.kind == StepKind::kConv || s.kind == StepKind::kLinear) && s.qweight.defined()) n += s.qweight.numel();
  }
  return n;
}

std::vector<QuantizedModel::LayerBytes> QuantizedModel::LayerSizes() const {
  std::vector<LayerBytes> out;
  const auto bytes = [](const torch::Tensor& t) { return t.defined() ? t.numel() * t.element_size() : int64_t{0}; };
  for (const auto& s : steps_) {
    LayerBytes l{.layer = s.name};
    if ((s.kind == StepKind::kConv || s.kind == StepKind::kLinear) && s.qweight.defined()) {
      l.int8 = true;
      l.fp32_bytes = (s.qweight.numel() + (s.bias.defined() ? s.bias.numel() : 0)) * 4;
      l.stored_bytes = s.qweight.numel() + bytes(s.bias);
      if (s.qweight.qscheme() == torch::kPerChannelAffine || s.qweight.qscheme() == torch::kPerChannelSymmetric) {
        l.stored_bytes += bytes(s.qweight.q_per_channel_scales()) + bytes(s.qweight.q_per_channel_zero_points());
      } else {
        l.stored_bytes += 16;  // one double scale, one int64 zero point
      }
    } else if (s.kind == StepKind::kFp32Conv || s.kind == StepKind::kFp32Linear) {
      l.fp32_bytes = l.stored_bytes = bytes(s.weight) + bytes(s.bias);
    } else {
      continue;
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::vector<std::pair<std::string, int>> QuantizedModel::Int8Outputs() const {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& s : steps_) {
    if (s.IsInt8()) out.emplace_back(s.name, s.output);
  }
  return out;
}

std::vector<std::tuple<std::string, std::string, bool>> QuantizedModel::DescribeSteps() const {
  std::vector<std::tuple<std::string, std::string, bool>> out;
  for (const auto& s : steps_) out.emplace_back(s.name, internal::StepKindName(s.kind), s.IsInt8());
  return out;
}

}  // namespace qg::quant
