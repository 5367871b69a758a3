#include "core/base/log_text.h"

#include <fmt/format.h>

namespace qg {

std::string EscapeForLog(std::string_view text, size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars) + 16);
  size_t used = 0;
  for (; used < text.size() && out.size() < max_chars; ++used) {
    const auto c = static_cast<unsigned char>(text[used]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (used < text.size()) out += fmt::format("...(+{} bytes)", text.size() - used);
  return out;
}

}  // namespace qg
