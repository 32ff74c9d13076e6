// ctest-labels: unit
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands/drivers/drivers.h"
#include "tests/fixtures/temp_dir.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kFlagFile = R"({
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "metadata": {"flagSetId": "search", "version": "7"},
  "flags": {
    "ai-search": {
      "state": "ENABLED",
      "variants": {"on": true, "off": false},
      "defaultVariant": "on",
      "targeting": {"if": [{"$ref": "beta-users"}, "on", "off"]},
      "metadata": {"owner": "search-team"}
    },
    "ai-ranking": {
      "variants": {"on": true, "off": false},
      "state": "ENABLED",
      "defaultVariant": "on"
    },
    "new-checkout": {
      "state": "ENABLED",
      "variants": {"enabled": true, "disabled": false},
      "defaultVariant": "enabled"
    }
  },
  "$evaluators": {
    "beta-users": {"in": ["@example.com", {"var": "email"}]}
  },
  "x-custom": [1, 2, 3]
}
)";

struct FileState {
  std::string bytes;
  int64_t mtime_ns = 0;
  unsigned mode = 0;
  bool operator==(const FileState&) const = default;
};

class FlagdDriverTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteFlags(kFlagFile); }

  void WriteFlags(const std::string& bytes) { std::ofstream(path_, std::ios::binary) << bytes; }

  FileState State() const {
    struct stat info {};
    EXPECT_EQ(::stat(path_.c_str(), &info), 0);
    return {*ReadFileBytes(path_), info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec,
            static_cast<unsigned>(info.st_mode & 07777)};
  }

  ordered_json Document() const { return ordered_json::parse(*ReadFileBytes(path_)); }

  StepContext Context(const std::string& action, bool dry_run = false) {
    StepContext context;
    context.rollback_id = "rb-7";
    context.component = "feature-flags";
    context.step = action;
    context.action = action;
    context.role = driver_->FindAction(action)->role;
    context.params = &params_;
    context.dry_run = dry_run;
    context.backups = &store_;
    context.catalog = &catalog_;
    return context;
  }

  StepOutcome Run(const std::string& action, json params, bool dry_run = false) {
    params_ = std::move(params);
    params_["file"] = path_;
    StepOutcome outcome = driver_->Run(Context(action, dry_run));
    for (const BackupRecord& record : outcome.result.backups) catalog_.Add(record);
    return outcome;
  }

  StepOutcome Backup() { return Run("backup", json::object()); }
  StepOutcome Disable(json flags, json extra = json::object()) {
    extra["flags"] = std::move(flags);
    return Run("disable", std::move(extra));
  }
  StepOutcome Verify(json flags, json extra = json::object()) {
    extra["flags"] = std::move(flags);
    return Run("verify", std::move(extra));
  }

  testing::TempDir dir_;
  std::string path_ = dir_.Join("flags.json");
  std::unique_ptr<Driver> driver_ = MakeFlagdDriver();
  json params_;
  BackupStore store_{dir_.Join("backups")};
  InMemoryBackupCatalog catalog_;
};

TEST_F(FlagdDriverTest, BackupStoresFileBytes) {
  StepOutcome outcome = Backup();

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_EQ(outcome.result.backups.size(), 1u);
  const BackupRecord& record = outcome.result.backups[0];
  EXPECT_EQ(record.format, "flagd-json");
  EXPECT_EQ(record.driver, "flagd");
  EXPECT_EQ(record.origin, path_);
  EXPECT_EQ(record.rollback_id, "rb-7");
  EXPECT_EQ(*store_.ReadChecked(record), kFlagFile);
}

TEST_F(FlagdDriverTest, DisablePinsOffVariantAndDropsTargeting) {
  StepOutcome outcome = Disable({"ai-search"});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ordered_json flag = Document()["flags"]["ai-search"];
  EXPECT_EQ(flag["defaultVariant"], "off");
  EXPECT_EQ(flag["state"], "ENABLED");
  EXPECT_FALSE(flag.contains("targeting"));
  EXPECT_EQ(flag["metadata"]["owner"], "search-team");
  EXPECT_EQ(Document()["flags"]["ai-ranking"]["defaultVariant"], "on");
}

TEST_F(FlagdDriverTest, DisableRecordsBeforeAndAfter) {
  StepOutcome outcome = Disable({"ai-search"});

  ASSERT_EQ(outcome.result.changes.size(), 1u);
  const ChangeRecord& change = outcome.result.changes[0];
  EXPECT_EQ(change.target, path_ + "#ai-search");
  EXPECT_EQ(change.before, "state=ENABLED defaultVariant=on targeting=present");
  EXPECT_EQ(change.after, "state=ENABLED defaultVariant=off targeting=absent");
}

TEST_F(FlagdDriverTest, DisableKeepsUnknownFieldsAndOrder) {
  ASSERT_TRUE(Disable({"ai-*"}).status.ok());

  ordered_json document = Document();
  std::vector<std::string> keys;
  for (const auto& [key, value] : document.items()) keys.push_back(key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"$schema", "metadata", "flags", "$evaluators", "x-custom"}));
  EXPECT_EQ(document["$evaluators"], ordered_json::parse(kFlagFile)["$evaluators"]);
  EXPECT_EQ(document["x-custom"], ordered_json::parse("[1, 2, 3]"));
  std::vector<std::string> ranking_keys;
  for (const auto& [key, value] : document["flags"]["ai-ranking"].items()) {
    ranking_keys.push_back(key);
  }
  EXPECT_EQ(ranking_keys, (std::vector<std::string>{"variants", "state", "defaultVariant"}));
}

TEST_F(FlagdDriverTest, GlobSelectsMatchingFlags) {
  StepOutcome outcome = Disable({"ai-*"});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.changes.size(), 2u);
  EXPECT_EQ(Document()["flags"]["ai-ranking"]["defaultVariant"], "off");
  EXPECT_EQ(Document()["flags"]["new-checkout"]["defaultVariant"], "enabled");
}

TEST_F(FlagdDriverTest, StateDisabledMethodSetsState) {
  StepOutcome outcome = Disable({"ai-search"}, {{"method", "state-disabled"}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ordered_json flag = Document()["flags"]["ai-search"];
  EXPECT_EQ(flag["state"], "DISABLED");
  EXPECT_EQ(flag["defaultVariant"], "on");
  EXPECT_TRUE(flag.contains("targeting"));
}

TEST_F(FlagdDriverTest, CustomOffVariant) {
  StepOutcome outcome = Disable({"new-checkout"}, {{"off_variant", "disabled"}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(Document()["flags"]["new-checkout"]["defaultVariant"], "disabled");
}

TEST_F(FlagdDriverTest, MissingFlagKeyWritesNothing) {
  FileState before = State();
  StepOutcome outcome = Disable({"ai-search", "no-such-flag", "zz-*"});

  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  EXPECT_NE(outcome.status.message().find("no-such-flag"), std::string::npos);
  EXPECT_NE(outcome.status.message().find("zz-*"), std::string::npos);
  EXPECT_EQ(State(), before);
}

TEST_F(FlagdDriverTest, MissingOffVariantNamesFlagAndVariants) {
  FileState before = State();
  StepOutcome outcome = Disable({"ai-search", "new-checkout"});

  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("new-checkout"), std::string::npos);
  EXPECT_NE(outcome.status.message().find("enabled, disabled"), std::string::npos);
  EXPECT_EQ(State(), before);
}

TEST_F(FlagdDriverTest, InvalidJsonLeavesFileUntouched) {
  WriteFlags("{\n  \"flags\": {\n    \"a\": {,}\n  }\n}\n");
  FileState before = State();

  StepOutcome outcome = Disable({"a"});

  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find(path_), std::string::npos);
  EXPECT_NE(outcome.status.message().find("line 3, column 11"), std::string::npos)
      << outcome.status.message();
  EXPECT_EQ(State(), before);
}

TEST_F(FlagdDriverTest, FileWithoutFlagsObjectIsRejected) {
  WriteFlags("{\"flag\": {}}");
  StepOutcome outcome = Disable({"a"});
  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("\"flags\""), std::string::npos);
}

TEST_F(FlagdDriverTest, DisableKeepsFileMode) {
  ASSERT_EQ(::chmod(path_.c_str(), 0640), 0);
  ASSERT_TRUE(Disable({"ai-search"}).status.ok());
  EXPECT_EQ(State().mode, 0640u);
}

TEST_F(FlagdDriverTest, SecondDisableChangesNothing) {
  ASSERT_TRUE(Disable({"ai-*"}).status.ok());
  FileState after_first = State();

  StepOutcome second = Disable({"ai-*"});

  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(State(), after_first);
  EXPECT_NE(second.result.changes[0].summary.find("already off"), std::string::npos);
}

TEST_F(FlagdDriverTest, VerifyPassesAfterDisable) {
  ASSERT_TRUE(Disable({"ai-*"}).status.ok());

  StepOutcome outcome = Verify({"ai-*"});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_TRUE(outcome.result.verification.has_value());
  EXPECT_TRUE(outcome.result.verification->passed);
  EXPECT_EQ(outcome.result.verification->actual,
            "ai-search: variant 'off'; ai-ranking: variant 'off'");
}

TEST_F(FlagdDriverTest, VerifyFailsWhileTargetingPresent) {
  StepOutcome outcome = Verify({"ai-search"});

  EXPECT_EQ(outcome.status.code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(outcome.result.verification.has_value());
  EXPECT_FALSE(outcome.result.verification->passed);
  EXPECT_NE(outcome.result.verification->actual.find("targeting"), std::string::npos);
}

TEST_F(FlagdDriverTest, VerifyTreatsDisabledStateAsCodeDefault) {
  ASSERT_TRUE(Disable({"ai-ranking"}, {{"method", "state-disabled"}}).status.ok());

  StepOutcome pinned = Verify({"ai-ranking"});
  StepOutcome disabled = Verify({"ai-ranking"}, {{"method", "state-disabled"}});

  EXPECT_EQ(pinned.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(pinned.result.verification->actual, "ai-ranking: flag disabled, code default");
  EXPECT_TRUE(disabled.status.ok()) << disabled.status.ToString();
}

TEST_F(FlagdDriverTest, RestorePutsLatestBackupBack) {
  ASSERT_TRUE(Backup().status.ok());
  ASSERT_TRUE(Disable({"ai-*"}).status.ok());
  ASSERT_NE(State().bytes, kFlagFile);

  StepOutcome outcome = Run("restore", json::object());

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(State().bytes, kFlagFile);
  ASSERT_EQ(outcome.result.changes.size(), 1u);
  EXPECT_NE(outcome.result.changes[0].before, outcome.result.changes[0].after);
}

TEST_F(FlagdDriverTest, RestoreByBackupId) {
  StepOutcome backup = Backup();
  ASSERT_TRUE(backup.status.ok());
  WriteFlags("{\"flags\": {}}");

  StepOutcome outcome = Run("restore", {{"backup_id", backup.result.backups[0].id}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(State().bytes, kFlagFile);
}

TEST_F(FlagdDriverTest, RestoreRejectsDamagedBackup) {
  StepOutcome backup = Backup();
  ASSERT_TRUE(backup.status.ok());
  const BackupRecord& record = backup.result.backups[0];
  std::ofstream(store_.root() + "/" + record.sha256.substr(0, 2) + "/" + record.sha256)
      << "{\"flags\": {\"tampered\": {}}}";
  ASSERT_TRUE(Disable({"ai-search"}).status.ok());
  FileState before = State();

  StepOutcome outcome = Run("restore", json::object());

  EXPECT_EQ(outcome.status.code(), StatusCode::kCorruption);
  EXPECT_EQ(State(), before);
}

TEST_F(FlagdDriverTest, RestoreWithoutBackupFails) {
  StepOutcome outcome = Run("restore", json::object());
  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  EXPECT_NE(outcome.status.message().find("rb-7"), std::string::npos);
}

TEST_F(FlagdDriverTest, DryRunTouchesNothing) {
  ASSERT_TRUE(Backup().status.ok());
  FileState before = State();
  size_t backups_before = catalog_.records().size();

  for (const char* action : {"backup", "disable", "verify", "restore"}) {
    StepOutcome outcome = Run(action, {{"flags", {"ai-*"}}}, /*dry_run=*/true);
    ASSERT_TRUE(outcome.status.ok()) << action << ": " << outcome.status.ToString();
    EXPECT_EQ(outcome.result.summary.rfind("would ", 0), 0u) << outcome.result.summary;
    EXPECT_EQ(outcome.result.summary, driver_->Describe(Context(action, true)));
    EXPECT_TRUE(outcome.result.changes.empty());
    EXPECT_TRUE(outcome.result.backups.empty());
  }

  EXPECT_EQ(State(), before);
  EXPECT_EQ(catalog_.records().size(), backups_before);
}

TEST_F(FlagdDriverTest, DryRunCreatesNoBackupStore) {
  StepOutcome outcome = Run("backup", json::object(), /*dry_run=*/true);
  ASSERT_TRUE(outcome.status.ok());
  EXPECT_FALSE(std::filesystem::exists(store_.root()));
}

}  // namespace
}  // namespace rollbook::commands
