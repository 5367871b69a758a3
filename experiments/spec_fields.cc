#include "experiments/spec_fields.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace qg::exp {

std::string JoinPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

Status RejectUnknownKeys(const nlohmann::json& obj, const std::string& path, const std::vector<std::string>& known) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Error::InvalidArgument("{}: unknown field \"{}\"; known: {}", path.empty() ? "spec" : path, key,
                                    fmt::join(known, ", "));
    }
  }
  return OkStatus();
}

Result<std::string> GetString(const nlohmann::json& obj, const std::string& path, const std::string& key,
                              bool required, const std::string& fallback) {
  if (!obj.contains(key)) {
    if (required) return Error::InvalidArgument("{}: required", JoinPath(path, key));
    return fallback;
  }
  if (!obj[key].is_string()) return Error::InvalidArgument("{}: must be a string", JoinPath(path, key));
  return obj[key].get<std::string>();
}

}  // namespace qg::exp
