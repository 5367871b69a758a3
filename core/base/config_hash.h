// Config hashes: the identity of a job's result. SHA-256 over canonical JSON
// (object keys sorted, no whitespace, numbers in nlohmann's shortest round-trip
// form), so key order in a spec never changes a hash and any changed value does.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace qg {

// Canonical text of `value`. nlohmann::json objects keep keys sorted, so dump()
// without indentation is canonical.
std::string CanonicalJson(const nlohmann::json& value);
// Hex SHA-256 of CanonicalJson(value).
std::string ConfigHash(const nlohmann::json& value);

}  // namespace qg
