#include "experiments/tune/tune_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "core/base/json_fields.h"

namespace qg::exp {
namespace {

using nlohmann::json;

// The grid parser names "grid..." paths; in a tune spec the user wrote them
// under tune.space.
Error InSpace(const Error& e) {
  Error out = e;
  if (out.message.rfind("grid", 0) == 0) out.message = "tune.space" + out.message.substr(4);
  return out;
}

Result<TuneConstraint> ParseConstraint(JsonFields& f) {
  QG_ASSIGN_OR_RETURN(json c, f.Object("constraint", /*required=*/true));
  JsonFields cf(c, "tune.constraint");
  QG_RETURN_IF_ERROR(cf.AllowOnly({"max_top1_drop", "min_agreement"}));
  if (cf.Has("max_top1_drop") == cf.Has("min_agreement")) {
    return Error::InvalidArgument("tune.constraint: give exactly one of \"max_top1_drop\" (points) and "
                                  "\"min_agreement\" (%)");
  }
  TuneConstraint out;
  if (cf.Has("max_top1_drop")) {
    const json& v = c["max_top1_drop"];
    if (!v.is_number()) return Error::InvalidArgument("tune.constraint.max_top1_drop: must be a number");
    out.max_top1_drop = v.get<double>();
    if (out.max_top1_drop < 0 || out.max_top1_drop > 100) {
      return Error::InvalidArgument("tune.constraint.max_top1_drop: {} is not a budget: it must be in [0, 100] points",
                                    out.max_top1_drop);
    }
  } else {
    const json& v = c["min_agreement"];
    if (!v.is_number()) return Error::InvalidArgument("tune.constraint.min_agreement: must be a number");
    out.min_agreement = v.get<double>();
    if (out.min_agreement <= 0 || out.min_agreement > 100) {
      return Error::InvalidArgument("tune.constraint.min_agreement: {} must be in (0, 100] percent", out.min_agreement);
    }
  }
  return out;
}

// "size" or "latency.<device>.b<batch>", the batch among measure.batch_sizes.
Status CheckTerm(const std::string& term, const std::string& path, const MeasureConfig& measure) {
  if (term == "size") return OkStatus();
  static const std::regex kLatency(R"(latency\.cpu\.b([0-9]{1,6}))");
  std::smatch m;
  if (!std::regex_match(term, m, kLatency)) {
    return Error::InvalidArgument("{}: unknown objective \"{}\"; known: size, latency.cpu.b<batch> (e.g. "
                                  "latency.cpu.b64)",
                                  path, term);
  }
  const int64_t batch = std::stoll(m[1].str());
  if (std::find(measure.batch_sizes.begin(), measure.batch_sizes.end(), batch) == measure.batch_sizes.end()) {
    return Error::InvalidArgument("{}: batch {} is not in measure.batch_sizes; add it there", path, batch);
  }
  return OkStatus();
}

Result<TuneObjective> ParseObjective(const json& tune, const MeasureConfig& measure) {
  if (!tune.contains("objective")) return Error::InvalidArgument("tune.objective: required");
  const json& o = tune["objective"];
  TuneObjective out;
  if (o.is_string()) {
    QG_RETURN_IF_ERROR(CheckTerm(o.get<std::string>(), "tune.objective", measure));
    out.terms.emplace_back(o.get<std::string>(), 1.0);
  } else if (o.is_object() && !o.empty() && o.size() <= 2) {
    for (const auto& [term, weight] : o.items()) {
      const std::string path = "tune.objective." + term;
      QG_RETURN_IF_ERROR(CheckTerm(term, path, measure));
      if (!weight.is_number() || weight.get<double>() <= 0) {
        return Error::InvalidArgument("{}: the weight must be a positive number", path);
      }
      out.terms.emplace_back(term, weight.get<double>());
    }
  } else {
    return Error::InvalidArgument("tune.objective: must be \"size\", \"latency.cpu.b<batch>\", or an object of one or "
                                  "two of them with weights");
  }
  return out;
}

// The screening fidelity: a validation subset, a short latency run at the
// objective's batch, no layer-wise MSE.
json ScreenMeasure(const json& raw_measure, const TuneScreen& s, int64_t batch) {
  json m = raw_measure.is_object() ? raw_measure : json::object();
  m["eval_limit"] = s.eval_images;
  m["batch_sizes"] = {batch > 0 ? batch : 64};
  m["runs"] = s.runs;
  m["warmup_runs"] = s.warmup_runs;
  m["layer_mse_images"] = 0;
  m.erase("replicates");
  return m;
}

}  // namespace

std::string TuneConstraint::Describe() const {
  return max_top1_drop >= 0 ? fmt::format("top-1 at most {} points below FP32", max_top1_drop)
                            : fmt::format("top-1 agreement with FP32 at least {} %", min_agreement);
}

int64_t TuneObjective::LatencyBatch() const {
  for (const auto& [term, w] : terms) {
    if (term.rfind("latency.cpu.b", 0) == 0) return std::stoll(term.substr(13));
  }
  return 0;
}

std::string TuneObjective::Describe() const {
  if (terms.size() == 1) return terms[0].first;
  std::string out;
  for (const auto& [term, w] : terms) out += fmt::format("{}{} x {}", out.empty() ? "" : " + ", w, term);
  return out + " (each relative to FP32)";
}

bool IsTuneSpec(const json& raw) { return raw.is_object() && raw.contains("tune"); }

Result<TuneSpec> ParseTuneSpec(const json& raw, const Catalog& catalog, const std::string& default_engine,
                               const std::string& base_dir) {
  if (!IsTuneSpec(raw)) return Error::InvalidArgument("tune: required");
  if (raw.contains("grid")) {
    return Error::InvalidArgument("grid: a tune spec searches tune.space; move the grid's axes there");
  }
  const json& tune = raw["tune"];
  if (!tune.is_object()) return Error::InvalidArgument("tune: must be an object");
  JsonFields f(tune, "tune");
  QG_RETURN_IF_ERROR(f.AllowOnly({"space", "per_layer", "constraint", "objective", "budget", "screen", "halving",
                                  "noise", "confidence"}));
  QG_ASSIGN_OR_RETURN(json space, f.Object("space", /*required=*/true));
  if (space.contains("devices")) {
    return Error::InvalidArgument("tune.space.devices: a tune searches CPU models (LibTorch's INT8 kernels)");
  }
  // The FP32 row is the reference of the constraint and the objective.
  if (space.contains("strategies") && space["strategies"].is_array() && !space["strategies"].empty()) {
    const bool has_fp32 = std::any_of(space["strategies"].begin(), space["strategies"].end(),
                                      [](const json& s) { return s == "fp32"; });
    if (!has_fp32) space["strategies"].insert(space["strategies"].begin(), "fp32");
  }

  json full_raw = raw;
  full_raw.erase("tune");
  full_raw["grid"] = space;
  if (full_raw.contains("export")) {
    return Error::InvalidArgument("export: a tune compares LibTorch models; leave ONNX export to a grid");
  }
  TuneSpec t;
  auto full = ParseSpec(full_raw, catalog, default_engine, base_dir);
  if (!full) return InSpace(full.error());
  t.full = std::move(*full);
  if (t.full.seeds.size() != 1) {
    return Error::InvalidArgument("seeds: a tune searches one trained model; give one seed (tune each seed apart)");
  }

  QG_ASSIGN_OR_RETURN(t.constraint, ParseConstraint(f));
  QG_ASSIGN_OR_RETURN(t.objective, ParseObjective(tune, t.full.measure));

  QG_ASSIGN_OR_RETURN(json budget, f.Object("budget"));
  JsonFields bf(budget, "tune.budget");
  QG_RETURN_IF_ERROR(bf.AllowOnly({"max_jobs", "max_minutes"}));
  if (bf.Has("max_jobs")) {
    QG_ASSIGN_OR_RETURN(t.budget.max_jobs, bf.Integer("max_jobs", 1, 1, 1'000'000));
  }
  if (bf.Has("max_minutes")) {
    QG_ASSIGN_OR_RETURN(t.budget.max_minutes, bf.Number("max_minutes", 1, 0.01, 1e6));
  }

  QG_ASSIGN_OR_RETURN(json screen, f.Object("screen"));
  JsonFields sf(screen, "tune.screen");
  QG_RETURN_IF_ERROR(sf.AllowOnly({"eval_images", "runs", "warmup_runs"}));
  QG_ASSIGN_OR_RETURN(t.screen_options.eval_images, sf.Integer("eval_images", 1000, 10, int64_t{1} << 30));
  QG_ASSIGN_OR_RETURN(int64_t runs, sf.Integer("runs", 20, 2, 100000));
  QG_ASSIGN_OR_RETURN(int64_t warmup, sf.Integer("warmup_runs", 5, 0, 100000));
  t.screen_options.runs = static_cast<int>(runs);
  t.screen_options.warmup_runs = static_cast<int>(warmup);

  if (f.Has("per_layer")) {
    const json* p = f.Raw("per_layer");
    if (p->is_boolean()) {
      t.per_layer.enabled = p->get<bool>();
    } else if (p->is_object()) {
      JsonFields pf(*p, "tune.per_layer");
      QG_RETURN_IF_ERROR(pf.AllowOnly({"params"}));
      QG_ASSIGN_OR_RETURN(t.per_layer.params, pf.Object("params"));
      if (t.per_layer.params.contains("fp32_layers")) {
        return Error::InvalidArgument("tune.per_layer.params.fp32_layers: the tune chooses the FP32 layers");
      }
      QG_RETURN_IF_ERROR(catalog.ResolveStrategyParams("mpq", t.per_layer.params, "tune.per_layer.params"));
      t.per_layer.enabled = true;
    } else {
      return Error::InvalidArgument("tune.per_layer: must be true, false or an object with \"params\"");
    }
  }
  QG_ASSIGN_OR_RETURN(t.halving, f.Number("halving", 4, 1.5, 1000));
  QG_ASSIGN_OR_RETURN(t.noise, f.Number("noise", 0.03, 0, 0.5));
  QG_ASSIGN_OR_RETURN(t.confidence, f.Number("confidence", 2.0, 0, 10));

  json screen_raw = full_raw;
  screen_raw["measure"] = ScreenMeasure(raw.value("measure", json::object()), t.screen_options,
                                        t.objective.LatencyBatch());
  auto screen_spec = ParseSpec(screen_raw, catalog, default_engine, base_dir);
  if (!screen_spec) return screen_spec.error().WithContext("tune.screen");
  t.screen = std::move(*screen_spec);
  t.full.raw = raw;  // stored as written
  t.screen.raw = raw;
  return t;
}

}  // namespace qg::exp
