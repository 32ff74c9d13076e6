// ctest-labels: integration
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "commands/drivers/drivers.h"
#include "commands/secrets.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/temp_dir.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::HttpServerRequest;
using testing::HttpServerResponse;

class RotateKeyDriverTest : public ::testing::Test {
 protected:
  void WriteOldKey(unsigned mode) {
    std::ofstream(key_path_) << "old-key-value-123\n";
    ASSERT_EQ(::chmod(key_path_.c_str(), mode), 0);
  }

  static unsigned ModeOf(const std::string& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 07777;
  }

  static int64_t MtimeOf(const std::string& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec;
  }

  std::string NewKey() const {
    std::string bytes = *ReadFileBytes(key_path_);
    return bytes.substr(0, bytes.find('\n'));
  }

  StepContext Context(bool dry_run) {
    StepContext context;
    context.rollback_id = "rb-9";
    context.component = "external-services";
    context.step = "rotate";
    context.action = "rotate";
    context.role = StepRole::kChange;
    context.params = &params_;
    context.dry_run = dry_run;
    context.timeout = milliseconds(5000);
    context.backups = &store_;
    context.redactor = &redactor_;
    return context;
  }

  StepOutcome Run(json params, bool dry_run = false) {
    params_ = std::move(params);
    return driver_->Run(Context(dry_run));
  }

  // Returns every text the step result would put in the ledger or on the terminal.
  static std::string RecordedText(const StepOutcome& outcome) {
    const StepResult& result = outcome.result;
    std::string text = outcome.status.message() + "|" + result.summary + "|" +
                       result.output.stdout_text + "|" + result.output.stderr_text;
    for (const ChangeRecord& change : result.changes) {
      text += "|" + change.target + "|" + change.before + "|" + change.after + "|" + change.summary;
    }
    if (result.key_rotation) {
      text += "|" + result.key_rotation->key_id + "|" + result.key_rotation->fingerprint + "|" +
              result.key_rotation->destination;
    }
    return text;
  }

  testing::TempDir dir_;
  std::string key_path_ = dir_.Join("ai-provider.key");
  std::unique_ptr<Driver> driver_ = MakeRotateKeyDriver();
  json params_;
  BackupStore store_{dir_.Join("backups")};
  Redactor redactor_;
};

TEST_F(RotateKeyDriverTest, FileKeyIsReplacedWithMode0600) {
  WriteOldKey(0644);

  StepOutcome outcome = Run({{"file", key_path_}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(ModeOf(key_path_), 0600u);
  std::string key = NewKey();
  EXPECT_TRUE(std::regex_match(key, std::regex("[0-9a-f]{64}"))) << key.size();
  EXPECT_EQ(*ReadFileBytes(key_path_), key + "\n");
}

TEST_F(RotateKeyDriverTest, OldKeyIsBackedUpPrivately) {
  WriteOldKey(0644);

  StepOutcome outcome = Run({{"file", key_path_}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_EQ(outcome.result.backups.size(), 1u);
  const BackupRecord& record = outcome.result.backups[0];
  EXPECT_EQ(record.format, "key-file");
  EXPECT_EQ(record.origin, key_path_);
  EXPECT_EQ(*store_.ReadChecked(record), "old-key-value-123\n");
  EXPECT_EQ(ModeOf(*store_.CheckedPath(record)), 0600u);
  EXPECT_EQ(outcome.result.key_rotation->previous_backup_id, record.id);
}

TEST_F(RotateKeyDriverTest, RecordsOnlyIdAndFingerprint) {
  WriteOldKey(0600);

  StepOutcome outcome = Run({{"file", key_path_}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  std::string key = NewKey();
  ASSERT_TRUE(outcome.result.key_rotation.has_value());
  EXPECT_EQ(outcome.result.key_rotation->key_id, "key-" + Sha256Hex(key).substr(0, 8));
  EXPECT_EQ(outcome.result.key_rotation->fingerprint, "sha256:" + Sha256Hex(key).substr(0, 16));
  EXPECT_EQ(outcome.result.key_rotation->destination, key_path_);
  EXPECT_EQ(RecordedText(outcome).find(key), std::string::npos);
  EXPECT_EQ(redactor_.Apply("new key " + key), "new key [redacted]");
}

TEST_F(RotateKeyDriverTest, Base64UrlFormatWithPrefix) {
  StepOutcome outcome = Run({{"file", key_path_},
                             {"format", "base64url"},
                             {"prefix", "sk_live_"},
                             {"trailing_newline", false}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  std::string key = *ReadFileBytes(key_path_);
  EXPECT_TRUE(std::regex_match(key, std::regex("sk_live_[A-Za-z0-9_-]{43}"))) << key;
  EXPECT_TRUE(outcome.result.backups.empty());
}

TEST_F(RotateKeyDriverTest, EachRotationMakesNewKey) {
  ASSERT_TRUE(Run({{"file", key_path_}}).status.ok());
  std::string first = NewKey();
  ASSERT_TRUE(Run({{"file", key_path_}}).status.ok());
  EXPECT_NE(NewKey(), first);
}

TEST_F(RotateKeyDriverTest, KeySentToEndpoint) {
  testing::LoopbackHttpServer server([](const HttpServerRequest& request) {
    return HttpServerResponse{200, {}, "stored " + request.body};
  });

  StepOutcome outcome = Run(
      {{"url", server.Url("/v1/keys")}, {"headers", {{"Authorization", "Bearer admin-token"}}}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_EQ(server.RequestCount(), 1u);
  HttpServerRequest request = server.Requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.Header("content-type"), "application/json");
  std::string key = json::parse(request.body)["key"];
  EXPECT_EQ(outcome.result.key_rotation->key_id, "key-" + Sha256Hex(key).substr(0, 8));
  EXPECT_EQ(outcome.result.host, "127.0.0.1");
  EXPECT_EQ(RecordedText(outcome).find(key), std::string::npos);
  EXPECT_NE(outcome.result.output.stdout_text.find("[redacted]"), std::string::npos);
}

TEST_F(RotateKeyDriverTest, BodyTemplateCarriesKey) {
  testing::LoopbackHttpServer server;

  StepOutcome outcome = Run({{"url", server.Url("/rotate")},
                             {"method", "PUT"},
                             {"headers", {{"Content-Type", "text/plain"}}},
                             {"body_template", "api_key={{key}}&confirm={{key}}"}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  HttpServerRequest request = server.Requests()[0];
  EXPECT_EQ(request.Header("content-type"), "text/plain");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(request.body, match,
                               std::regex("api_key=([0-9a-f]{64})&confirm=([0-9a-f]{64})")));
  EXPECT_EQ(match[1], match[2]);
}

TEST_F(RotateKeyDriverTest, EndpointErrorFails) {
  testing::LoopbackHttpServer server([](const HttpServerRequest&) {
    return HttpServerResponse{500, {}, "internal"};
  });

  StepOutcome outcome = Run({{"url", server.Url("/v1/keys")}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(outcome.status.message().find("500"), std::string::npos);
  EXPECT_FALSE(outcome.result.key_rotation.has_value());
}

TEST_F(RotateKeyDriverTest, DestinationMustBeExactlyOne) {
  EXPECT_EQ(Run(json::object()).status.code(), StatusCode::kInvalidArgument);
  StepOutcome both = Run({{"file", key_path_}, {"url", "http://127.0.0.1:9/"}});
  EXPECT_EQ(both.status.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(key_path_));
}

TEST_F(RotateKeyDriverTest, InvalidFormatIsRejected) {
  StepOutcome outcome = Run({{"file", key_path_}, {"format", "base32"}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("base32"), std::string::npos);
}

TEST_F(RotateKeyDriverTest, DryRunTouchesNothing) {
  WriteOldKey(0644);
  int64_t mtime = MtimeOf(key_path_);
  testing::LoopbackHttpServer server;

  StepOutcome to_file = Run({{"file", key_path_}}, /*dry_run=*/true);
  StepOutcome to_url = Run({{"url", server.Url("/v1/keys")}}, /*dry_run=*/true);

  ASSERT_TRUE(to_file.status.ok());
  ASSERT_TRUE(to_url.status.ok());
  EXPECT_EQ(to_file.result.summary.rfind("would generate a 32-byte hex key", 0), 0u);
  EXPECT_EQ(*ReadFileBytes(key_path_), "old-key-value-123\n");
  EXPECT_EQ(MtimeOf(key_path_), mtime);
  EXPECT_EQ(ModeOf(key_path_), 0644u);
  EXPECT_FALSE(std::filesystem::exists(store_.root()));
  EXPECT_FALSE(server.WaitForRequests(1, milliseconds(100)));
  EXPECT_EQ(to_url.result.summary, driver_->Describe(Context(true)));
}

}  // namespace
}  // namespace rollbook::commands
