#include "core/quant/adaround.h"

#include <torch/torch.h>

#include "core/base/progress.h"
#include "core/base/torch_call.h"
#include "core/quant/internal/layer_math.h"

namespace qg::quant {
namespace {

constexpr double kZeta = 1.1, kGamma = -0.1;

// Keeps the FP32 value of some nodes over a few batches.
class KeepValues final : public models::ForwardHooks {
 public:
  explicit KeepValues(std::map<int, std::vector<torch::Tensor>>* kept) : kept_(kept) {}
  torch::Tensor AfterNode(int node, const models::Node&, torch::Tensor out) override {
    if (auto it = kept_->find(node); it != kept_->end()) it->second.push_back(out.detach().contiguous());
    return out;
  }

 private:
  std::map<int, std::vector<torch::Tensor>>* kept_;
};

// The layer's output, through the ReLU (or ReLU6) fused into its block when
// there is one.
torch::Tensor LayerOutput(const models::Node& n, const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                          const Block& block) {
  auto y = internal::LayerOutput(n, x, w, b);
  return block.relu ? internal::FusedRelu(y, block.relu_max) : y;
}

torch::Tensor RectifiedSigmoid(const torch::Tensor& v) {
  return torch::clamp(torch::sigmoid(v) * (kZeta - kGamma) + kGamma, 0.0, 1.0);
}

// Per-element scale of a quantized weight, broadcastable to it.
torch::Tensor ScaleOf(const torch::Tensor& q) {
  if (q.qscheme() == torch::kPerChannelAffine || q.qscheme() == torch::kPerChannelSymmetric) {
    std::vector<int64_t> shape(static_cast<size_t>(q.dim()), 1);
    shape[0] = -1;
    return q.q_per_channel_scales().to(torch::kFloat32).view(shape);
  }
  return torch::full({1}, q.q_scale(), torch::kFloat32);
}

torch::Tensor WithValues(const torch::Tensor& like, const torch::Tensor& values) {
  const auto v = values.to(torch::kInt8);
  if (like.qscheme() == torch::kPerChannelAffine || like.qscheme() == torch::kPerChannelSymmetric) {
    return at::_make_per_channel_quantized_tensor(v, like.q_per_channel_scales(), like.q_per_channel_zero_points(),
                                                  like.q_per_channel_axis());
  }
  return at::_make_per_tensor_quantized_tensor(v, like.q_scale(), like.q_zero_point());
}

}  // namespace

Result<AdaRoundResult> AdaRound(const PreparedModel& prepared, const ConvertOptions& options,
                                const data::DataLoader& calibration, const AdaRoundOptions& o) {
  models::GraphModule model = prepared.model;
  const auto& graph = model->graph();
  std::vector<const Block*> layers;
  for (const auto& name : prepared.plan.WeightLayers()) {
    if (!options.fp32_layers.count(name)) layers.push_back(prepared.plan.FindBlock(name));
  }
  // Every layer's FP32 input over the kept images, in one pass.
  std::map<int, std::vector<torch::Tensor>> kept;
  for (const Block* b : layers) kept[b->inputs[0]];
  QG_RETURN_IF_ERROR(TorchCall("AdaRound: collecting layer inputs", [&] {
    torch::NoGradGuard no_grad;
    KeepValues hooks(&kept);
    int64_t seen = 0;
    auto epoch = calibration.Epoch(0);
    while (seen < o.images) {
      auto batch = epoch->Next();
      if (!batch || !*batch) break;
      model->ForwardAll((*batch)->images, &hooks);
      seen += (*batch)->images.size(0);
    }
  }));
  if (kept.empty() || kept.begin()->second.empty()) {
    return Error::FailedPrecondition("AdaRound: the calibration set is empty");
  }

  AdaRoundResult result;
  ProgressBar bar("adaround", static_cast<int64_t>(layers.size()));
  int64_t done = 0;
  for (const Block* block : layers) {
    bar.Update(done++, block->name);
    const models::Node& node = graph.nodes[block->main];
    auto rounded = TorchCall(fmt::format("AdaRound of '{}'", block->name), [&] {
      const torch::Tensor w = internal::LayerWeight(model, block->main).detach().contiguous();
      torch::Tensor bias = internal::LayerBias(model, block->main);
      if (bias.defined()) bias = bias.detach();
      if (auto it = options.bias_overrides.find(block->name); it != options.bias_overrides.end()) bias = it->second;
      auto x = torch::cat(kept[block->inputs[0]]).contiguous();
      if (node.op == models::Op::kLinear && x.dim() > 2) x = torch::flatten(x, 1);
      x = x.slice(0, 0, std::min<int64_t>(o.images, x.size(0)));

      const auto nearest = QuantizeWeight(w, options);
      const auto scale = ScaleOf(nearest);
      const double qmin = static_cast<double>(options.weight_spec.QuantMin());
      const double qmax = static_cast<double>(options.weight_spec.QuantMax());
      const auto w_floor = torch::floor(w / scale);
      const auto rest = (w / scale - w_floor).clamp(1e-4, 1 - 1e-4);
      // h(V) = rest at the start: the soft weight equals the FP32 weight.
      auto v = (-torch::log((kZeta - kGamma) / (rest - kGamma) - 1)).set_requires_grad(true);
      torch::optim::Adam adam({v}, torch::optim::AdamOptions(o.lr));
      auto soft_weight = [&](const torch::Tensor& h) { return scale * torch::clamp(w_floor + h, qmin, qmax); };

      torch::Generator gen = at::detail::createCPUGenerator(o.seed + static_cast<uint64_t>(block->main));
      const int64_t warmup = static_cast<int64_t>(o.warmup * static_cast<double>(o.iterations));
      for (int64_t it = 0; it < o.iterations; ++it) {
        const auto idx = torch::randint(x.size(0), {std::min(o.batch_size, x.size(0))}, gen, torch::kLong);
        const auto xb = x.index_select(0, idx);
        torch::Tensor target;
        {
          torch::NoGradGuard no_grad;
          target = LayerOutput(node, xb, w, bias, *block);
        }
        const auto h = RectifiedSigmoid(v);
        const auto out = LayerOutput(node, xb, soft_weight(h), bias, *block);
        auto loss = (out - target).pow(2).sum(1).mean();
        if (it >= warmup) {
          const double progress = static_cast<double>(it - warmup) / static_cast<double>(std::max<int64_t>(1, o.iterations - warmup));
          const double beta = o.beta_start + (o.beta_end - o.beta_start) * progress;
          loss = loss + o.reg_weight * (1 - (2 * h - 1).abs().pow(beta)).sum();
        }
        adam.zero_grad();
        loss.backward();
        adam.step();
      }
      torch::NoGradGuard no_grad;
      const auto up = (RectifiedSigmoid(v) >= 0.5).to(torch::kFloat32);
      const auto values = torch::clamp(w_floor + up, qmin, qmax);
      const auto learned = WithValues(nearest, values);
      // Both roundings' output error on the kept inputs (what was fitted); a
      // layer where the learned rounding is not better keeps nearest rounding.
      auto mse = [&](const torch::Tensor& q) {
        double sum = 0;
        for (int64_t i = 0; i < x.size(0); i += 64) {
          const auto xs = x.slice(0, i, std::min(i + 64, x.size(0)));
          const auto target = LayerOutput(node, xs, w, bias, *block);
          sum += (LayerOutput(node, xs, q.dequantize(), bias, *block) - target).pow(2).sum().item<double>();
        }
        return sum;
      };
      const double mse_nearest = mse(nearest), mse_learned = mse(learned);
      const bool kept_nearest = mse_learned >= mse_nearest;
      const auto q = kept_nearest ? nearest : learned;
      const double elements =
          static_cast<double>(internal::LayerOutput(node, x.slice(0, 0, 1), w, bias).numel() * x.size(0));
      const double flipped = kept_nearest ? 0.0
                                          : (values != nearest.int_repr().to(torch::kFloat32)).to(torch::kFloat32)
                                                .mean().item<double>();
      result.report.push_back({{"layer", block->name},
                               {"flipped_share", flipped},
                               {"kept_nearest", kept_nearest},
                               {"output_mse_nearest", mse_nearest / elements},
                               {"output_mse_adaround", std::min(mse_learned, mse_nearest) / elements}});
      return q;
    });
    if (!rounded) return rounded.error();
    result.weights[block->name] = *rounded;
  }
  bar.Finish();
  return result;
}

}  // namespace qg::quant
