#include "cli/stop_on_signal.h"

#include <pthread.h>

#include <csignal>
#include <thread>

namespace qg::cli {

void StopOnSignal(std::function<void()> stop) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals, stop = std::move(stop)] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop();
  }).detach();
}

}  // namespace qg::cli
