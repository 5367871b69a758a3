#include "core/quant/ptq.h"

#include <filesystem>

#include "core/base/logging.h"
#include "core/quant/bn_fold.h"
#include "core/quant/engine.h"

namespace qg::quant {

Result<PtqParams> ReadPtqParams(JsonFields& r, bool fold_bn_default, const std::string& granularity_default) {
  PtqParams p;
  QG_ASSIGN_OR_RETURN(p.observer.kind, r.Choice("observer", "minmax", ObserverKinds()));
  QG_ASSIGN_OR_RETURN(p.observer.percentile, r.Number("percentile", 99.99, 50.0, 100.0));
  QG_ASSIGN_OR_RETURN(p.calibration_size, r.Integer("calibration_size", 1000, 1, 1'000'000));
  QG_ASSIGN_OR_RETURN(p.convert.weight_observer, r.Choice("weight_observer", "minmax", {"minmax", "mse"}));
  QG_ASSIGN_OR_RETURN(auto granularity, r.Choice("weight_granularity", granularity_default, {"per_channel", "per_tensor"}));
  p.convert.per_channel = granularity == "per_channel";
  QG_ASSIGN_OR_RETURN(auto wscheme, r.Choice("weight_scheme", "symmetric", {"symmetric", "affine"}));
  QG_ASSIGN_OR_RETURN(p.convert.weight_spec.scheme, ParseScheme(wscheme, "weight_scheme"));
  QG_ASSIGN_OR_RETURN(auto ascheme, r.Choice("activation_scheme", "affine", {"affine", "symmetric"}));
  QG_ASSIGN_OR_RETURN(p.activation_spec.scheme, ParseScheme(ascheme, "activation_scheme"));
  QG_ASSIGN_OR_RETURN(bool reduce_range, r.Flag("reduce_range", false));
  p.activation_spec.reduce_range = reduce_range;
  QG_ASSIGN_OR_RETURN(p.convert.allow_fp32_fallback, r.Flag("allow_fp32_fallback", false));
  QG_ASSIGN_OR_RETURN(p.fold_bn, r.Flag("fold_bn", fold_bn_default));
  // Read only when given, so that 8-bit jobs keep the config hashes they had
  // before the option existed (their results stay cached).
  if (r.Has("weight_bits")) {
    QG_ASSIGN_OR_RETURN(int64_t bits, r.Integer("weight_bits", 8, 2, 8));
    p.convert.weight_spec.bits = static_cast<int>(bits);
  }
  return p;
}

data::DataLoader CalibrationLoader(const StrategyContext& context, int64_t calibration_size) {
  return data::DataLoader(context.train_set, {.batch_size = 250,
                                              .shuffle = true,
                                              .seed = context.seed + 101,
                                              .prefetch = 1,
                                              .limit = calibration_size});
}

Result<PreparedModel> PrepareAndCalibrate(const StrategyContext& context, PtqParams& params) {
  QG_RETURN_IF_ERROR(UseEngine(context.engine));
  PreparedModel prepared;
  prepared.weights_capped_for_engine = FitWeightsToEngine(params.convert, context.engine);
  if (prepared.weights_capped_for_engine) {
    Log("quant")->info("{} on a CPU without VNNI: weights get 7 bits, so no u8 x s8 pair sum saturates int16",
                       context.engine);
  }
  const auto bns = params.absorb_biases ? BatchNormsOfConvs(context.fp32) : std::map<std::string, BatchNormOfConv>{};
  if (params.fold_bn) {
    QG_ASSIGN_OR_RETURN(prepared.model, FoldBatchNorm(context.fp32));
  } else {
    prepared.model = models::CloneModel(context.fp32);
  }
  prepared.model->eval();
  if (params.equalize) {
    QG_ASSIGN_OR_RETURN(auto report, EqualizeCrossLayer(prepared.model, *params.equalize));
    prepared.equalization = report.ToJson();
    if (params.absorb_biases) {
      QG_ASSIGN_OR_RETURN(prepared.equalization["bias_absorption"], AbsorbBiases(prepared.model, bns, report));
    }
  }
  QG_ASSIGN_OR_RETURN(prepared.plan, PlanQuantization(prepared.model->graph()));
  const auto loader = CalibrationLoader(context, params.calibration_size);
  QG_ASSIGN_OR_RETURN(prepared.qparams,
                      Calibrate(prepared.model, prepared.plan, loader, params.observer, params.activation_spec));
  return prepared;
}

Result<StrategyResult> FinishInt8(const StrategyContext& context, const PreparedModel& prepared,
                                  std::unique_ptr<QuantizedModel> model, nlohmann::json details) {
  if (prepared.weights_capped_for_engine) {
    details["weight_bits"] = 7;
    details["weight_bits_reason"] = context.engine + " on a CPU without VNNI saturates 8-bit u8 x s8 pair sums";
  }
  StrategyResult result;
  result.model_path = (std::filesystem::path(context.out_dir) / "model_int8.pt").string();
  QG_RETURN_IF_ERROR(model->Save(result.model_path));
  result.precision = model->Fp32Layers().empty() ? "int8" : "mixed";
  details["int8_layers"] = model->Int8Layers();
  details["fp32_layers"] = model->Fp32Layers();
  details["engine"] = model->engine();
  result.details = std::move(details);
  result.int8 = model.get();
  result.model = std::move(model);
  Log("quant")->info("{}", result.model->Describe());
  return result;
}

}  // namespace qg::quant
