#include "core/quant/params.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace qg::quant {

ParamReader::ParamReader(const nlohmann::json& params, std::string path)
    : params_(params.is_null() ? nlohmann::json::object() : params), path_(std::move(path)) {}

const nlohmann::json* ParamReader::Get(const std::string& key) {
  seen_.insert(key);
  if (!params_.is_object() || !params_.contains(key)) return nullptr;
  return &params_[key];
}

Result<std::string> ParamReader::Choice(const std::string& key, const std::string& fallback,
                                        const std::vector<std::string>& allowed) {
  const auto* v = Get(key);
  std::string value = fallback;
  if (v) {
    if (!v->is_string()) return Error::InvalidArgument("{}: must be a string", Field(key));
    value = v->get<std::string>();
  }
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    return Error::InvalidArgument("{}: unknown \"{}\"; known: {}", Field(key), value, fmt::join(allowed, ", "));
  }
  resolved_[key] = value;
  return value;
}

Result<double> ParamReader::Number(const std::string& key, double fallback, double min, double max) {
  const auto* v = Get(key);
  double value = fallback;
  if (v) {
    if (!v->is_number()) return Error::InvalidArgument("{}: must be a number", Field(key));
    value = v->get<double>();
  }
  if (value < min || value > max) {
    return Error::InvalidArgument("{}: {} is outside [{}, {}]", Field(key), value, min, max);
  }
  resolved_[key] = value;
  return value;
}

Result<int64_t> ParamReader::Integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
  const auto* v = Get(key);
  int64_t value = fallback;
  if (v) {
    if (!v->is_number_integer()) return Error::InvalidArgument("{}: must be an integer", Field(key));
    value = v->get<int64_t>();
  }
  if (value < min || value > max) {
    return Error::InvalidArgument("{}: {} is outside [{}, {}]", Field(key), value, min, max);
  }
  resolved_[key] = value;
  return value;
}

Result<bool> ParamReader::Flag(const std::string& key, bool fallback) {
  const auto* v = Get(key);
  bool value = fallback;
  if (v) {
    if (!v->is_boolean()) return Error::InvalidArgument("{}: must be true or false", Field(key));
    value = v->get<bool>();
  }
  resolved_[key] = value;
  return value;
}

Result<std::vector<std::string>> ParamReader::Strings(const std::string& key) {
  const auto* v = Get(key);
  std::vector<std::string> value;
  if (v) {
    if (!v->is_array()) return Error::InvalidArgument("{}: must be a list of strings", Field(key));
    for (const auto& e : *v) {
      if (!e.is_string()) return Error::InvalidArgument("{}: must be a list of strings", Field(key));
      value.push_back(e.get<std::string>());
    }
  }
  resolved_[key] = value;
  return value;
}

Status ParamReader::Finish() const {
  if (!params_.is_object()) return Error::InvalidArgument("{}: parameters must be an object", path_);
  for (const auto& [key, value] : params_.items()) {
    if (!seen_.count(key)) {
      return Error::InvalidArgument("{}: unknown parameter \"{}\"; known: {}", path_, key, fmt::join(seen_, ", "));
    }
  }
  return OkStatus();
}

}  // namespace qg::quant
