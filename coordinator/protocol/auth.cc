#include "coordinator/protocol/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>
#include <fmt/format.h>

#include "core/base/files.h"

namespace qg::protocol {
namespace {

std::string Hex(const unsigned char* bytes, size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) out += fmt::format("{:02x}", bytes[i]);
  return out;
}

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

std::string RandomNonce() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // RAND_bytes only fails when the OS has no entropy source; refuse to go on.
    std::abort();
  }
  return Hex(bytes.data(), bytes.size());
}

std::string ComputeProof(std::string_view token, std::string_view nonce, std::string_view role,
                         std::string_view name) {
  // Length-prefixed fields: ("ab", "c") and ("a", "bc") must not collide.
  const std::string message =
      fmt::format("{}:{}|{}:{}|{}:{}", nonce.size(), nonce, role.size(), role, name.size(), name);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &mac_len);
  return Hex(mac.data(), mac_len);
}

bool VerifyProof(std::string_view token, std::string_view nonce, std::string_view role, std::string_view name,
                 std::string_view proof) {
  const std::string expected = ComputeProof(token, nonce, role, name);
  if (proof.size() != expected.size()) return false;
  return CRYPTO_memcmp(expected.data(), proof.data(), expected.size()) == 0;
}

Result<std::string> LoadToken(const std::string& token_file) {
  std::string token;
  std::string source;
  const char* env_file = std::getenv("QG_TOKEN_FILE");
  const char* env_token = std::getenv("QG_TOKEN");
  if (!token_file.empty() || (env_file && *env_file)) {
    source = !token_file.empty() ? token_file : std::string(env_file);
    QG_ASSIGN_OR_RETURN(token, ReadFile(source));
  } else if (env_token && *env_token) {
    source = "$QG_TOKEN";
    token = env_token;
  } else {
    return Error::InvalidArgument(
        "no cluster token: pass --token-file FILE, or set QG_TOKEN_FILE or QG_TOKEN (never on the command line)");
  }
  token = Trim(std::move(token));
  if (token.size() < 16) {
    return Error::InvalidArgument("cluster token from {} is {} characters; use at least 16", source, token.size());
  }
  return token;
}

}  // namespace qg::protocol
