#include "core/train/train_options.h"

#include <cstdint>

#include "core/base/json_fields.h"

namespace qg::train {

nlohmann::json TrainOptions::ToJson() const {
  nlohmann::json j = {{"epochs", epochs},
          {"batch_size", batch_size},
          {"lr", lr},
          {"min_lr", min_lr},
          {"momentum", momentum},
          {"nesterov", nesterov},
          {"weight_decay", weight_decay},
          {"warmup_epochs", warmup_epochs},
          {"label_smoothing", label_smoothing},
          {"early_stopping_patience", early_stopping_patience},
          {"val_size", val_size},
          {"crop_padding", crop_padding},
          {"horizontal_flip", horizontal_flip},
          {"seed", seed},
          {"max_steps_per_epoch", max_steps_per_epoch}};
  if (processes != 1) j["processes"] = processes;
  if (device != "cpu") j["device"] = device;
  if (amp) j["amp"] = amp;
  return j;
}

namespace {

// Every field of the recipe, typed; ranges are checked after, with messages
// that say what a valid recipe looks like.
Status ReadFields(JsonFields& f, TrainOptions& o) {
  constexpr int64_t kAny = INT64_MAX;
  QG_ASSIGN_OR_RETURN(o.epochs, f.Integer("epochs", o.epochs, -kAny, kAny));
  QG_ASSIGN_OR_RETURN(o.batch_size, f.Integer("batch_size", o.batch_size, -kAny, kAny));
  QG_ASSIGN_OR_RETURN(o.lr, f.Number("lr", o.lr, -1e300, 1e300));
  QG_ASSIGN_OR_RETURN(o.min_lr, f.Number("min_lr", o.min_lr, 0, 1e300));
  QG_ASSIGN_OR_RETURN(o.momentum, f.Number("momentum", o.momentum, -1e300, 1e300));
  QG_ASSIGN_OR_RETURN(o.nesterov, f.Flag("nesterov", o.nesterov));
  QG_ASSIGN_OR_RETURN(o.weight_decay, f.Number("weight_decay", o.weight_decay, 0, 1e300));
  QG_ASSIGN_OR_RETURN(o.warmup_epochs, f.Number("warmup_epochs", o.warmup_epochs, 0, 1e6));
  QG_ASSIGN_OR_RETURN(o.label_smoothing, f.Number("label_smoothing", o.label_smoothing, -1e300, 1e300));
  QG_ASSIGN_OR_RETURN(o.early_stopping_patience, f.Integer("early_stopping_patience", o.early_stopping_patience, 0, kAny));
  QG_ASSIGN_OR_RETURN(o.val_size, f.Integer("val_size", o.val_size, 0, kAny));
  QG_ASSIGN_OR_RETURN(o.crop_padding, f.Integer("crop_padding", o.crop_padding, 0, 1024));
  QG_ASSIGN_OR_RETURN(o.horizontal_flip, f.Flag("horizontal_flip", o.horizontal_flip));
  QG_ASSIGN_OR_RETURN(int64_t seed, f.Integer("seed", 0, INT64_MIN, kAny));
  o.seed = static_cast<uint64_t>(seed);
  QG_ASSIGN_OR_RETURN(o.max_steps_per_epoch, f.Integer("max_steps_per_epoch", o.max_steps_per_epoch, 0, kAny));
  QG_ASSIGN_OR_RETURN(o.processes, f.Integer("processes", o.processes, -kAny, kAny));
  QG_ASSIGN_OR_RETURN(o.device, f.String("device", o.device));
  QG_ASSIGN_OR_RETURN(o.amp, f.Flag("amp", o.amp));
  return f.Finish();
}

}  // namespace

Result<TrainOptions> TrainOptions::FromJson(const nlohmann::json& j, const std::string& path) {
  JsonFields f(j, path);
  QG_RETURN_IF_ERROR(f.CheckObject());
  TrainOptions o;
  QG_RETURN_IF_ERROR(ReadFields(f, o));
  if (o.epochs < 0) {
    return Error::InvalidArgument("{}.epochs: must be 0 (keep an imported model's weights) or more (got {})", path,
                                  o.epochs);
  }
  if (o.batch_size <= 0) return Error::InvalidArgument("{}.batch_size: must be positive (got {})", path, o.batch_size);
  if (!(o.lr > 0)) return Error::InvalidArgument("{}.lr: must be positive (got {})", path, o.lr);
  if (o.processes < 1 || o.processes > 64) {
    return Error::InvalidArgument("{}.processes: must be 1 to 64 (got {})", path, o.processes);
  }
  if (o.batch_size % o.processes != 0) {
    return Error::InvalidArgument("{}.batch_size: {} is not divisible by processes {}", path, o.batch_size, o.processes);
  }
  if (o.device != "cpu" && o.device != "cuda") {
    return Error::InvalidArgument("{}.device: unknown \"{}\"; known: cpu, cuda", path, o.device);
  }
  if (o.amp && o.device != "cuda") {
    return Error::InvalidArgument("{}.amp: mixed precision trains on cuda; set {}.device to \"cuda\"", path, path);
  }
  if (o.momentum < 0 || o.momentum >= 1) return Error::InvalidArgument("{}.momentum: must be in [0, 1)", path);
  if (o.nesterov && o.momentum == 0) return Error::InvalidArgument("{}.nesterov: needs momentum > 0", path);
  if (o.label_smoothing < 0 || o.label_smoothing >= 1) {
    return Error::InvalidArgument("{}.label_smoothing: must be in [0, 1)", path);
  }
  if (o.early_stopping_patience > 0 && o.val_size <= 0) {
    return Error::InvalidArgument("{}.early_stopping_patience: needs val_size > 0 to measure validation accuracy", path);
  }
  return o;
}

}  // namespace qg::train
