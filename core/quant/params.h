// ParamReader: strict reading of a strategy's JSON parameters. Every error
// names the JSON path ("grid.strategies[2].observer: unknown \"minmx\"; known:
// minmax, ..."), unknown keys are refused, and Resolved() returns the
// parameters with every default filled in: that is what goes into config
// hashes, so a default spelled out and a default left out hash the same.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace qg::quant {

class ParamReader {
 public:
  ParamReader(const nlohmann::json& params, std::string path);

  Result<std::string> Choice(const std::string& key, const std::string& fallback,
                             const std::vector<std::string>& allowed);
  Result<double> Number(const std::string& key, double fallback, double min, double max);
  Result<int64_t> Integer(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  Result<bool> Flag(const std::string& key, bool fallback);
  Result<std::vector<std::string>> Strings(const std::string& key);
  // InvalidArgument for any key no getter asked for.
  Status Finish() const;
  const nlohmann::json& Resolved() const { return resolved_; }

 private:
  std::string Field(const std::string& key) const { return path_ + "." + key; }
  const nlohmann::json* Get(const std::string& key);

  nlohmann::json params_;
  std::string path_;
  nlohmann::json resolved_ = nlohmann::json::object();
  std::set<std::string> seen_;
};

}  // namespace qg::quant
