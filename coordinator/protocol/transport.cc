#include "coordinator/protocol/transport.h"

#include <filesystem>

namespace qg::protocol {

namespace ssl = boost::asio::ssl;

namespace {

Status Readable(const std::string& flag, const std::string& file) {
  std::error_code ec;
  if (file.empty()) return Error::InvalidArgument("{}: a file is required", flag);
  if (!std::filesystem::is_regular_file(file, ec)) return Error::NotFound("{} '{}' does not exist", flag, file);
  return OkStatus();
}

}  // namespace

Result<TlsContext> ServerTlsContext(const std::string& cert_file, const std::string& key_file) {
  QG_RETURN_IF_ERROR(Readable("--tls-cert", cert_file));
  QG_RETURN_IF_ERROR(Readable("--tls-key", key_file));
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) return Error::InvalidArgument("--tls-cert '{}' is not a PEM certificate chain: {}", cert_file, ec.message());
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return Error::InvalidArgument("--tls-key '{}' is not a PEM private key: {}", key_file, ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Error::InvalidArgument("--tls-key '{}' does not belong to the certificate in '{}'", key_file, cert_file);
  }
  return ctx;
}

Result<TlsContext> ClientTlsContext(const std::string& ca_file) {
  QG_RETURN_IF_ERROR(Readable("--tls-ca", ca_file));
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  ctx->load_verify_file(ca_file, ec);
  if (ec) return Error::InvalidArgument("--tls-ca '{}' is not a PEM certificate: {}", ca_file, ec.message());
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return ctx;
}

}  // namespace qg::protocol
