#include "coordinator/protocol/auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "tests/testing/temp_dir.h"

namespace qg::protocol {
namespace {

const char* kToken = "0123456789abcdef-cluster";

TEST(Auth, NoncesAreFreshAndLong) {
  const auto a = RandomNonce();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, RandomNonce());
}

TEST(Auth, ProofIsHmacSha256OfTheChallenge) {
  // Known answer from Python's hmac module over the length-prefixed fields
  // "5:nonce|6:worker|2:w1".
  const auto proof = ComputeProof(kToken, "nonce", "worker", "w1");
  EXPECT_EQ(proof, "d6ceaa9f12067d5b140c912678b02d84e22fc7d9381fc97a386c7d4ac8371844");
  EXPECT_EQ(proof, ComputeProof(kToken, "nonce", "worker", "w1"));
  EXPECT_TRUE(VerifyProof(kToken, "nonce", "worker", "w1", proof));
}

TEST(Auth, AnyChangedFieldFailsVerification) {
  const auto proof = ComputeProof(kToken, "nonce", "worker", "w1");
  EXPECT_FALSE(VerifyProof("another-token-of-length", "nonce", "worker", "w1", proof));
  EXPECT_FALSE(VerifyProof(kToken, "nonce2", "worker", "w1", proof));
  EXPECT_FALSE(VerifyProof(kToken, "nonce", "client", "w1", proof));
  EXPECT_FALSE(VerifyProof(kToken, "nonce", "worker", "w2", proof));
  EXPECT_FALSE(VerifyProof(kToken, "nonce", "worker", "w1", proof.substr(1)));
  EXPECT_FALSE(VerifyProof(kToken, "nonce", "worker", "w1", ""));
  // Field boundaries are part of the message: ("ab","c") != ("a","bc").
  EXPECT_NE(ComputeProof(kToken, "n", "ab", "c"), ComputeProof(kToken, "n", "a", "bc"));
}

TEST(Auth, LoadsTheTokenFromAFileOrTheEnvironment) {
  qg::testing::TempDir dir;
  std::ofstream(dir.File("token")) << "  " << kToken << "\n";
  unsetenv("QG_TOKEN");
  unsetenv("QG_TOKEN_FILE");
  EXPECT_EQ(*LoadToken(dir.File("token")), kToken);
  setenv("QG_TOKEN_FILE", dir.File("token").c_str(), 1);
  EXPECT_EQ(*LoadToken(""), kToken);
  unsetenv("QG_TOKEN_FILE");
  setenv("QG_TOKEN", kToken, 1);
  EXPECT_EQ(*LoadToken(""), kToken);
  setenv("QG_TOKEN", "short", 1);
  EXPECT_EQ(LoadToken("").error().code, ErrorCode::kInvalidArgument);
  unsetenv("QG_TOKEN");
  auto none = LoadToken("");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("QG_TOKEN"), std::string::npos);
  EXPECT_FALSE(LoadToken(dir.File("missing")));
}

}  // namespace
}  // namespace qg::protocol
