// Text from outside (a peer's message type, a worker's name, a spec field)
// made safe to put in a log line or an error: control characters escaped
// (a newline cannot forge a second log line), and long text cut with a note
// of how much was dropped (a megabyte of name cannot flood the log).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qg {

inline constexpr size_t kMaxLoggedChars = 200;

// Printable ASCII and UTF-8 as is; \n, \r, \t as such; other control bytes as \xNN.
std::string EscapeForLog(std::string_view text, size_t max_chars = kMaxLoggedChars);

}  // namespace qg
