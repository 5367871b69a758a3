// The connecting side of the handshake (messages.h), for workers and for
// client verbs: dial (over TLS when given a client TLS context), answer the
// challenge, read the welcome.
#pragma once

#include <nlohmann/json.hpp>

#include <boost/asio.hpp>
#include <string>

#include "coordinator/protocol/connection.h"
#include "coordinator/protocol/transport.h"
#include "core/base/result.h"

namespace qg::protocol {

struct Identity {
  std::string token;
  std::string role;  // "worker" or "client"
  std::string name;
};

// Connects to `endpoint`; with `tls`, handshakes and verifies that the
// coordinator's certificate chains to the CA and names the host dialled.
// Unavailable when nothing answers; Unauthenticated when the certificate is
// refused.
Result<Transport> Dial(boost::asio::io_context& io, const Endpoint& endpoint, const TlsContext& tls);

// Answers the challenge on a dialled transport; the welcome message.
// Unauthenticated when the coordinator refuses the token; FailedPrecondition
// on a protocol version mismatch.
Result<nlohmann::json> Authenticate(Transport& transport, const Endpoint& endpoint, const Identity& identity,
                                    const nlohmann::json& hello_extra = nlohmann::json::object());

// One client request and its reply on a fresh connection; an `error` reply
// becomes an Error naming the coordinator.
Result<nlohmann::json> Request(const Endpoint& endpoint, const std::string& token, const nlohmann::json& request,
                               const TlsContext& tls = nullptr);

}  // namespace qg::protocol
