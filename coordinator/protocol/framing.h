// Wire framing shared by the coordinator, workers and clients: every message
// is one frame, a 4-byte big-endian payload length followed by that many bytes
// of JSON (an object with a string "type"). A length of zero or above the
// limit, a truncated payload, or a payload that is not such an object is a
// protocol error: the receiver closes that connection and logs why.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace qg::protocol {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 4;
// Results carry layer-wise MSE and confusion matrices: generous, but bounded
// so a hostile length cannot make the coordinator allocate gigabytes.
inline constexpr uint32_t kMaxFrameBytes = 16u << 20;
// Before a peer has authenticated, frames are a challenge's answer: tiny.
inline constexpr uint32_t kMaxPreAuthFrameBytes = 64u << 10;
// No message of the protocol nests deeper than a handful of levels; deeper
// JSON is refused before it is parsed (recursion in parsers, printers and
// destructors would overflow the stack).
inline constexpr int kMaxJsonDepth = 64;

// The message's type for errors and logs: its "type" when that is a string,
// else "?" (a message being sent or refused may have anything there).
std::string TypeOf(const nlohmann::json& message);

// The frame for `message` (header + compact JSON). InvalidArgument when the
// payload would exceed `max_bytes`.
Result<std::string> EncodeFrame(const nlohmann::json& message, uint32_t max_bytes = kMaxFrameBytes);

// The payload length a header announces; Corruption when it is 0 or > max_bytes.
Result<uint32_t> DecodeFrameHeader(const std::array<uint8_t, kFrameHeaderBytes>& header,
                                   uint32_t max_bytes = kMaxFrameBytes);

// The message in a payload; Corruption when it is not a JSON object with a
// string "type", or nests deeper than `max_depth`.
Result<nlohmann::json> DecodePayload(std::string_view payload, int max_depth = kMaxJsonDepth);

// How deep the JSON text nests (brackets outside strings), scanning no
// further than `limit` + 1 levels.
int JsonDepth(std::string_view text, int limit);

}  // namespace qg::protocol
