#include "coordinator/protocol/framing.h"

#include <gtest/gtest.h>

namespace qg::protocol {
namespace {

std::array<uint8_t, 4> Header(const std::string& frame) {
  return {static_cast<uint8_t>(frame[0]), static_cast<uint8_t>(frame[1]), static_cast<uint8_t>(frame[2]),
          static_cast<uint8_t>(frame[3])};
}

TEST(Framing, RoundTripsAMessage) {
  const nlohmann::json m = {{"type", "lease"}, {"lease_id", "1-1"}, {"request", {{"key", "noop/0"}}}};
  auto frame = EncodeFrame(m);
  ASSERT_TRUE(frame);
  auto size = DecodeFrameHeader(Header(*frame));
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, frame->size() - 4);
  auto back = DecodePayload(std::string_view(*frame).substr(4));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m);
}

TEST(Framing, HeaderIsBigEndian) {
  EXPECT_EQ(*DecodeFrameHeader({0, 0, 1, 2}), 258u);
  EXPECT_EQ(*DecodeFrameHeader({0, 1, 0, 0}, 1u << 20), 65536u);
}

TEST(Framing, RejectsEmptyAndOversizedFrames) {
  EXPECT_EQ(DecodeFrameHeader({0, 0, 0, 0}).error().code, ErrorCode::kCorruption);
  auto huge = DecodeFrameHeader({0xff, 0xff, 0xff, 0xff});
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("exceeds the limit"), std::string::npos);
  EXPECT_FALSE(DecodeFrameHeader({0, 0, 0, 11}, 10));
  EXPECT_TRUE(DecodeFrameHeader({0, 0, 0, 10}, 10));
}

TEST(Framing, RejectsPayloadsThatAreNotTypedObjects) {
  for (const char* bad : {"{", "[1,2]", "42", "{\"kind\":\"x\"}", "{\"type\":7}", "\xff\xfe"}) {
    auto m = DecodePayload(bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().code, ErrorCode::kCorruption) << bad;
  }
}

TEST(Framing, RefusesToEncodeAMessageAboveTheLimit) {
  const nlohmann::json m = {{"type", "log"}, {"line", std::string(100, 'x')}};
  EXPECT_EQ(EncodeFrame(m, 50).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(EncodeFrame(m, 200));
}

TEST(Framing, InvalidUtf8IsReplacedNotThrown) {
  const nlohmann::json m = {{"type", "log"}, {"line", std::string("cut \xe2\x82")}};
  auto frame = EncodeFrame(m);
  ASSERT_TRUE(frame);
  EXPECT_TRUE(DecodePayload(std::string_view(*frame).substr(4)));
}

}  // namespace
}  // namespace qg::protocol
