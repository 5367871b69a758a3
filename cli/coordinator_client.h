// Reaching a running coordinator as a client (submit, status, cancel, tune):
// its address, the cluster token, and TLS when the cluster uses it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "coordinator/protocol/client.h"
#include "coordinator/protocol/connection.h"
#include "core/base/result.h"

namespace qg::cli {

struct CoordinatorClient {
  protocol::Endpoint at;
  std::string token;
  protocol::TlsContext tls;

  Result<nlohmann::json> Ask(const nlohmann::json& request) const { return protocol::Request(at, token, request, tls); }
};

// `to`: HOST:PORT; `token_file`: empty for $QG_TOKEN_FILE or $QG_TOKEN;
// `tls_ca`: empty for plain TCP.
Result<CoordinatorClient> ReachCoordinator(const std::string& to, const std::string& token_file,
                                           const std::string& tls_ca);

}  // namespace qg::cli
