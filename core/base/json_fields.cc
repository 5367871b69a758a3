#include "core/base/json_fields.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace qg {

using nlohmann::json;

std::string JoinPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

namespace {
const json& EmptyObject() {
  static const json empty = json::object();
  return empty;
}
}  // namespace

JsonFields::JsonFields(const json& object, std::string path, std::string noun)
    : object_(object.is_null() ? &EmptyObject() : &object), path_(std::move(path)), noun_(std::move(noun)) {}

Status JsonFields::CheckObject() const {
  if (!object_->is_object()) return Error::InvalidArgument("{}: must be an object", path_.empty() ? "spec" : path_);
  return OkStatus();
}

const json* JsonFields::Get(const std::string& key) {
  if (seen_.insert(key).second) known_.push_back(key);
  if (!object_->is_object()) return nullptr;
  const auto it = object_->find(key);
  return it == object_->end() ? nullptr : &*it;
}

bool JsonFields::Has(const std::string& key) const { return object_->is_object() && object_->contains(key); }

const json* JsonFields::Raw(const std::string& key) { return Get(key); }

Result<std::string> JsonFields::String(const std::string& key, const std::string& fallback) {
  const auto* v = Get(key);
  std::string value = fallback;
  if (v) {
    if (!v->is_string()) return Error::InvalidArgument("{}: must be a string", Field(key));
    value = v->get<std::string>();
  }
  resolved_[key] = value;
  return value;
}

Result<std::string> JsonFields::RequiredString(const std::string& key) {
  if (!Has(key)) {
    Get(key);
    return Error::InvalidArgument("{}: required", Field(key));
  }
  return String(key);
}

Result<std::string> JsonFields::Choice(const std::string& key, const std::string& fallback,
                                       const std::vector<std::string>& allowed, bool required) {
  QG_ASSIGN_OR_RETURN(std::string value, required ? RequiredString(key) : String(key, fallback));
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    return Error::InvalidArgument("{}: unknown \"{}\"; known: {}", Field(key), value, fmt::join(allowed, ", "));
  }
  return value;
}

Result<double> JsonFields::Number(const std::string& key, double fallback, double min, double max) {
  const auto* v = Get(key);
  double value = fallback;
  if (v) {
    if (!v->is_number()) return Error::InvalidArgument("{}: must be a number", Field(key));
    value = v->get<double>();
  }
  if (!(value >= min && value <= max)) {
    return Error::InvalidArgument("{}: {} is outside [{}, {}]", Field(key), value, min, max);
  }
  resolved_[key] = value;
  return value;
}

Result<int64_t> JsonFields::Integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
  const auto* v = Get(key);
  int64_t value = fallback;
  if (v) {
    if (!v->is_number_integer()) return Error::InvalidArgument("{}: must be an integer", Field(key));
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return Error::InvalidArgument("{}: {} is outside [{}, {}]", Field(key), v->get<uint64_t>(), min, max);
    }
    value = v->get<int64_t>();
  }
  if (value < min || value > max) {
    return Error::InvalidArgument("{}: {} is outside [{}, {}]", Field(key), value, min, max);
  }
  resolved_[key] = value;
  return value;
}

Result<bool> JsonFields::Flag(const std::string& key, bool fallback) {
  const auto* v = Get(key);
  bool value = fallback;
  if (v) {
    if (!v->is_boolean()) return Error::InvalidArgument("{}: must be true or false", Field(key));
    value = v->get<bool>();
  }
  resolved_[key] = value;
  return value;
}

namespace {

template <typename T>
Result<std::vector<T>> ListOf(const json* v, const std::string& field, std::vector<T> fallback, bool non_empty) {
  constexpr bool kStrings = std::is_same_v<T, std::string>;
  if (v == nullptr) return fallback;
  if (!v->is_array() || (non_empty && v->empty())) {
    return Error::InvalidArgument("{}: must be a {}list", field, non_empty ? "non-empty " : "");
  }
  std::vector<T> out;
  for (size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    if (kStrings ? !e.is_string() : !e.is_number_integer()) {
      return Error::InvalidArgument("{}[{}]: must be {}", field, i, kStrings ? "a string" : "an integer");
    }
    out.push_back(e.get<T>());
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> JsonFields::Strings(const std::string& key, std::vector<std::string> fallback,
                                                     bool non_empty) {
  QG_ASSIGN_OR_RETURN(auto value, ListOf<std::string>(Get(key), Field(key), std::move(fallback), non_empty));
  resolved_[key] = value;
  return value;
}

Result<std::vector<int64_t>> JsonFields::Integers(const std::string& key, std::vector<int64_t> fallback,
                                                  bool non_empty) {
  QG_ASSIGN_OR_RETURN(auto value, ListOf<int64_t>(Get(key), Field(key), std::move(fallback), non_empty));
  resolved_[key] = value;
  return value;
}

Result<json> JsonFields::Object(const std::string& key, bool required) {
  const auto* v = Get(key);
  if (v == nullptr) {
    if (required) return Error::InvalidArgument("{}: required", Field(key));
    return json::object();
  }
  if (!v->is_object()) return Error::InvalidArgument("{}: must be an object", Field(key));
  resolved_[key] = *v;
  return *v;
}

Status JsonFields::AllowOnly(const std::vector<std::string>& known) {
  for (const auto& key : known) {
    if (seen_.insert(key).second) known_.push_back(key);
  }
  return Finish();
}

Status JsonFields::Finish() const {
  QG_RETURN_IF_ERROR(CheckObject());
  for (const auto& [key, value] : object_->items()) {
    if (!seen_.count(key)) {
      return Error::InvalidArgument("{}: unknown {} \"{}\"; known: {}", path_.empty() ? "spec" : path_, noun_, key,
                                    fmt::join(known_, ", "));
    }
  }
  return OkStatus();
}

}  // namespace qg
