#include "core/base/error.h"

#include <array>

namespace qg {
namespace {

struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  int exit_code;
};

// Exit codes stay below 64 so they never collide with shell signal codes (128+n).
constexpr std::array<CodeInfo, 10> kCodes = {{
    {ErrorCode::kInvalidArgument, "invalid_argument", 2},
    {ErrorCode::kNotFound, "not_found", 3},
    {ErrorCode::kCorruption, "corruption", 4},
    {ErrorCode::kIOError, "io_error", 5},
    {ErrorCode::kUnavailable, "unavailable", 6},
    {ErrorCode::kUnauthenticated, "unauthenticated", 7},
    {ErrorCode::kDeadlineExceeded, "deadline_exceeded", 8},
    {ErrorCode::kFailedPrecondition, "failed_precondition", 9},
    {ErrorCode::kCancelled, "cancelled", 10},
    {ErrorCode::kInternal, "internal", 11},
}};

}  // namespace

Error Error::WithContext(std::string_view context) const {
  return {code, fmt::format("{}: {}", context, message)};
}

std::string Error::ToString() const { return fmt::format("{}: {}", CodeName(code), message); }

std::string_view CodeName(ErrorCode code) {
  for (const auto& info : kCodes) {
    if (info.code == code) return info.name;
  }
  return "internal";
}

ErrorCode CodeFromName(std::string_view name) {
  for (const auto& info : kCodes) {
    if (info.name == name) return info.code;
  }
  return ErrorCode::kInternal;
}

int ExitCodeFor(ErrorCode code) {
  for (const auto& info : kCodes) {
    if (info.code == code) return info.exit_code;
  }
  return 11;
}

}  // namespace qg
