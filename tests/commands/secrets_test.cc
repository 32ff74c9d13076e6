// ctest-labels: unit
#include "commands/secrets.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/fixtures/temp_dir.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("ROLLBOOK_TEST_TOKEN", "tok-123456", 1); }
  void TearDown() override {
    ::unsetenv("ROLLBOOK_TEST_TOKEN");
    ::unsetenv("ROLLBOOK_TEST_EMPTY");
  }

  std::string WriteFile(const std::string& name, const std::string& bytes) {
    std::string path = dir_.Join(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  testing::TempDir dir_;
  Redactor redactor_;
};

TEST_F(SecretsTest, EnvReferenceResolvesInsideText) {
  json params = {{"headers", {{"Authorization", "Bearer ${env:ROLLBOOK_TEST_TOKEN}"}}}};

  Result<json> resolved = ResolveSecrets(params, redactor_);

  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ((*resolved)["headers"]["Authorization"], "Bearer tok-123456");
  EXPECT_EQ(params["headers"]["Authorization"], "Bearer ${env:ROLLBOOK_TEST_TOKEN}");
}

TEST_F(SecretsTest, FileReferenceDropsTrailingNewline) {
  std::string path = WriteFile("key", "file-secret-value\n");
  json params = {{"argv", {"tool", "--key=${file:" + path + "}"}}};

  Result<json> resolved = ResolveSecrets(params, redactor_);

  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ((*resolved)["argv"][1], "--key=file-secret-value");
}

TEST_F(SecretsTest, ResolvedValuesAreRedacted) {
  std::string path = WriteFile("key", "file-secret-value");
  json params = {{"a", "${env:ROLLBOOK_TEST_TOKEN}"}, {"b", {"${file:" + path + "}"}}};
  ASSERT_TRUE(ResolveSecrets(params, redactor_).ok());

  std::string text = redactor_.Apply("token tok-123456 and key file-secret-value end");

  EXPECT_EQ(text, "token [redacted] and key [redacted] end");
}

TEST_F(SecretsTest, OtherPlaceholdersStayAsWritten) {
  json params = {{"text", "${vars.region} costs $5 {not a ref}"}, {"count", 3}};

  Result<json> resolved = ResolveSecrets(params, redactor_);

  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, params);
}

TEST_F(SecretsTest, UnsetVariableErrorNamesReference) {
  json params = {{"url", "${env:ROLLBOOK_TEST_MISSING}"}};

  Result<json> resolved = ResolveSecrets(params, redactor_);

  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  EXPECT_NE(resolved.status().message().find("${env:ROLLBOOK_TEST_MISSING}"), std::string::npos);
}

TEST_F(SecretsTest, EmptyVariableIsRejected) {
  ::setenv("ROLLBOOK_TEST_EMPTY", "", 1);
  Result<json> resolved = ResolveSecrets(json{{"x", "${env:ROLLBOOK_TEST_EMPTY}"}}, redactor_);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SecretsTest, UnreadableFileErrorNamesReferenceNotContent) {
  std::string path = dir_.Join("absent");
  Result<json> resolved = ResolveSecrets(json{{"x", "${file:" + path + "}"}}, redactor_);

  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  EXPECT_NE(resolved.status().message().find("${file:" + path + "}"), std::string::npos);
}

TEST_F(SecretsTest, ErrorNeverContainsResolvedValue) {
  json params = {{"a", "${env:ROLLBOOK_TEST_TOKEN}"}, {"b", "${env:ROLLBOOK_TEST_MISSING}"}};
  Result<json> resolved = ResolveSecrets(params, redactor_);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().message().find("tok-123456"), std::string::npos);
}

TEST(RedactorTest, IgnoresShortValues) {
  Redactor redactor;
  redactor.Add("abc");
  EXPECT_EQ(redactor.Apply("abc abc"), "abc abc");
}

TEST(RedactorTest, LongerSecretWinsOverContainedOne) {
  Redactor redactor;
  redactor.Add("pass");
  redactor.Add("password-1234");
  EXPECT_EQ(redactor.Apply("password-1234 pass"), "[redacted] [redacted]");
}

TEST(RedactorTest, RedactsJsonEscapedForm) {
  Redactor redactor;
  redactor.Add("line1\nline2\"quoted\"");
  std::string echoed = json{{"echo", "line1\nline2\"quoted\""}}.dump();
  EXPECT_EQ(redactor.Apply(echoed), "{\"echo\":\"[redacted]\"}");
}

}  // namespace
}  // namespace rollbook::commands
