// ctest-labels: integration
// The redis driver against a real redis-server started by the test fixture.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "commands/backup_store.h"
#include "commands/drivers/drivers.h"
#include "commands/secrets.h"
#include "tests/fixtures/redis_server.h"
#include "tests/fixtures/temp_dir.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;
using rollbook::testing::FreeLoopbackPort;
using rollbook::testing::RedisServer;
using rollbook::testing::TempDir;

constexpr char kPassword[] = "redis-secret-91c2e";

class RedisDriverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<std::unique_ptr<RedisServer>> started = RedisServer::Start({kPassword});
    if (started.ok()) {
      server_ = std::move(*started);
    } else {
      start_error_ = started.status().ToString();
    }
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "redis test server did not start: " << start_error_;
    ASSERT_TRUE(server_->Command({"FLUSHALL"}).ok());
    ASSERT_TRUE(server_->Command({"SELECT", "0"}).ok());
    store_ = std::make_unique<BackupStore>(dir_.Join("backups"));
  }

  // Runs `action` against the test server; host, port and password default to it. Backups it
  // takes are added to the catalogue, as the orchestrator records them in the ledger.
  StepOutcome Run(const std::string& action, json params) {
    return RunStep(action, std::move(params), /*dry_run=*/false);
  }
  StepOutcome DryRun(const std::string& action, json params) {
    return RunStep(action, std::move(params), /*dry_run=*/true);
  }

  StepOutcome RunStep(const std::string& action, json params, bool dry_run) {
    if (!params.contains("port")) params["port"] = server_->port();
    if (!params.contains("password")) params["password"] = kPassword;
    StepContext context = Context(action, params);
    context.dry_run = dry_run;
    StepOutcome outcome = driver_->Run(context);
    for (const BackupRecord& backup : outcome.result.backups) catalog_.Add(backup);
    ExpectNoSecretIn(outcome, kPassword);
    return outcome;
  }

  StepContext Context(const std::string& action, const json& params) {
    StepContext context;
    context.rollback_id = "rb-7";
    context.component = "cache";
    context.step = action;
    context.action = action;
    context.params = &params;
    context.timeout = std::chrono::milliseconds(30000);
    context.backups = store_.get();
    context.catalog = &catalog_;
    context.redactor = &redactor_;  // empty, so a leak is not hidden by redaction
    return context;
  }

  static void ExpectNoSecretIn(const StepOutcome& outcome, const std::string& secret) {
    std::vector<std::string> texts = {outcome.status.message(), outcome.result.summary};
    for (const BackupRecord& backup : outcome.result.backups) texts.push_back(backup.origin);
    for (const ChangeRecord& change : outcome.result.changes) {
      texts.insert(texts.end(), {change.target, change.before, change.after, change.summary});
    }
    if (outcome.result.verification) texts.push_back(outcome.result.verification->check);
    for (const std::string& text : texts) {
      EXPECT_EQ(text.find(secret), std::string::npos) << "secret found in: " << text;
    }
  }

  std::string Redis(const std::vector<std::string>& args) {
    Result<std::string> reply = server_->Command(args);
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    return reply.ok() ? *reply : "";
  }

  // Sets `count` string keys "<prefix><i>" to "value-<i>", with a time to live when ttl_ms > 0.
  void SeedKeys(const std::string& prefix, int count, int64_t ttl_ms = 0) {
    std::vector<std::vector<std::string>> commands;
    for (int i = 0; i < count; ++i) {
      std::vector<std::string> set = {"SET", prefix + std::to_string(i),
                                      "value-" + std::to_string(i)};
      if (ttl_ms > 0) set.insert(set.end(), {"PX", std::to_string(ttl_ms)});
      commands.push_back(std::move(set));
    }
    ASSERT_TRUE(server_->Pipeline(commands).ok());
  }

  // Counts keys matching `pattern` in the fixture connection's database (KEYS is fine for a
  // test server holding a few thousand keys).
  int CountKeys(const std::string& pattern) {
    std::string keys = Redis({"KEYS", pattern});
    if (keys.empty()) return 0;
    int count = 1;
    for (char c : keys) count += c == '\n';
    return count;
  }

  // Returns the number of calls of `command` since CONFIG RESETSTAT, from INFO commandstats.
  int64_t CommandCalls(const std::string& command) {
    std::string stats = Redis({"INFO", "commandstats"});
    std::string marker = "cmdstat_" + command + ":calls=";
    size_t at = stats.find(marker);
    if (at == std::string::npos) return 0;
    return std::stoll(stats.substr(at + marker.size()));
  }

  void FlipByteOf(const BackupRecord& backup, std::streamoff offset) {
    std::string path = store_->root() + "/" + backup.sha256.substr(0, 2) + "/" + backup.sha256;
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(offset);
    char byte = 0;
    file.get(byte);
    file.seekp(offset);
    file.put(static_cast<char>(byte ^ 0x5a));
  }

  static std::unique_ptr<RedisServer> server_;
  static std::string start_error_;

  TempDir dir_;
  std::unique_ptr<Driver> driver_ = MakeRedisDriver();
  std::unique_ptr<BackupStore> store_;
  InMemoryBackupCatalog catalog_;
  Redactor redactor_;
};

std::unique_ptr<RedisServer> RedisDriverTest::server_;
std::string RedisDriverTest::start_error_;

TEST_F(RedisDriverTest, PurgeRemovesOnlyMatchingKeysInBatches) {
  SeedKeys("ai:search:", 5000);
  SeedKeys("session:", 300);
  SeedKeys("ai:searchable", 5);  // does not match "ai:search:*"
  Redis({"CONFIG", "RESETSTAT"});

  StepOutcome outcome = Run("purge", {{"patterns", {"ai:search:*"}}, {"batch_size", 100}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_NE(outcome.result.summary.find("removed 5000 keys"), std::string::npos)
      << outcome.result.summary;
  EXPECT_GE(CommandCalls("unlink"), 50);  // at most 100 keys per UNLINK
  EXPECT_GE(CommandCalls("scan"), 2);
  EXPECT_EQ(CommandCalls("keys"), 0);
  EXPECT_EQ(CommandCalls("flushdb"), 0);
  EXPECT_EQ(CountKeys("ai:search:*"), 0);
  EXPECT_EQ(CountKeys("session:*"), 300);
  EXPECT_EQ(CountKeys("ai:searchable*"), 5);
  ASSERT_EQ(outcome.result.changes.size(), 1u);
}

TEST_F(RedisDriverTest, PurgeCountsKeysMatchingSeveralPatternsOnce) {
  SeedKeys("ai:search:", 20);
  SeedKeys("ai:embedding:", 10);

  StepOutcome outcome = Run("purge", {{"patterns", {"ai:search:*", "ai:*", "ai:embedding:1*"}}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_NE(outcome.result.summary.find("removed 30 keys"), std::string::npos)
      << outcome.result.summary;
  EXPECT_EQ(Redis({"DBSIZE"}), "0");
}

TEST_F(RedisDriverTest, PurgeNeedsPatterns) {
  SeedKeys("ai:search:", 3);

  StepOutcome outcome = Run("purge", json::object());

  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Redis({"DBSIZE"}), "3");
}

TEST_F(RedisDriverTest, FlushDbOnlyWhenStepSaysSo) {
  SeedKeys("kept:", 4);
  Redis({"SELECT", "3"});
  SeedKeys("cache:", 7);
  Redis({"SELECT", "0"});

  StepOutcome both = Run("purge", {{"db", 3}, {"flushall", true}, {"patterns", {"cache:*"}}});
  EXPECT_EQ(both.status.code(), StatusCode::kInvalidArgument);

  StepOutcome outcome = Run("purge", {{"db", 3}, {"flushall", true}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_NE(outcome.result.summary.find("FLUSHDB removed all 7 keys"), std::string::npos)
      << outcome.result.summary;
  ASSERT_EQ(outcome.result.changes.size(), 1u);
  EXPECT_EQ(outcome.result.changes[0].before, "7 keys");
  EXPECT_EQ(CountKeys("kept:*"), 4);
  Redis({"SELECT", "3"});
  EXPECT_EQ(Redis({"DBSIZE"}), "0");
}

TEST_F(RedisDriverTest, VerifyComparesMatchingKeyCount) {
  SeedKeys("ai:search:", 3);
  SeedKeys("other:", 2);

  StepOutcome three = Run("verify", {{"patterns", {"ai:search:*"}}, {"expected_count", 3}});
  EXPECT_TRUE(three.status.ok()) << three.status.ToString();

  StepOutcome none = Run("verify", {{"patterns", {"ai:search:*"}}});
  EXPECT_EQ(none.status.code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(none.result.verification.has_value());
  EXPECT_FALSE(none.result.verification->passed);
  EXPECT_EQ(none.result.verification->expected, "0");
  EXPECT_EQ(none.result.verification->actual, "3");
}

TEST_F(RedisDriverTest, BackupAndRestoreBringKeysBackWithTtl) {
  SeedKeys("ai:search:ttl:", 50, 600'000);
  SeedKeys("ai:search:forever:", 50);
  Redis({"HSET", "ai:search:hash", "model", "v2", "temperature", "0.2"});
  Redis({"RPUSH", "ai:search:list", "a", "b", "c"});
  Redis({"SET", "unrelated", "stays"});

  StepOutcome backup = Run("backup", {{"patterns", {"ai:search:*"}}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  ASSERT_EQ(backup.result.backups.size(), 1u);
  EXPECT_EQ(backup.result.backups[0].format, "redis-dump");
  EXPECT_EQ(backup.result.backups[0].origin,
            "redis:127.0.0.1:" + std::to_string(server_->port()) + "/0:ai:search:*");
  EXPECT_NE(backup.result.summary.find("backed up 102 keys"), std::string::npos)
      << backup.result.summary;

  ASSERT_TRUE(Run("purge", {{"patterns", {"ai:search:*"}}}).status.ok());
  Redis({"SET", "ai:search:forever:0", "changed after the backup"});
  StepOutcome restore = Run("restore", {{"patterns", {"ai:search:*"}}});

  ASSERT_TRUE(restore.status.ok()) << restore.status.ToString();
  EXPECT_EQ(CountKeys("ai:search:*"), 102);
  EXPECT_EQ(Redis({"GET", "ai:search:forever:0"}), "value-0");
  EXPECT_EQ(Redis({"GET", "ai:search:ttl:7"}), "value-7");
  int64_t ttl = std::stoll(Redis({"PTTL", "ai:search:ttl:7"}));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 600'000);
  EXPECT_EQ(Redis({"PTTL", "ai:search:forever:7"}), "-1");
  EXPECT_EQ(Redis({"HGET", "ai:search:hash", "model"}), "v2");
  EXPECT_EQ(Redis({"LRANGE", "ai:search:list", "0", "-1"}), "a\nb\nc");
  EXPECT_EQ(Redis({"GET", "unrelated"}), "stays");
  ASSERT_EQ(restore.result.changes.size(), 1u);
}

TEST_F(RedisDriverTest, RestoreRejectsAlteredBackup) {
  SeedKeys("ai:search:", 10);
  StepOutcome backup = Run("backup", {{"patterns", {"ai:search:*"}}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  const BackupRecord& record = backup.result.backups.at(0);
  ASSERT_TRUE(Run("purge", {{"patterns", {"ai:search:*"}}}).status.ok());
  FlipByteOf(record, 20);

  StepOutcome restore = Run("restore", {{"backup_id", record.id}});

  EXPECT_EQ(restore.status.code(), StatusCode::kCorruption) << restore.status.ToString();
  EXPECT_NE(restore.status.message().find(record.id), std::string::npos);
  EXPECT_EQ(Redis({"DBSIZE"}), "0");
}

TEST_F(RedisDriverTest, RestoreRejectsTruncatedDumpFile) {
  SeedKeys("ai:search:", 10);
  StepOutcome backup = Run("backup", {{"patterns", {"ai:search:*"}}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  Result<std::string> bytes = store_->ReadChecked(backup.result.backups.at(0));
  ASSERT_TRUE(bytes.ok());
  BackupRecord truncated = backup.result.backups.at(0);
  Result<BackupRecord> stored = store_->PutBytes(bytes->substr(0, bytes->size() - 5), truncated);
  ASSERT_TRUE(stored.ok());
  catalog_.Add(*stored);
  Redis({"FLUSHDB"});

  StepOutcome restore = Run("restore", {{"backup_id", stored->id}});

  EXPECT_EQ(restore.status.code(), StatusCode::kCorruption) << restore.status.ToString();
  EXPECT_NE(restore.status.message().find("truncated"), std::string::npos);
  EXPECT_EQ(Redis({"DBSIZE"}), "0");
}

TEST_F(RedisDriverTest, RestoreWithoutBackupInRollbackFails) {
  StepOutcome outcome = Run("restore", {{"patterns", {"ai:search:*"}}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  EXPECT_NE(outcome.status.message().find("rb-7"), std::string::npos);
}

TEST_F(RedisDriverTest, WrongPasswordNamesServer) {
  const std::string wrong = "wrong-redis-pw-55";
  std::string address = "127.0.0.1:" + std::to_string(server_->port());

  StepOutcome outcome = Run("verify", {{"patterns", {"*"}}, {"password", wrong}});
  StepOutcome missing = Run("verify", {{"patterns", {"*"}}, {"password", ""}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kPermissionDenied) << outcome.status.ToString();
  EXPECT_NE(outcome.status.message().find(address), std::string::npos);
  ExpectNoSecretIn(outcome, wrong);
  EXPECT_EQ(missing.status.code(), StatusCode::kPermissionDenied) << missing.status.ToString();
  EXPECT_NE(missing.status.message().find(address), std::string::npos);
}

TEST_F(RedisDriverTest, RefusedConnectionNamesServer) {
  int port = FreeLoopbackPort();

  StepOutcome outcome = Run("purge", {{"patterns", {"*"}}, {"port", port}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(outcome.status.message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << outcome.status.message();
}

TEST_F(RedisDriverTest, DryRunChangesNothing) {
  SeedKeys("ai:search:", 20);
  StepOutcome backup = Run("backup", {{"patterns", {"ai:search:*"}}});
  ASSERT_TRUE(backup.status.ok());
  Redis({"SET", "ai:search:0", "changed"});
  size_t backups_before = catalog_.records().size();

  StepOutcome purge = DryRun("purge", {{"patterns", {"ai:search:*"}}});
  StepOutcome flush = DryRun("purge", {{"flushall", true}});
  StepOutcome restore = DryRun("restore", {{"patterns", {"ai:search:*"}}});
  StepOutcome dump = DryRun("backup", {{"patterns", {"ai:search:*"}}});

  for (const StepOutcome* outcome : {&purge, &flush, &restore, &dump}) {
    EXPECT_TRUE(outcome->status.ok()) << outcome->status.ToString();
    EXPECT_EQ(outcome->result.summary.rfind("would ", 0), 0u) << outcome->result.summary;
    EXPECT_TRUE(outcome->result.changes.empty());
  }
  EXPECT_NE(purge.result.summary.find("20 keys"), std::string::npos) << purge.result.summary;
  EXPECT_EQ(CountKeys("ai:search:*"), 20);
  EXPECT_EQ(Redis({"GET", "ai:search:0"}), "changed");
  EXPECT_EQ(catalog_.records().size(), backups_before);
}

TEST_F(RedisDriverTest, DryRunRestoreBeforeAnyBackup) {
  StepOutcome outcome = DryRun("restore", {{"patterns", {"ai:search:*"}}});

  EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.summary.rfind("would RESTORE", 0), 0u) << outcome.result.summary;
}

TEST_F(RedisDriverTest, DescribeOmitsPassword) {
  json params = {{"port", server_->port()}, {"password", kPassword}, {"patterns", {"ai:*"}}};

  std::string description = driver_->Describe(Context("purge", params));

  EXPECT_NE(description.find("ai:*"), std::string::npos) << description;
  EXPECT_EQ(description.find(kPassword), std::string::npos);
}

}  // namespace
}  // namespace rollbook::commands
