#include "coordinator/protocol/framing.h"

namespace qg::protocol {

Result<std::string> EncodeFrame(const nlohmann::json& message, uint32_t max_bytes) {
  // Replace invalid UTF-8 (a log line cut mid-character) instead of throwing.
  const std::string payload = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (payload.empty() || payload.size() > max_bytes) {
    return Error::InvalidArgument("message '{}' is {} bytes; frames carry at most {}", message.value("type", "?"),
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

Result<nlohmann::json> DecodePayload(std::string_view payload) {
  auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error::Corruption("frame payload is not JSON");
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return Error::Corruption("frame payload is not an object with a string 'type'");
  }
  return j;
}

}  // namespace qg::protocol
