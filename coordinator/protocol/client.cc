#include "coordinator/protocol/client.h"

#include "coordinator/protocol/auth.h"
#include "coordinator/protocol/messages.h"

namespace qg::protocol {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<nlohmann::json> ConnectAndAuthenticate(tcp::socket& socket, const Endpoint& endpoint,
                                              const Identity& identity, const nlohmann::json& hello_extra) {
  boost::system::error_code ec;
  tcp::resolver resolver(socket.get_executor());
  const auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) return Error::Unavailable("cannot resolve coordinator {}: {}", endpoint.ToString(), ec.message());
  asio::connect(socket, addresses, ec);
  if (ec) return Error::Unavailable("cannot reach coordinator {}: {}", endpoint.ToString(), ec.message());
  socket.set_option(tcp::no_delay(true), ec);

  QG_ASSIGN_OR_RETURN(auto challenge, ReadMessage(socket));
  if (challenge["type"] != "challenge" || !challenge.contains("nonce") || !challenge["nonce"].is_string()) {
    return Error::Corruption("coordinator {} did not send a challenge", endpoint.ToString());
  }
  if (challenge.value("protocol", 0u) != kProtocolVersion) {
    return Error::FailedPrecondition("coordinator {} speaks protocol {}, this quantgrid speaks {}",
                                     endpoint.ToString(), challenge.value("protocol", 0u), kProtocolVersion);
  }
  nlohmann::json hello = hello_extra;
  hello["type"] = "hello";
  hello["protocol"] = kProtocolVersion;
  hello["role"] = identity.role;
  hello["name"] = identity.name;
  hello["proof"] = ComputeProof(identity.token, challenge["nonce"].get<std::string>(), identity.role, identity.name);
  QG_RETURN_IF_ERROR(WriteMessage(socket, hello));
  auto welcome = ReadMessage(socket);
  if (!welcome) {
    return Error::Unavailable("coordinator {} closed the connection during the handshake",
                              endpoint.ToString());
  }
  if ((*welcome)["type"] == "error") {
    return Error::Unauthenticated("coordinator {} refused this {}: {}", endpoint.ToString(), identity.role,
                                  welcome->value("message", "no reason given"));
  }
  if ((*welcome)["type"] != "welcome") {
    return Error::Corruption("coordinator {} answered the hello with '{}'", endpoint.ToString(),
                             (*welcome)["type"].get<std::string>());
  }
  return *welcome;
}

Result<nlohmann::json> Request(const Endpoint& endpoint, const std::string& token, const nlohmann::json& request) {
  asio::io_context io;
  tcp::socket socket(io);
  QG_RETURN_IF_ERROR(ConnectAndAuthenticate(socket, endpoint, {token, "client", "quantgrid-cli"}));
  QG_RETURN_IF_ERROR(WriteMessage(socket, request));
  QG_ASSIGN_OR_RETURN(auto reply, ReadMessage(socket));
  if (reply["type"] == "error") {
    return ErrorFromJson(reply.value("error", nlohmann::json{{"code", "failed_precondition"},
                                                              {"message", reply.value("message", "?")}}));
  }
  return reply;
}

}  // namespace qg::protocol
