#include "coordinator/health_check.h"

#include <vector>

namespace qg::coord {

void HealthCheck::Watch(uint64_t peer, std::chrono::milliseconds timeout, std::string why) {
  peers_[peer] = {timeout, clock_.SteadyNow() + timeout, std::move(why)};
}

void HealthCheck::Beat(uint64_t peer) {
  auto it = peers_.find(peer);
  if (it != peers_.end()) it->second.deadline = clock_.SteadyNow() + it->second.timeout;
}

void HealthCheck::Check() {
  const auto now = clock_.SteadyNow();
  std::vector<std::pair<uint64_t, std::string>> dead;
  for (const auto& [peer, w] : peers_) {
    if (w.deadline <= now) dead.emplace_back(peer, w.why);
  }
  for (auto& [peer, why] : dead) {
    peers_.erase(peer);
    on_dead_(peer, why);
  }
}

}  // namespace qg::coord
