#include "core/base/config_hash.h"

#include "core/base/sha256.h"

namespace qg {

std::string CanonicalJson(const nlohmann::json& value) {
  // ensure_ascii keeps the bytes independent of how the input spelled Unicode.
  return value.dump(-1, ' ', /*ensure_ascii=*/true);
}

std::string ConfigHash(const nlohmann::json& value) { return Sha256Hex(CanonicalJson(value)); }

bool IsConfigHash(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace qg
