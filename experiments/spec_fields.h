// Reading fields of a JSON spec with errors that name their JSON path
// ("train.lr: must be a number"): shared by every section's parser.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/base/result.h"

namespace qg::exp {

// "path.key", or "key" at the top level.
std::string JoinPath(const std::string& path, const std::string& key);

// InvalidArgument naming the first key of `obj` not in `known`, and listing them.
Status RejectUnknownKeys(const nlohmann::json& obj, const std::string& path, const std::vector<std::string>& known);

// obj[key] as a string; `fallback` when absent and not required.
Result<std::string> GetString(const nlohmann::json& obj, const std::string& path, const std::string& key,
                              bool required, const std::string& fallback = "");

}  // namespace qg::exp
