// Error: the one error type of quantgrid. A small closed set of codes (leveldb
// Status, absl canonical codes) plus a message that names the culprit: the file,
// the JSON path, the worker, the layer. Specifics go in the message, not in new
// codes.
//
//   return Error::NotFound("dataset dir '{}' does not exist", dir);
//
// main() prints `quantgrid: <code>: <message>` and exits with ExitCodeFor(code).
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

namespace qg {

enum class ErrorCode {
  kInvalidArgument,     // bad spec, flag or parameter
  kNotFound,            // dataset, model, job, file
  kCorruption,          // malformed file, truncated frame
  kIOError,             // the OS refused a read or write
  kUnavailable,         // dead worker, locked database: retrying may help
  kUnauthenticated,     // wrong or missing token
  kDeadlineExceeded,    // a lease or a wait ran out
  kFailedPrecondition,  // the system is not in a state that allows this
  kCancelled,           // a user or the coordinator asked to stop
  kInternal,            // a library threw something we did not expect
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  template <typename... Args>
  static Error InvalidArgument(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kInvalidArgument, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Error NotFound(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kNotFound, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Error Corruption(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kCorruption, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Error IOError(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kIOError, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Error Unavailable(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kUnavailable, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Error Unauthenticated(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kUnauthenticated, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Error DeadlineExceeded(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kDeadlineExceeded, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Error FailedPrecondition(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kFailedPrecondition, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Error Cancelled(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kCancelled, fmt::format(f, std::forward<Args>(a)...)};
  }
  template <typename... Args>
  static Error Internal(fmt::format_string<Args...> f, Args&&... a) {
    return {ErrorCode::kInternal, fmt::format(f, std::forward<Args>(a)...)};
  }

  // The same error with "context: " in front, for adding the caller's culprit.
  Error WithContext(std::string_view context) const;
  // "not_found: dataset dir 'x' does not exist"
  std::string ToString() const;
};

// Stable lower-case name used on the command line, in logs and on the wire.
std::string_view CodeName(ErrorCode code);
// Inverse of CodeName; kInternal for an unknown name.
ErrorCode CodeFromName(std::string_view name);
// Process exit status for a command that failed with this code (never 0).
int ExitCodeFor(ErrorCode code);

}  // namespace qg
