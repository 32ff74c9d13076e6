// ctest-labels: unit
// Request-target decoding and base64url, and the HTTP status mapping of every StatusCode.
#include "tools/server/url.h"

#include <gtest/gtest.h>

#include "tools/server/api.h"

namespace rollbook::server {
namespace {

TEST(PercentDecodeTest, DecodesEscapesAndPlus) {
  EXPECT_EQ(*PercentDecode("a%2Fb%20c", false), "a/b c");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(*PercentDecode("%e2%82%ac", false), "\xe2\x82\xac");
}

TEST(PercentDecodeTest, RejectsBadEscapes) {
  for (const char* bad : {"%", "%4", "%zz", "abc%g0", "%00"}) {
    auto decoded = PercentDecode(bad, false);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(decoded.status().message().find("percent-encoding"), std::string::npos);
  }
}

TEST(ParseQueryTest, KeepsOrderAndRepeats) {
  auto pairs = ParseQuery("type=a&type=b&flag&x=%3D&&y=");
  ASSERT_TRUE(pairs.ok());
  std::vector<std::pair<std::string, std::string>> expected = {
      {"type", "a"}, {"type", "b"}, {"flag", ""}, {"x", "="}, {"y", ""}};
  EXPECT_EQ(*pairs, expected);
  EXPECT_FALSE(ParseQuery("a=%zz").ok());
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string bytes;
  for (int length = 0; length < 40; ++length) {
    std::string encoded = Base64UrlEncode(bytes);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos) << encoded;
    auto decoded = Base64UrlDecode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(length * 37));
  }
  EXPECT_FALSE(Base64UrlDecode("ab$d").ok());
  EXPECT_FALSE(Base64UrlDecode("abcde").ok());
}

TEST(HttpStatusForTest, MapsEveryCode) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kFailedPrecondition), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kLimitExceeded), 413);
  EXPECT_EQ(HttpStatusFor(StatusCode::kBusy), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kTimeout), 504);
  EXPECT_EQ(HttpStatusFor(StatusCode::kCorruption), 500);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), 500);
  HttpResponse response = ErrorResponse(Conflict("rb-2 is active"));
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(response.body, "{\"error\":{\"code\":\"conflict\",\"message\":\"rb-2 is active\"}}\n");
}

}  // namespace
}  // namespace rollbook::server
