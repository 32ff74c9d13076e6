// ctest-labels: integration
// The postgres driver against a real PostgreSQL cluster started by the test fixture.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands/backup_store.h"
#include "commands/drivers/drivers.h"
#include "commands/secrets.h"
#include "ledger/time_format.h"
#include "tests/fixtures/postgres_server.h"
#include "tests/fixtures/temp_dir.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;
using rollbook::testing::FreeLoopbackPort;
using rollbook::testing::PostgresServer;
using rollbook::testing::TempDir;

class PostgresDriverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<std::unique_ptr<PostgresServer>> started = PostgresServer::Start();
    if (started.ok()) {
      server_ = std::move(*started);
    } else {
      start_error_ = started.status().ToString();
    }
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "PostgreSQL test server did not start: " << start_error_;
    static int databases = 0;
    database_ = "test_" + std::to_string(++databases);
    ASSERT_TRUE(server_->CreateDatabase(database_).ok());
    store_ = std::make_unique<BackupStore>(dir_.Join("backups"));
  }

  // Runs `action` with `params`; "dsn" defaults to the test database. Backups it takes are
  // added to the catalogue, as the orchestrator records them in the ledger.
  StepOutcome Run(const std::string& action, json params = json::object()) {
    return RunStep(action, std::move(params), /*dry_run=*/false);
  }
  StepOutcome DryRun(const std::string& action, json params = json::object()) {
    return RunStep(action, std::move(params), /*dry_run=*/true);
  }

  StepOutcome RunStep(const std::string& action, json params, bool dry_run) {
    if (!params.contains("dsn")) params["dsn"] = server_->Dsn(database_);
    StepContext context = Context(action, params);
    context.dry_run = dry_run;
    StepOutcome outcome = driver_->Run(context);
    for (const BackupRecord& backup : outcome.result.backups) catalog_.Add(backup);
    ExpectNoSecretIn(outcome, server_->password());
    return outcome;
  }

  StepContext Context(const std::string& action, const json& params) {
    StepContext context;
    context.rollback_id = "rb-1";
    context.component = "database";
    context.step = action;
    context.action = action;
    context.params = &params;
    context.timeout = timeout_;
    context.target_time_ns = target_time_ns_;
    context.backups = store_.get();
    context.catalog = &catalog_;
    context.redactor = &redactor_;  // empty, so a leak is not hidden by redaction
    return context;
  }

  static void ExpectNoSecretIn(const StepOutcome& outcome, const std::string& secret) {
    std::vector<std::string> texts = {outcome.status.message(), outcome.result.summary,
                                      outcome.result.output.stdout_text,
                                      outcome.result.output.stderr_text};
    for (const BackupRecord& backup : outcome.result.backups) texts.push_back(backup.origin);
    for (const ChangeRecord& change : outcome.result.changes) {
      texts.insert(texts.end(), {change.target, change.before, change.after, change.summary});
    }
    if (outcome.result.verification) {
      texts.push_back(outcome.result.verification->check);
      texts.push_back(outcome.result.verification->actual);
    }
    for (const std::string& text : texts) {
      EXPECT_EQ(text.find(secret), std::string::npos) << "secret found in: " << text;
    }
  }

  // Runs `sql` in the test database as role rollbook, which the DSN logs in as.
  std::string Sql(const std::string& sql) {
    Result<std::string> value = server_->Query("SET ROLE rollbook; " + sql, database_);
    EXPECT_TRUE(value.ok()) << value.status().ToString();
    return value.ok() ? *value : "";
  }

  bool TableExists(const std::string& table) {
    return Sql("SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
  }

  std::string WriteSqlFile(const std::string& name, const std::string& text) {
    std::string path = dir_.Join(name);
    std::ofstream(path) << text;
    return path;
  }

  // Creates table `flags` with one row whose `value` is `value`.
  void SeedFlags(int value) {
    Sql("CREATE TABLE flags (name text PRIMARY KEY, value int); "
        "INSERT INTO flags VALUES ('ai_search', " +
        std::to_string(value) + ")");
  }
  void SetFlagValue(int value) { Sql("UPDATE flags SET value = " + std::to_string(value)); }
  std::string FlagValue() { return Sql("SELECT value FROM flags WHERE name = 'ai_search'"); }

  BackupRecord TakeBackup() {
    StepOutcome outcome = Run("backup");
    EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
    EXPECT_EQ(outcome.result.backups.size(), 1u);
    return outcome.result.backups.empty() ? BackupRecord{} : outcome.result.backups.front();
  }

  std::string StoredPath(const BackupRecord& backup) {
    return store_->root() + "/" + backup.sha256.substr(0, 2) + "/" + backup.sha256;
  }

  void FlipByteOf(const BackupRecord& backup, std::streamoff offset) {
    std::fstream file(StoredPath(backup), std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(offset);
    char byte = 0;
    file.get(byte);
    file.seekp(offset);
    file.put(static_cast<char>(byte ^ 0x5a));
  }

  std::string Origin() const {
    return "postgres:127.0.0.1:" + std::to_string(server_->port()) + "/" + database_;
  }

  static std::unique_ptr<PostgresServer> server_;
  static std::string start_error_;

  TempDir dir_;
  std::string database_;
  std::unique_ptr<Driver> driver_ = MakePostgresDriver();
  std::unique_ptr<BackupStore> store_;
  InMemoryBackupCatalog catalog_;
  Redactor redactor_;
  std::chrono::milliseconds timeout_{30000};
  int64_t target_time_ns_ = 0;
};

std::unique_ptr<PostgresServer> PostgresDriverTest::server_;
std::string PostgresDriverTest::start_error_;

TEST_F(PostgresDriverTest, BackupStoresCustomFormatDump) {
  SeedFlags(1);

  BackupRecord backup = TakeBackup();

  EXPECT_EQ(backup.format, "pg_dump-custom");
  EXPECT_EQ(backup.driver, "postgres");
  EXPECT_EQ(backup.origin, Origin());
  EXPECT_EQ(backup.rollback_id, "rb-1");
  EXPECT_GT(backup.size_bytes, 0u);
  Result<std::string> bytes = store_->ReadChecked(backup);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(bytes->substr(0, 5), "PGDMP");  // pg_dump's custom-format magic
}

TEST_F(PostgresDriverTest, ActionsDeclareRolesAndParameters) {
  const ActionSpec* backup = driver_->FindAction("backup");
  const ActionSpec* sql = driver_->FindAction("sql");
  const ActionSpec* verify = driver_->FindAction("verify");
  const ActionSpec* restore = driver_->FindAction("restore");
  const ActionSpec* point_in_time = driver_->FindAction("point-in-time");
  ASSERT_NE(backup, nullptr);
  ASSERT_NE(sql, nullptr);
  ASSERT_NE(verify, nullptr);
  ASSERT_NE(restore, nullptr);
  ASSERT_NE(point_in_time, nullptr);
  EXPECT_EQ(backup->role, StepRole::kBackup);
  EXPECT_TRUE(backup->idempotent);
  EXPECT_TRUE(sql->mutates);
  EXPECT_FALSE(sql->idempotent);
  EXPECT_EQ(verify->role, StepRole::kVerify);
  EXPECT_FALSE(verify->mutates);
  EXPECT_TRUE(restore->mutates);
  EXPECT_TRUE(restore->idempotent);
  EXPECT_EQ(point_in_time->role, StepRole::kChange);
}

TEST_F(PostgresDriverTest, SqlAppliesWholeFile) {
  SeedFlags(1);
  std::string file = WriteSqlFile("down.sql", R"sql(
-- Rolls back the AI search launch; this comment has a semicolon;
CREATE TABLE ai_search_log (id serial PRIMARY KEY, note text);
INSERT INTO ai_search_log (note) VALUES ('semicolon; inside a string'), (E'it\'s; escaped');
/* a block comment; /* nested; */ still a comment; */
DO $body$
BEGIN
  UPDATE flags SET value = 0;  -- the semicolons here belong to the DO body
  INSERT INTO ai_search_log (note) VALUES ($$dollar; quoted$$);
END
$body$;
CREATE FUNCTION ai_off() RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT 0;
END;
)sql");

  StepOutcome outcome = Run("sql", {{"file", file}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(FlagValue(), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM ai_search_log"), "3");
  EXPECT_EQ(Sql("SELECT note FROM ai_search_log ORDER BY id LIMIT 1"),
            "semicolon; inside a string");
  EXPECT_EQ(Sql("SELECT ai_off()"), "0");
  ASSERT_EQ(outcome.result.changes.size(), 1u);
  EXPECT_EQ(outcome.result.changes[0].summary, "applied 4 statements from " + file);
  EXPECT_EQ(outcome.result.changes[0].target, Origin());
}

TEST_F(PostgresDriverTest, SqlErrorMidFileAppliesNothing) {
  SeedFlags(1);
  std::string file = WriteSqlFile("broken.sql",
                                  "CREATE TABLE created_first (id int);\n"
                                  "UPDATE flags SET value = 0;\n"
                                  "\n"
                                  "SELECT * FROM\n"
                                  "  no_such_table;\n"
                                  "CREATE TABLE created_last (id int);\n");

  StepOutcome outcome = Run("sql", {{"file", file}});

  ASSERT_FALSE(outcome.status.ok());
  const std::string& message = outcome.status.message();
  EXPECT_NE(message.find("statement 3 of 4"), std::string::npos) << message;
  EXPECT_NE(message.find("line 4"), std::string::npos) << message;
  EXPECT_NE(message.find("SELECT * FROM"), std::string::npos) << message;
  EXPECT_NE(message.find("no_such_table"), std::string::npos) << message;
  EXPECT_NE(message.find("42P01"), std::string::npos) << message;
  EXPECT_NE(message.find("nothing"), std::string::npos) << message;
  EXPECT_FALSE(TableExists("created_first"));
  EXPECT_FALSE(TableExists("created_last"));
  EXPECT_EQ(FlagValue(), "1");
  EXPECT_TRUE(outcome.result.changes.empty());
}

TEST_F(PostgresDriverTest, SqlAcceptsBeginCommitWrapper) {
  std::string file =
      WriteSqlFile("wrapped.sql", "BEGIN;\nCREATE TABLE wrapped (id int);\nCOMMIT;\n");

  StepOutcome outcome = Run("sql", {{"file", file}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_TRUE(TableExists("wrapped"));
}

TEST_F(PostgresDriverTest, SqlRejectsCommitInsideFile) {
  std::string file =
      WriteSqlFile("commit.sql", "CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n");

  StepOutcome outcome = Run("sql", {{"file", file}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("line 2"), std::string::npos);
  EXPECT_FALSE(TableExists("a"));
}

TEST_F(PostgresDriverTest, SqlTimeoutRollsBack) {
  std::string file =
      WriteSqlFile("slow.sql", "CREATE TABLE before_sleep (id int);\nSELECT pg_sleep(5);\n");
  timeout_ = std::chrono::milliseconds(1500);

  StepOutcome outcome = Run("sql", {{"file", file}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kTimeout) << outcome.status.ToString();
  EXPECT_NE(outcome.status.message().find("statement 2 of 2"), std::string::npos);
  EXPECT_FALSE(TableExists("before_sleep"));
}

TEST_F(PostgresDriverTest, SqlMissingFileFails) {
  StepOutcome outcome = Run("sql", {{"file", dir_.Join("missing.sql")}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  EXPECT_NE(outcome.status.message().find("missing.sql"), std::string::npos);
}

TEST_F(PostgresDriverTest, VerifyPassesOnExpectedValue) {
  SeedFlags(0);

  StepOutcome outcome = Run("verify", {{"query", "SELECT value FROM flags"}, {"expected", 0}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_TRUE(outcome.result.verification.has_value());
  EXPECT_TRUE(outcome.result.verification->passed);
  EXPECT_EQ(outcome.result.verification->actual, "0");
}

TEST_F(PostgresDriverTest, VerifyMismatchFailsPrecondition) {
  SeedFlags(1);

  StepOutcome outcome =
      Run("verify", {{"query", "SELECT to_regclass('ai_search_log') IS NULL"}, {"expected", true}});
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();

  outcome = Run("verify", {{"query", "SELECT value FROM flags"}, {"expected", "0"}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(outcome.result.verification.has_value());
  EXPECT_FALSE(outcome.result.verification->passed);
  EXPECT_EQ(outcome.result.verification->expected, "0");
  EXPECT_EQ(outcome.result.verification->actual, "1");
  EXPECT_NE(outcome.status.message().find("returned '1', expected '0'"), std::string::npos);
}

TEST_F(PostgresDriverTest, VerifyCountsRows) {
  SeedFlags(1);

  StepOutcome outcome = Run("verify", {{"query", "SELECT * FROM flags"}, {"expected_rows", 1}});
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();

  outcome = Run("verify", {{"query", "SELECT * FROM flags WHERE false"}, {"expected_rows", "1"}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kFailedPrecondition);
}

TEST_F(PostgresDriverTest, VerifyRunsReadOnly) {
  SeedFlags(1);

  StepOutcome outcome =
      Run("verify", {{"query", "UPDATE flags SET value = 5 RETURNING value"}, {"expected", "5"}});

  EXPECT_FALSE(outcome.status.ok());
  EXPECT_NE(outcome.status.message().find("read-only"), std::string::npos)
      << outcome.status.ToString();
  EXPECT_EQ(FlagValue(), "1");
}

TEST_F(PostgresDriverTest, RestoreBringsBackLatestBackupOfRollback) {
  SeedFlags(1);
  TakeBackup();
  SetFlagValue(2);
  Sql("DELETE FROM flags");

  StepOutcome outcome = Run("restore");

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(FlagValue(), "1");
  ASSERT_EQ(outcome.result.changes.size(), 1u);
  EXPECT_EQ(outcome.result.changes[0].target, Origin());
}

TEST_F(PostgresDriverTest, RestoreById) {
  SeedFlags(1);
  BackupRecord first = TakeBackup();
  SetFlagValue(2);
  TakeBackup();
  SetFlagValue(3);

  StepOutcome outcome = Run("restore", {{"backup_id", first.id}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(FlagValue(), "1");
}

TEST_F(PostgresDriverTest, RestoreRejectsAlteredBackup) {
  SeedFlags(1);
  BackupRecord backup = TakeBackup();
  SetFlagValue(2);
  FlipByteOf(backup, 40);

  StepOutcome outcome = Run("restore", {{"backup_id", backup.id}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kCorruption) << outcome.status.ToString();
  EXPECT_NE(outcome.status.message().find(backup.id), std::string::npos);
  EXPECT_EQ(FlagValue(), "2");
}

TEST_F(PostgresDriverTest, RestoreBlockedByNewDependentLeavesDatabase) {
  SeedFlags(1);
  TakeBackup();
  SetFlagValue(2);
  Sql("CREATE TABLE flag_notes (name text REFERENCES flags (name), note text)");

  StepOutcome outcome = Run("restore");

  EXPECT_FALSE(outcome.status.ok());
  EXPECT_NE(outcome.status.message().find("depend"), std::string::npos) << outcome.status.message();
  EXPECT_NE(outcome.status.message().find("left unchanged"), std::string::npos);
  EXPECT_EQ(FlagValue(), "2");
  EXPECT_TRUE(TableExists("flag_notes"));
}

TEST_F(PostgresDriverTest, RestoreWithoutBackupInRollbackFails) {
  StepOutcome outcome = Run("restore");

  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  EXPECT_NE(outcome.status.message().find("rb-1"), std::string::npos);
}

TEST_F(PostgresDriverTest, PointInTimePicksNewestEligibleBackup) {
  SeedFlags(1);
  BackupRecord first = TakeBackup();
  SetFlagValue(2);
  BackupRecord second = TakeBackup();
  SetFlagValue(3);
  BackupRecord third = TakeBackup();
  SetFlagValue(4);

  target_time_ns_ = second.taken_at_ns;
  ASSERT_TRUE(Run("point-in-time").status.ok());
  EXPECT_EQ(FlagValue(), "2");

  target_time_ns_ = first.taken_at_ns + (second.taken_at_ns - first.taken_at_ns) / 2;
  ASSERT_TRUE(Run("point-in-time").status.ok());
  EXPECT_EQ(FlagValue(), "1");

  target_time_ns_ = third.taken_at_ns + 3'600'000'000'000;
  StepOutcome outcome = Run("point-in-time");
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(FlagValue(), "3");
  EXPECT_NE(outcome.result.summary.find(third.id), std::string::npos);
}

TEST_F(PostgresDriverTest, PointInTimeFailsWithoutOldBackup) {
  SeedFlags(1);
  BackupRecord first = TakeBackup();
  TakeBackup();
  target_time_ns_ = first.taken_at_ns - 1'000'000'000;

  StepOutcome outcome = Run("point-in-time");

  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  const std::string& message = outcome.status.message();
  EXPECT_NE(message.find(ledger::FormatTimestamp(target_time_ns_)), std::string::npos) << message;
  EXPECT_NE(message.find("oldest is " + first.id), std::string::npos) << message;
  EXPECT_EQ(FlagValue(), "1");
}

TEST_F(PostgresDriverTest, PointInTimeNeedsTargetTime) {
  StepOutcome outcome = Run("point-in-time");

  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("--target-time"), std::string::npos);
}

TEST_F(PostgresDriverTest, RefusedConnectionNamesTarget) {
  int port = FreeLoopbackPort();
  std::string dsn = "host=127.0.0.1 port=" + std::to_string(port) +
                    " dbname=appdb user=app password=" + server_->password();

  for (const std::string action : {"backup", "verify"}) {
    StepOutcome outcome = Run(action, {{"dsn", dsn}, {"query", "SELECT 1"}, {"expected", "1"}});
    EXPECT_EQ(outcome.status.code(), StatusCode::kUnavailable) << action;
    EXPECT_NE(outcome.status.message().find("127.0.0.1:" + std::to_string(port) + "/appdb"),
              std::string::npos)
        << outcome.status.message();
  }
}

TEST_F(PostgresDriverTest, WrongPasswordFailsWithoutLeakingIt) {
  const std::string wrong = "wrong-secret-7f3a";
  std::string dsn = server_->Dsn(database_, /*with_password=*/false) + " password=" + wrong;

  StepOutcome verify = Run("verify", {{"dsn", dsn}, {"query", "SELECT 1"}, {"expected", "1"}});
  StepOutcome backup = Run("backup", {{"dsn", dsn}});

  EXPECT_FALSE(verify.status.ok());
  EXPECT_NE(verify.status.message().find("password authentication failed"), std::string::npos)
      << verify.status.message();
  EXPECT_FALSE(backup.status.ok());
  EXPECT_TRUE(backup.result.backups.empty());
  ExpectNoSecretIn(verify, wrong);
  ExpectNoSecretIn(backup, wrong);
}

TEST_F(PostgresDriverTest, UnparsableDsnIsInvalidArgument) {
  StepOutcome outcome = Run("backup", {{"dsn", "host=127.0.0.1 password secret-in-a-bad-dsn"}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("invalid dsn"), std::string::npos);
  ExpectNoSecretIn(outcome, "secret-in-a-bad-dsn");
}

TEST_F(PostgresDriverTest, DryRunChangesNothing) {
  SeedFlags(1);
  BackupRecord backup = TakeBackup();
  SetFlagValue(2);
  std::string file = WriteSqlFile("down.sql", "DROP TABLE flags;\nCREATE TABLE dry (id int);\n");
  size_t backups_before = catalog_.records().size();

  StepOutcome sql = DryRun("sql", {{"file", file}});
  StepOutcome restore = DryRun("restore", {{"backup_id", backup.id}});
  StepOutcome dump = DryRun("backup");
  target_time_ns_ = backup.taken_at_ns;
  StepOutcome point_in_time = DryRun("point-in-time");

  for (const StepOutcome* outcome : {&sql, &restore, &dump, &point_in_time}) {
    EXPECT_TRUE(outcome->status.ok()) << outcome->status.ToString();
    EXPECT_EQ(outcome->result.summary.rfind("would ", 0), 0u) << outcome->result.summary;
    EXPECT_TRUE(outcome->result.changes.empty());
  }
  EXPECT_NE(sql.result.summary.find("2 statements"), std::string::npos);
  EXPECT_EQ(FlagValue(), "2");
  EXPECT_FALSE(TableExists("dry"));
  EXPECT_EQ(catalog_.records().size(), backups_before);
  EXPECT_TRUE(dump.result.backups.empty());
}

TEST_F(PostgresDriverTest, DryRunRestoreBeforeAnyBackup) {
  StepOutcome outcome = DryRun("restore");

  EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.summary.rfind("would pg_restore", 0), 0u) << outcome.result.summary;
}

TEST_F(PostgresDriverTest, DescribeNamesTargetWithoutPassword) {
  json params = {{"dsn", server_->Dsn(database_)}, {"file", "down.sql"}};

  std::string description = driver_->Describe(Context("sql", params));

  EXPECT_NE(description.find("127.0.0.1:" + std::to_string(server_->port()) + "/" + database_),
            std::string::npos)
      << description;
  EXPECT_NE(description.find("down.sql"), std::string::npos);
  EXPECT_EQ(description.find(server_->password()), std::string::npos);
}

}  // namespace
}  // namespace rollbook::commands
