// HealthCheck: which peers have gone silent (the shape of Ray's
// GcsHealthCheckManager). Each watched peer has a deadline; anything it sends
// moves the deadline on (Beat); Check() declares dead every peer past its
// deadline, forgets it and calls the death callback once for it. A peer that
// has not said hello yet is watched with the handshake timeout, a worker with
// heartbeat period x missed beats.
//
// Deadlines are on the injected Clock's steady time: a wall-clock step (NTP)
// kills no one, and tests drive time with a FakeClock instead of sleeping.
// Not thread-safe: the coordinator calls it from its io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "core/base/clock.h"

namespace qg::coord {

class HealthCheck {
 public:
  using DeathCallback = std::function<void(uint64_t peer, const std::string& why)>;

  HealthCheck(const Clock& clock, DeathCallback on_dead) : clock_(clock), on_dead_(std::move(on_dead)) {}
  HealthCheck(const HealthCheck&) = delete;
  HealthCheck& operator=(const HealthCheck&) = delete;

  // Starts (or restarts) watching `peer`: dead unless heard from within
  // `timeout`, and then `why` is the reason given.
  void Watch(uint64_t peer, std::chrono::milliseconds timeout, std::string why);
  // The peer was heard from: its deadline moves `timeout` past now.
  void Beat(uint64_t peer);
  void Forget(uint64_t peer) { peers_.erase(peer); }
  // Calls the death callback for every peer past its deadline (it may call
  // Forget or Watch on this object).
  void Check();
  size_t watched() const { return peers_.size(); }

 private:
  struct Watched {
    std::chrono::milliseconds timeout;
    Clock::time_point deadline;
    std::string why;
  };
  const Clock& clock_;
  DeathCallback on_dead_;
  std::map<uint64_t, Watched> peers_;
};

}  // namespace qg::coord
