// Long-running verbs (coordinator, worker) stop cleanly on SIGINT or SIGTERM:
// the signals are blocked in every thread and a waiter thread calls `stop`.
#pragma once

#include <functional>

namespace qg::cli {

// Call before starting other threads, so they inherit the blocked mask.
void StopOnSignal(std::function<void()> stop);

}  // namespace qg::cli
