#include "cli/coordinator_client.h"

#include "coordinator/protocol/auth.h"

namespace qg::cli {

Result<CoordinatorClient> ReachCoordinator(const std::string& to, const std::string& token_file,
                                           const std::string& tls_ca) {
  CoordinatorClient c;
  QG_ASSIGN_OR_RETURN(c.at, protocol::ParseEndpoint(to));
  QG_ASSIGN_OR_RETURN(c.token, protocol::LoadToken(token_file));
  if (!tls_ca.empty()) {
    QG_ASSIGN_OR_RETURN(c.tls, protocol::ClientTlsContext(tls_ca));
  }
  return c;
}

}  // namespace qg::cli
