#include "core/base/log_text.h"

#include <gtest/gtest.h>

namespace qg {
namespace {

TEST(EscapeForLog, ControlCharactersCannotForgeALogLine) {
  EXPECT_EQ(EscapeForLog("worker\n[info] coordinator: all jobs done"), "worker\\n[info] coordinator: all jobs done");
  EXPECT_EQ(EscapeForLog(std::string("a\0b\x1b[31m", 8)), "a\\x00b\\x1b[31m");
  EXPECT_EQ(EscapeForLog("tab\there\\"), "tab\\there\\\\");
  EXPECT_EQ(EscapeForLog("naïve"), "naïve");
}

TEST(EscapeForLog, LongTextIsCutWithTheCountOfWhatWasDropped) {
  const std::string huge(1 << 20, 'x');
  const std::string out = EscapeForLog(huge, 10);
  EXPECT_EQ(out, "xxxxxxxxxx...(+1048566 bytes)");
}

}  // namespace
}  // namespace qg
