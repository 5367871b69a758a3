#include "core/base/config_hash.h"

#include "core/base/sha256.h"

namespace qg {

std::string CanonicalJson(const nlohmann::json& value) {
  // ensure_ascii keeps the bytes independent of how the input spelled Unicode.
  return value.dump(-1, ' ', /*ensure_ascii=*/true);
}

std::string ConfigHash(const nlohmann::json& value) { return Sha256Hex(CanonicalJson(value)); }

}  // namespace qg
