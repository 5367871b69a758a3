// The connecting side of the handshake (messages.h), for workers and for
// client verbs: dial, answer the challenge, read the welcome.
#pragma once

#include <nlohmann/json.hpp>

#include <boost/asio.hpp>
#include <string>

#include "coordinator/protocol/connection.h"
#include "core/base/result.h"

namespace qg::protocol {

struct Identity {
  std::string token;
  std::string role;  // "worker" or "client"
  std::string name;
};

// Connects and authenticates; the welcome message. Unavailable when nothing
// answers at `endpoint`; Unauthenticated when the coordinator refuses the
// token; FailedPrecondition on a protocol version mismatch.
Result<nlohmann::json> ConnectAndAuthenticate(boost::asio::ip::tcp::socket& socket, const Endpoint& endpoint,
                                              const Identity& identity,
                                              const nlohmann::json& hello_extra = nlohmann::json::object());

// One client request and its reply on a fresh connection; an `error` reply
// becomes an Error naming the coordinator.
Result<nlohmann::json> Request(const Endpoint& endpoint, const std::string& token, const nlohmann::json& request);

}  // namespace qg::protocol
