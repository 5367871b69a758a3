#include "coordinator/protocol/framing.h"

#include <algorithm>

namespace qg::protocol {

std::string TypeOf(const nlohmann::json& message) {
  const auto it = message.is_object() ? message.find("type") : message.end();
  return it != message.end() && it->is_string() ? it->get<std::string>() : "?";
}

Result<std::string> EncodeFrame(const nlohmann::json& message, uint32_t max_bytes) {
  // Replace invalid UTF-8 (a log line cut mid-character) instead of throwing.
  const std::string payload = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (payload.empty() || payload.size() > max_bytes) {
    return Error::InvalidArgument("message '{}' is {} bytes; frames carry at most {}", TypeOf(message),
                                  payload.size(), max_bytes);
  }
  const auto n = static_cast<uint32_t>(payload.size());
  std::string frame;
  frame.reserve(kFrameHeaderBytes + n);
  frame.push_back(static_cast<char>((n >> 24) & 0xff));
  frame.push_back(static_cast<char>((n >> 16) & 0xff));
  frame.push_back(static_cast<char>((n >> 8) & 0xff));
  frame.push_back(static_cast<char>(n & 0xff));
  frame += payload;
  return frame;
}

Result<uint32_t> DecodeFrameHeader(const std::array<uint8_t, kFrameHeaderBytes>& h, uint32_t max_bytes) {
  const uint32_t n = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | uint32_t{h[3]};
  if (n == 0) return Error::Corruption("empty frame");
  if (n > max_bytes) return Error::Corruption("frame of {} bytes exceeds the limit of {}", n, max_bytes);
  return n;
}

int JsonDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

Result<nlohmann::json> DecodePayload(std::string_view payload, int max_depth) {
  if (JsonDepth(payload, max_depth) > max_depth) {
    return Error::Corruption("frame payload nests deeper than {} levels", max_depth);
  }
  auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error::Corruption("frame payload is not JSON");
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return Error::Corruption("frame payload is not an object with a string 'type'");
  }
  return j;
}

}  // namespace qg::protocol
