#include "core/train/train_options.h"

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

Result<TrainOptions> TrainOptions::FromJson(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) return Error::InvalidArgument("{}: must be an object", path);
  static const char* kKnown[] = {"epochs", "batch_size", "lr", "min_lr", "momentum", "nesterov", "weight_decay",
                                 "warmup_epochs", "label_smoothing", "early_stopping_patience", "val_size",
                                 "crop_padding", "horizontal_flip", "seed", "max_steps_per_epoch", "processes",
                                 "device", "amp"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return Error::InvalidArgument("{}.{}: unknown field", path, key);
    }
  }
  TrainOptions o;
  try {
    o.epochs = j.value("epochs", o.epochs);
    o.batch_size = j.value("batch_size", o.batch_size);
    o.lr = j.value("lr", o.lr);
    o.min_lr = j.value("min_lr", o.min_lr);
    o.momentum = j.value("momentum", o.momentum);
    o.nesterov = j.value("nesterov", o.nesterov);
    o.weight_decay = j.value("weight_decay", o.weight_decay);
    o.warmup_epochs = j.value("warmup_epochs", o.warmup_epochs);
    o.label_smoothing = j.value("label_smoothing", o.label_smoothing);
    o.early_stopping_patience = j.value("early_stopping_patience", o.early_stopping_patience);
    o.val_size = j.value("val_size", o.val_size);
    o.crop_padding = j.value("crop_padding", o.crop_padding);
    o.horizontal_flip = j.value("horizontal_flip", o.horizontal_flip);
    o.seed = j.value("seed", o.seed);
    o.max_steps_per_epoch = j.value("max_steps_per_epoch", o.max_steps_per_epoch);
    o.processes = j.value("processes", o.processes);
    o.device = j.value("device", o.device);
    o.amp = j.value("amp", o.amp);
  } catch (const nlohmann::json::exception& e) {
    return Error::InvalidArgument("{}: {}", path, e.what());
  }
  if (o.epochs <= 0) return Error::InvalidArgument("{}.epochs: must be positive (got {})", path, o.epochs);
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
