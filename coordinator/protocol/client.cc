#include "coordinator/protocol/client.h"

#include "coordinator/protocol/auth.h"
#include "coordinator/protocol/messages.h"

namespace qg::protocol {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<Transport> Dial(asio::io_context& io, const Endpoint& endpoint, const TlsContext& tls) {
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) return Error::Unavailable("cannot resolve coordinator {}: {}", endpoint.ToString(), ec.message());
  tcp::socket socket(io);
  asio::connect(socket, addresses, ec);
  if (ec) return Error::Unavailable("cannot reach coordinator {}: {}", endpoint.ToString(), ec.message());
  socket.set_option(tcp::no_delay(true), ec);
  if (!tls) return Transport(std::move(socket));
  Transport::TlsStream stream(std::move(socket), *tls);
  // SNI, and the name (or IP address) the certificate must carry.
  SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str());
  stream.set_verify_callback(asio::ssl::host_name_verification(endpoint.host));
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) {
    return Error::Unauthenticated("TLS handshake with coordinator {} failed: {} (is --tls-ca the cluster's CA?)",
                                  endpoint.ToString(), ec.message());
  }
  return Transport(std::move(stream));
}

Result<nlohmann::json> Authenticate(Transport& transport, const Endpoint& endpoint, const Identity& identity,
                                    const nlohmann::json& hello_extra) {
  QG_ASSIGN_OR_RETURN(auto challenge, ReadMessage(transport));
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
  QG_RETURN_IF_ERROR(WriteMessage(transport, hello));
  auto welcome = ReadMessage(transport);
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

Result<nlohmann::json> Request(const Endpoint& endpoint, const std::string& token, const nlohmann::json& request,
                               const TlsContext& tls) {
  asio::io_context io;
  QG_ASSIGN_OR_RETURN(Transport transport, Dial(io, endpoint, tls));
  QG_RETURN_IF_ERROR(Authenticate(transport, endpoint, {token, "client", "quantgrid-cli"}));
  QG_RETURN_IF_ERROR(WriteMessage(transport, request));
  QG_ASSIGN_OR_RETURN(auto reply, ReadMessage(transport));
  if (reply["type"] == "error") {
    return ErrorFromJson(reply.value("error", nlohmann::json{{"code", "failed_precondition"},
                                                              {"message", reply.value("message", "?")}}));
  }
  return reply;
}

}  // namespace qg::protocol
