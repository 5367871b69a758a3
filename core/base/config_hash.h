// Config hashes: the identity of a job's result. SHA-256 over canonical JSON
// (object keys sorted, no whitespace, numbers in nlohmann's shortest round-trip
// form), so key order in a spec never changes a hash and any changed value does.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace qg {

// Canonical text of `value`. nlohmann::json objects keep keys sorted, so dump()
// without indentation is canonical.
std::string CanonicalJson(const nlohmann::json& value);
// Hex SHA-256 of CanonicalJson(value).
std::string ConfigHash(const nlohmann::json& value);
// True for what ConfigHash returns: 64 lowercase hex digits. Hashes name
// folders and files, so one from outside is checked before it is used.
bool IsConfigHash(std::string_view text);

}  // namespace qg
