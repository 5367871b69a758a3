// The strategies an experiment grid can list, and their registry.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "core/base/logging.h"
#include "core/data/dataset.h"
#include "core/metrics/evaluate.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_io.h"
#include "core/quant/adaround.h"
#include "core/quant/bias_correction.h"
#include "core/quant/engine.h"
#include "core/quant/fp16_model.h"
#include "core/quant/ptq.h"
#include "core/quant/qat.h"
#include "core/quant/sensitivity.h"

namespace qg::quant {
namespace {

namespace fs = std::filesystem;

std::string ModelFile(const StrategyContext& c, const std::string& name) { return (fs::path(c.out_dir) / name).string(); }

// A strategy whose parameters parse into an Options struct: ResolveParams and
// Apply read them the same way, so a resolved set always applies cleanly.
template <typename Options>
class StrategyWithOptions : public Strategy {
 public:
  Result<nlohmann::json> ResolveParams(const nlohmann::json& params, const std::string& path) const final {
    JsonFields r(params, path, "parameter");
    QG_RETURN_IF_ERROR(Read(r));
    QG_RETURN_IF_ERROR(r.Finish());
    return r.Resolved();
  }
  Result<StrategyResult> Apply(const StrategyContext& c, const nlohmann::json& params) const final {
    JsonFields r(params, Name(), "parameter");
    QG_ASSIGN_OR_RETURN(Options o, Read(r));
    return Run(c, std::move(o), params);
  }

 protected:
  virtual Result<Options> Read(JsonFields& r) const = 0;
  virtual Result<StrategyResult> Run(const StrategyContext& c, Options o, const nlohmann::json& params) const = 0;
};

struct NoOptions {};

class Fp32Strategy final : public StrategyWithOptions<NoOptions> {
 public:
  std::string Name() const override { return "fp32"; }
  std::string Summary() const override { return "the trained FP32 model on the fastest FP32 path (baseline)"; }

 protected:
  Result<NoOptions> Read(JsonFields&) const override { return NoOptions{}; }
  Result<StrategyResult> Run(const StrategyContext& c, NoOptions, const nlohmann::json&) const override {
    StrategyResult result{.precision = "fp32"};
    result.model_path = ModelFile(c, "model_fp32.pt");
    QG_RETURN_IF_ERROR(models::SaveModel(c.fp32, result.model_path));
    if (c.device == "cuda") {  // the frozen TorchScript path holds CPU (oneDNN) weights
      QG_ASSIGN_OR_RETURN(result.model, models::DeviceModel::OnCuda(c.fp32, torch::kFloat32));
    } else {
      QG_ASSIGN_OR_RETURN(result.model, models::CompiledFp32Model::Compile(c.fp32));
    }
    result.details["path"] = result.model->Describe();
    return result;
  }
};

class Fp16Strategy final : public StrategyWithOptions<std::string> {
 public:
  std::string Name() const override { return "fp16"; }
  std::string Summary() const override {
    return "half precision: fp16 compute on CUDA; on CPU fp16 storage with fp32 compute, or bf16 compute";
  }

 protected:
  Result<std::string> Read(JsonFields& r) const override { return r.Choice("compute", "fp32", {"fp32", "bf16"}); }
  Result<StrategyResult> Run(const StrategyContext& c, std::string compute, const nlohmann::json&) const override {
    StrategyResult result{.precision = "fp16"};
    result.model_path = ModelFile(c, "model_fp16.pt");
    QG_RETURN_IF_ERROR(models::SaveModel(HalfCopy(c.fp32), result.model_path));
    QG_ASSIGN_OR_RETURN(result.model, MakeHalfModel(c.fp32, c.device, compute));
    result.details["path"] = result.model->Describe();
    return result;
  }
};

// Calibrate (after folding and equalizing, when asked), correct biases when
// asked, convert: what naive_ptq, bn_fold, bias_correction and cle share.
Result<StrategyResult> RunStaticInt8(const StrategyContext& c, PtqParams p, bool correct_bias, const std::string& name,
                                     const nlohmann::json& params) {
  QG_ASSIGN_OR_RETURN(PreparedModel prepared, PrepareAndCalibrate(c, p));
  nlohmann::json details{{"folded_batch_norms", p.fold_bn}};
  if (!prepared.equalization.is_null()) details["equalization"] = prepared.equalization;
  if (correct_bias) {
    QG_ASSIGN_OR_RETURN(auto corrected, CorrectBiases(prepared, p.convert, CalibrationLoader(c, p.calibration_size)));
    p.convert.bias_overrides = corrected.biases;
    details["bias_correction"] = corrected.report;
  }
  p.convert.meta = {{"strategy", name}, {"params", params}};
  QG_ASSIGN_OR_RETURN(auto model, Convert(prepared.model, prepared.plan, prepared.qparams, p.convert));
  return FinishInt8(c, prepared, std::move(model), std::move(details));
}

// naive_ptq, bn_fold and bias_correction: one pipeline, different defaults.
class PtqStrategy final : public StrategyWithOptions<PtqParams> {
 public:
  PtqStrategy(std::string name, std::string summary, bool fold_default, bool correct_bias)
      : name_(std::move(name)), summary_(std::move(summary)), fold_default_(fold_default), correct_bias_(correct_bias) {}
  std::string Name() const override { return name_; }
  std::string Summary() const override { return summary_; }

 protected:
  Result<PtqParams> Read(JsonFields& r) const override { return ReadPtqParams(r, fold_default_); }
  Result<StrategyResult> Run(const StrategyContext& c, PtqParams p, const nlohmann::json& params) const override {
    return RunStaticInt8(c, std::move(p), correct_bias_, Name(), params);
  }

 private:
  std::string name_, summary_;
  bool fold_default_;
  bool correct_bias_;
};

// cle: fold BN, equalize weight ranges across layer pairs (core/quant/cle.h),
// then static INT8 with per-tensor weights (what equalization is for), and
// optionally bias correction.
struct CleParams {
  PtqParams ptq;
  bool bias_correction = false;
};

class CleStrategy final : public StrategyWithOptions<CleParams> {
 public:
  std::string Name() const override { return "cle"; }
  std::string Summary() const override {
    return "cross-layer equalization (Nagel et al. 2019) after BN folding, then static INT8, per-tensor weights";
  }

 protected:
  Result<CleParams> Read(JsonFields& r) const override {
    CleParams o;
    QG_ASSIGN_OR_RETURN(o.ptq, ReadPtqParams(r, /*fold_bn_default=*/true, "per_tensor"));
    if (!o.ptq.fold_bn) {
      return Error::InvalidArgument("{}: cle needs it (a BatchNorm between two layers undoes the scaling)",
                                    r.Field("fold_bn"));
    }
    CleOptions cle;
    QG_ASSIGN_OR_RETURN(cle.max_iterations, r.Integer("cle_iterations", cle.max_iterations, 1, 1000));
    QG_ASSIGN_OR_RETURN(cle.tolerance, r.Number("cle_tolerance", cle.tolerance, 0.0, 1.0));
    QG_ASSIGN_OR_RETURN(cle.relu6_to_relu, r.Flag("relu6_to_relu", false));
    o.ptq.equalize = cle;
    QG_ASSIGN_OR_RETURN(o.ptq.absorb_biases, r.Flag("bias_absorption", false));
    QG_ASSIGN_OR_RETURN(o.bias_correction, r.Flag("bias_correction", false));
    return o;
  }
  Result<StrategyResult> Run(const StrategyContext& c, CleParams o, const nlohmann::json& params) const override {
    return RunStaticInt8(c, std::move(o.ptq), o.bias_correction, Name(), params);
  }
};

// adaround: fold BN, calibrate, learn each weight's rounding (core/quant/adaround.h).
struct AdaRoundParams {
  PtqParams ptq;
  AdaRoundOptions adaround;
};

class AdaRoundStrategy final : public StrategyWithOptions<AdaRoundParams> {
 public:
  std::string Name() const override { return "adaround"; }
  std::string Summary() const override {
    return "adaptive rounding of the weights (Nagel et al. 2020) after BN folding, then static INT8";
  }

 protected:
  Result<AdaRoundParams> Read(JsonFields& r) const override {
    AdaRoundParams o;
    QG_ASSIGN_OR_RETURN(o.ptq, ReadPtqParams(r, /*fold_bn_default=*/true));
    if (!o.ptq.fold_bn) {
      return Error::InvalidArgument("{}: adaround needs it (it rounds the folded weights)", r.Field("fold_bn"));
    }
    AdaRoundOptions& a = o.adaround;
    QG_ASSIGN_OR_RETURN(a.iterations, r.Integer("adaround_iterations", a.iterations, 1, 1'000'000));
    QG_ASSIGN_OR_RETURN(a.batch_size, r.Integer("adaround_batch_size", a.batch_size, 1, 100'000));
    QG_ASSIGN_OR_RETURN(a.images, r.Integer("adaround_images", a.images, 1, 1'000'000));
    QG_ASSIGN_OR_RETURN(a.reg_weight, r.Number("adaround_reg_weight", a.reg_weight, 0.0, 1e6));
    QG_ASSIGN_OR_RETURN(a.beta_start, r.Number("adaround_beta_start", a.beta_start, 0.1, 1000.0));
    QG_ASSIGN_OR_RETURN(a.beta_end, r.Number("adaround_beta_end", a.beta_end, 0.1, 1000.0));
    QG_ASSIGN_OR_RETURN(a.warmup, r.Number("adaround_warmup", a.warmup, 0.0, 1.0));
    QG_ASSIGN_OR_RETURN(a.lr, r.Number("adaround_lr", a.lr, 1e-8, 10.0));
    return o;
  }
  Result<StrategyResult> Run(const StrategyContext& c, AdaRoundParams o, const nlohmann::json& params) const override {
    PtqParams& p = o.ptq;
    QG_ASSIGN_OR_RETURN(PreparedModel prepared, PrepareAndCalibrate(c, p));
    o.adaround.seed = c.seed;
    QG_ASSIGN_OR_RETURN(auto rounded, AdaRound(prepared, p.convert, CalibrationLoader(c, p.calibration_size), o.adaround));
    p.convert.weight_overrides = std::move(rounded.weights);
    p.convert.meta = {{"strategy", Name()}, {"params", params}};
    QG_ASSIGN_OR_RETURN(auto model, Convert(prepared.model, prepared.plan, prepared.qparams, p.convert));
    return FinishInt8(c, prepared, std::move(model),
                      {{"folded_batch_norms", true}, {"adaround", std::move(rounded.report)}});
  }
};

struct MpqOptions {
  PtqParams ptq;
  std::string metric;
  std::string objective;  // "accuracy": most accurate within the size budget; "size": fewest FP32 layers within
                          // the accuracy budget
  double accuracy_budget = 0.25;
  double size_budget = 0.3;
  int64_t selection_size = 2000;
  int64_t sensitivity_size = 512;
  std::vector<std::string> fp32_layers;  // explicit choice: skips the selection
};

class MpqStrategy final : public StrategyWithOptions<MpqOptions> {
 public:
  std::string Name() const override { return "mpq"; }
  std::string Summary() const override {
    return "mixed precision: keep the most sensitive layers FP32 within an accuracy and size budget";
  }

 protected:
  Result<MpqOptions> Read(JsonFields& r) const override {
    MpqOptions o;
    QG_ASSIGN_OR_RETURN(o.ptq, ReadPtqParams(r, /*fold_bn_default=*/true));
    QG_ASSIGN_OR_RETURN(o.metric, r.Choice("sensitivity_metric", "mse", {"mse", "accuracy"}));
    QG_ASSIGN_OR_RETURN(o.objective, r.Choice("objective", "accuracy", {"accuracy", "size"}));
    QG_ASSIGN_OR_RETURN(o.accuracy_budget, r.Number("accuracy_budget", 0.25, 0.0, 100.0));
    QG_ASSIGN_OR_RETURN(o.size_budget, r.Number("size_budget", 0.3, 0.0, 10.0));
    QG_ASSIGN_OR_RETURN(o.selection_size, r.Integer("selection_size", 2000, 10, 1'000'000));
    QG_ASSIGN_OR_RETURN(o.sensitivity_size, r.Integer("sensitivity_size", 512, 10, 1'000'000));
    QG_ASSIGN_OR_RETURN(o.fp32_layers, r.Strings("fp32_layers"));
    return o;
  }

  Result<StrategyResult> Run(const StrategyContext& c, MpqOptions o, const nlohmann::json& params) const override {
    QG_ASSIGN_OR_RETURN(PreparedModel prepared, PrepareAndCalibrate(c, o.ptq));
    if (!o.fp32_layers.empty()) {
      // An explicit choice (a tune's per-layer search): no sensitivity and
      // front to measure, the same model as the selection would build for it.
      o.ptq.convert.fp32_layers = std::set<std::string>(o.fp32_layers.begin(), o.fp32_layers.end());
      o.ptq.convert.meta = {{"strategy", Name()}, {"params", params}};
      Log("quant")->info("mpq: {} layers stay FP32 as given ({})", o.fp32_layers.size(), fmt::join(o.fp32_layers, ", "));
      QG_ASSIGN_OR_RETURN(auto model, Convert(prepared.model, prepared.plan, prepared.qparams, o.ptq.convert));
      return FinishInt8(c, prepared, std::move(model),
                        {{"folded_batch_norms", o.ptq.fold_bn}, {"chosen_fp32_count", o.fp32_layers.size()}});
    }
    // Decisions use held-out training images, never the test split.
    const int64_t n = c.train_set->Size();
    const int64_t sel = std::min(o.selection_size, n / 2);
    auto held_out = std::make_shared<data::SubsetDataset>(c.train_set, n - sel, n);
    data::DataLoader sens_data(held_out, {.batch_size = 256, .limit = o.sensitivity_size});
    data::DataLoader sel_data(held_out, {.batch_size = 256});
    QG_ASSIGN_OR_RETURN(auto ranked, MeasureSensitivity(prepared, o.ptq.convert, sens_data, o.metric));
    QG_ASSIGN_OR_RETURN(auto front, ParetoFront(prepared, o.ptq.convert, ranked, sel_data, c.out_dir));
    models::EagerFp32Model fp32(prepared.model);
    QG_ASSIGN_OR_RETURN(auto fp32_eval, metrics::Evaluate(fp32, sel_data, "mpq fp32 reference"));
    const double fp32_acc = fp32_eval.report.top1;
    const double size_limit = o.size_budget * static_cast<double>(c.fp32_model_bytes);

    std::vector<std::string> chosen_layers = o.fp32_layers;
    if (chosen_layers.empty()) {
      const FrontPoint* chosen = nullptr;
      for (const auto& p : front) {
        const bool fits_size = p.model_bytes <= size_limit;
        if (o.objective == "size") {
          if (fits_size && fp32_acc - p.accuracy <= o.accuracy_budget) {
            chosen = &p;  // fewest FP32 layers that is accurate enough
            break;
          }
        } else if (fits_size && (!chosen || p.accuracy > chosen->accuracy)) {
          chosen = &p;  // most accurate; ties keep fewer FP32 layers
        }
      }
      if (!chosen) chosen = &front.front();  // nothing fits: all INT8 is the smallest there is
      chosen_layers = chosen->fp32_layers;
    }
    o.ptq.convert.fp32_layers = std::set<std::string>(chosen_layers.begin(), chosen_layers.end());
    o.ptq.convert.meta = {{"strategy", Name()}, {"params", params}};

    nlohmann::json details{{"folded_batch_norms", o.ptq.fold_bn},
                           {"selection_fp32_top1", fp32_acc},
                           {"size_limit_bytes", size_limit},
                           {"chosen_fp32_count", chosen_layers.size()},
                           {"sensitivity", nlohmann::json::array()},
                           {"pareto_front", nlohmann::json::array()}};
    for (const auto& s : ranked) {
      details["sensitivity"].push_back({{"layer", s.layer},
                                        {"relative_mse", s.relative_mse},
                                        {"accuracy_drop", s.accuracy_drop},
                                        {"parameters", s.parameters}});
    }
    for (const auto& p : front) {
      details["pareto_front"].push_back({{"fp32_count", p.fp32_count},
                                         {"fp32_layers", p.fp32_layers},
                                         {"accuracy", p.accuracy},
                                         {"model_bytes", p.model_bytes}});
    }
    Log("quant")->info("mpq: {} layers stay FP32 ({})", chosen_layers.size(), fmt::join(chosen_layers, ", "));
    QG_ASSIGN_OR_RETURN(auto model, Convert(prepared.model, prepared.plan, prepared.qparams, o.ptq.convert));
    return FinishInt8(c, prepared, std::move(model), std::move(details));
  }
};

struct QatOptions {
  PtqParams ptq;
  QatRecipe recipe;
};

class QatStrategy final : public StrategyWithOptions<QatOptions> {
 public:
  std::string Name() const override { return "qat"; }
  std::string Summary() const override {
    return "quantization-aware training: fake-quant fine-tuning (straight-through estimator), then real INT8";
  }

 protected:
  Result<QatOptions> Read(JsonFields& r) const override {
    QatOptions o;
    QG_ASSIGN_OR_RETURN(o.ptq, ReadPtqParams(r, /*fold_bn_default=*/true));
    QG_ASSIGN_OR_RETURN(o.recipe.epochs, r.Integer("epochs", 1, 1, 1000));
    QG_ASSIGN_OR_RETURN(o.recipe.batch_size, r.Integer("batch_size", 128, 1, 1 << 16));
    QG_ASSIGN_OR_RETURN(o.recipe.lr, r.Number("lr", 0.005, 1e-8, 10.0));
    QG_ASSIGN_OR_RETURN(o.recipe.max_steps_per_epoch, r.Integer("max_steps_per_epoch", 0, 0, 1 << 30));
    return o;
  }

  Result<StrategyResult> Run(const StrategyContext& c, QatOptions o, const nlohmann::json& params) const override {
    QG_ASSIGN_OR_RETURN(PreparedModel prepared, PrepareAndCalibrate(c, o.ptq));
    QG_ASSIGN_OR_RETURN(auto tuned, FineTuneQuantAware(c, prepared, o.ptq, o.recipe));
    prepared.qparams = std::move(tuned.qparams);
    o.ptq.convert.meta = {{"strategy", Name()}, {"params", params}};
    QG_ASSIGN_OR_RETURN(auto model, Convert(prepared.model, prepared.plan, prepared.qparams, o.ptq.convert));
    return FinishInt8(c, prepared, std::move(model),
                      {{"folded_batch_norms", o.ptq.fold_bn},
                       {"fine_tune", tuned.report.ToJson()},
                       {"fine_tune_lr", tuned.lr},
                       {"fine_tune_start_loss", tuned.start_loss},
                       {"diverged_fine_tunes", std::move(tuned.diverged)}});
  }
};

const std::map<std::string, std::unique_ptr<Strategy>>& Registry() {
  static const auto* registry = [] {
    auto* m = new std::map<std::string, std::unique_ptr<Strategy>>();
    auto add = [&](Strategy* s) { (*m)[s->Name()] = std::unique_ptr<Strategy>(s); };
    add(new Fp32Strategy());
    add(new Fp16Strategy());
    add(new PtqStrategy("naive_ptq", "static INT8: calibrate activation ranges, quantize every layer; BN kept",
                        /*fold_default=*/false, /*correct_bias=*/false));
    add(new PtqStrategy("bn_fold", "fold BatchNorm into the convolutions, then static INT8", true, false));
    add(new CleStrategy());
    add(new AdaRoundStrategy());
    add(new PtqStrategy("bias_correction", "static INT8 with empirical per-channel bias correction", false, true));
    add(new MpqStrategy());
    add(new QatStrategy());
    return m;
  }();
  return *registry;
}

}  // namespace

std::vector<std::string> KnownStrategies() {
  std::vector<std::string> names;
  for (const auto& [name, s] : Registry()) names.push_back(name);
  return names;
}

Result<const Strategy*> FindStrategy(const std::string& name) {
  const auto it = Registry().find(name);
  if (it == Registry().end()) {
    return Error::InvalidArgument("unknown strategy \"{}\"; known: {}", name, fmt::join(KnownStrategies(), ", "));
  }
  return it->second.get();
}

}  // namespace qg::quant
