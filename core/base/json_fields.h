// JsonFields: strict reading of one JSON object's fields, shared by experiment
// specs, strategy parameters, training recipes and job configs, so that every
// error reads the same way: "<path>.<field>: <what is wrong>"
// ("grid.strategies[2].observer: unknown \"minmx\"; known: minmax, ...").
//
//   JsonFields f(spec["measure"], "measure");
//   QG_ASSIGN_OR_RETURN(int64_t runs, f.Integer("runs", 50, 1, 100000));
//   QG_RETURN_IF_ERROR(f.Finish());          // refuses fields nobody asked for
//   hash(f.Resolved());                      // every default spelled out
//
// Resolved() holds each field read, with its default filled in: what goes into
// config hashes, so a default spelled out and a default left out hash the same.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace qg {

// "path.key", or "key" at the top level (empty path).
std::string JoinPath(const std::string& path, const std::string& key);

class JsonFields {
 public:
  // `object` may be null (no fields: every default); it is read in place and
  // must outlive this reader. `path` names it in errors; empty for a
  // document's top level. `noun` names its fields in the unknown-field error
  // ("field", or "parameter" for a strategy's).
  JsonFields(const nlohmann::json& object, std::string path, std::string noun = "field");

  // InvalidArgument "<path>: must be an object" unless the object is one (or null).
  Status CheckObject() const;

  Result<std::string> String(const std::string& key, const std::string& fallback = "");
  Result<std::string> RequiredString(const std::string& key);
  // A string from `allowed` (the error lists them).
  Result<std::string> Choice(const std::string& key, const std::string& fallback,
                             const std::vector<std::string>& allowed, bool required = false);
  Result<double> Number(const std::string& key, double fallback, double min, double max);
  Result<int64_t> Integer(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  Result<bool> Flag(const std::string& key, bool fallback);
  // A list; `non_empty` refuses [] when the field is present.
  Result<std::vector<std::string>> Strings(const std::string& key, std::vector<std::string> fallback = {},
                                           bool non_empty = false);
  Result<std::vector<int64_t>> Integers(const std::string& key, std::vector<int64_t> fallback = {},
                                        bool non_empty = false);
  // A nested object ({} when absent and not required), for a JsonFields of its own.
  Result<nlohmann::json> Object(const std::string& key, bool required = false);
  // The raw value (null when absent), marked as known; the caller checks it.
  const nlohmann::json* Raw(const std::string& key);
  bool Has(const std::string& key) const;

  // InvalidArgument "<path>: unknown field \"<key>\"; known: a, b" for the
  // first field no getter asked for.
  Status Finish() const;
  // Declares every field up front and refuses unknown ones at once (the
  // typo'd field is then the error, not the required one it was meant to be).
  Status AllowOnly(const std::vector<std::string>& known);
  const nlohmann::json& Resolved() const { return resolved_; }
  std::string Field(const std::string& key) const { return JoinPath(path_, key); }

 private:
  const nlohmann::json* Get(const std::string& key);

  const nlohmann::json* object_;
  std::string path_;
  std::string noun_;
  nlohmann::json resolved_ = nlohmann::json::object();
  std::vector<std::string> known_;  // in the order they were asked for
  std::set<std::string> seen_;
};

}  // namespace qg
