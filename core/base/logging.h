// Logging: one place that configures spdlog. Components log through named
// loggers (`Log("coordinator")->info(...)`) that share the stderr sink, so a
// worker's lines and the coordinator's lines say who spoke.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace qg {

// Sets the level ("trace".."off") of every logger; safe to call again.
void InitLogging(std::string_view level = "info");
// A logger named `component`, created on first use, writing to stderr.
std::shared_ptr<spdlog::logger> Log(const std::string& component);

}  // namespace qg
