// Cluster authentication by challenge-response: the coordinator sends a fresh
// random nonce on every connection; the peer answers with
// HMAC-SHA256(token, nonce | role | name), so the token never crosses the wire
// and a recorded answer is useless on another connection. Proofs are compared
// in constant time (CRYPTO_memcmp).
#pragma once

#include <string>
#include <string_view>

#include "core/base/result.h"

namespace qg::protocol {

// 32 random bytes from OpenSSL's RAND_bytes, hex-encoded.
std::string RandomNonce();

// Hex HMAC-SHA256 of the challenge fields under `token`.
std::string ComputeProof(std::string_view token, std::string_view nonce, std::string_view role,
                         std::string_view name);

// True when `proof` answers the challenge for `token`; constant time in the proof.
bool VerifyProof(std::string_view token, std::string_view nonce, std::string_view role, std::string_view name,
                 std::string_view proof);

// The cluster token, never from the command line: the file `token_file` when
// given, else the file named by $QG_TOKEN_FILE, else $QG_TOKEN. Surrounding
// whitespace is dropped. InvalidArgument (naming where it looked) when none
// is set or the token is shorter than 16 characters; IOError for an
// unreadable file.
Result<std::string> LoadToken(const std::string& token_file);

}  // namespace qg::protocol
