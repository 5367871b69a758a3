#include "core/base/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace qg {
namespace {

std::mutex& LoggingMutex() {
  static std::mutex m;
  return m;
}

spdlog::level::level_enum& CurrentLevel() {
  static spdlog::level::level_enum level = spdlog::level::info;
  return level;
}

}  // namespace

void InitLogging(std::string_view level) {
  std::lock_guard lock(LoggingMutex());
  CurrentLevel() = spdlog::level::from_str(std::string(level));
  spdlog::set_pattern("[%H:%M:%S.%e] [%n] %^%l%$ %v");
  spdlog::set_level(CurrentLevel());
}

std::shared_ptr<spdlog::logger> Log(const std::string& component) {
  std::lock_guard lock(LoggingMutex());
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = spdlog::stderr_color_mt(component);
  logger->set_level(CurrentLevel());
  logger->set_pattern("[%H:%M:%S.%e] [%n] %^%l%$ %v");
  return logger;
}

}  // namespace qg
