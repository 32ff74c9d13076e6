// ctest-labels: unit
// Runbook parsing: fields, defaults from ActionSpecs, predefined scopes, secrets kept verbatim,
// durations, loading files and resolving the runbook path.
#include "commands/runbook.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/commands/runbook_fake_drivers.h"
#include "tests/fixtures/temp_dir.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kRunbook[] = R"(feature: ai-search
description: Find Contacts with AI
budget: 30m
environments:
  production:
    description: the real thing
    vars:
      flag_file: /etc/flagd/flags.json
      db_dsn: "host=db.internal dbname=app password=${env:PGPASSWORD}"
  demo:
    vars: {flag_file: /tmp/flags.json, db_dsn: "host=127.0.0.1 port=5433"}
notifications:
  - {name: incident-channel, kind: slack, url: "${env:SLACK_WEBHOOK_URL}", on: [start, failure]}
  - {name: audit, kind: webhook, url: "${file:/etc/rollbook/audit-url}"}
components:
  feature-flags:
    description: flagd flags of the feature
    budget: 10m
    steps:
      - name: backup-flags
        driver: flagd
        action: backup
        params: {file: "${vars.flag_file}"}
      - name: disable-flags
        driver: flagd
        action: disable
        params: {file: "${vars.flag_file}", flags: "ai-search*"}
        timeout: 30s
        retries: 2
        backoff: 500ms
        budget: 1m
        idempotent: false
        description: pin every ai-search flag to its off variant
      - {name: verify-flags, driver: flagd, action: verify, params: {file: "${vars.flag_file}", flags: [ai-search*]}}
  database:
    after: [feature-flags]
    steps:
      - {name: backup-db, driver: postgres, action: backup, params: {dsn: "${vars.db_dsn}"}}
      - {name: check-token, driver: exec, role: verify, params: {argv: [check, "${file:/run/token}"], env: {TOKEN: "${env:API_TOKEN}"}}}
monitor:
  window: 15m
  probes: [{name: health, http: "http://127.0.0.1:8080/healthz", threshold: 3}]
)";

class RunbookTest : public ::testing::Test {
 protected:
  Runbook Parse(const std::string& text) {
    Result<Runbook> runbook = ParseRunbook(text, "rollbook.yaml", *registry_);
    EXPECT_TRUE(runbook.ok()) << runbook.status().ToString();
    return runbook.ok() ? *runbook : Runbook{};
  }
  const ComponentSpec& Component(const Runbook& runbook, const std::string& name) {
    for (const ComponentSpec& component : runbook.components) {
      if (component.name == name) return component;
    }
    ADD_FAILURE() << "no component " << name;
    static ComponentSpec none;
    return none;
  }

  std::unique_ptr<DriverRegistry> registry_ = runbook_fakes::MakeFakeRegistry();
};

TEST_F(RunbookTest, ParsesTopLevelFields) {
  Runbook runbook = Parse(kRunbook);

  EXPECT_EQ(runbook.feature, "ai-search");
  EXPECT_EQ(runbook.description, "Find Contacts with AI");
  EXPECT_EQ(runbook.budget_ms, 30u * 60 * 1000);
  EXPECT_EQ(runbook.path, "rollbook.yaml");
  EXPECT_EQ(runbook.sha256.size(), 64u);
  EXPECT_EQ(runbook.environments.at("demo").at("flag_file"), "/tmp/flags.json");
  ASSERT_EQ(runbook.components.size(), 2u);
  EXPECT_EQ(runbook.components[0].name, "feature-flags");
  EXPECT_EQ(runbook.components[0].description, "flagd flags of the feature");
  EXPECT_EQ(runbook.components[1].after, std::vector<std::string>{"feature-flags"});
}

TEST_F(RunbookTest, StepFieldsAndDefaults) {
  Runbook runbook = Parse(kRunbook);

  const std::vector<StepSpec>& steps = Component(runbook, "feature-flags").steps;
  ASSERT_EQ(steps.size(), 3u);
  const StepSpec& backup = steps[0];
  EXPECT_EQ(backup.role, StepRole::kBackup);
  EXPECT_FALSE(backup.mutates);
  EXPECT_TRUE(backup.idempotent);
  EXPECT_EQ(backup.timeout_ms, 60000u);
  EXPECT_EQ(backup.retries, 0u);
  EXPECT_EQ(backup.location.line, 20);
  EXPECT_EQ(backup.location.column, 9);

  const StepSpec& disable = steps[1];
  EXPECT_EQ(disable.role, StepRole::kChange);
  EXPECT_TRUE(disable.mutates);
  EXPECT_FALSE(disable.idempotent);  // narrowed by the step
  EXPECT_EQ(disable.timeout_ms, 30000u);
  EXPECT_EQ(disable.retries, 2u);
  EXPECT_EQ(disable.backoff_ms, 500u);
  EXPECT_EQ(disable.budget_ms, 60000u);
  EXPECT_EQ(disable.description, "pin every ai-search flag to its off variant");
  EXPECT_EQ(json::parse(disable.params_json)["flags"], json::array({"ai-search*"}));
}

TEST_F(RunbookTest, RoleOverrideOfExecStep) {
  Runbook runbook = Parse(kRunbook);

  const StepSpec& check = Component(runbook, "database").steps[1];
  EXPECT_EQ(check.driver, "exec");
  EXPECT_EQ(check.action, "run");  // the driver's only action
  EXPECT_EQ(check.role, StepRole::kVerify);
  EXPECT_FALSE(check.mutates);
}

TEST_F(RunbookTest, SecretReferencesStayVerbatim) {
  Runbook runbook = Parse(kRunbook);

  const StepSpec& check = Component(runbook, "database").steps[1];
  json params = json::parse(check.params_json);
  EXPECT_EQ(params["argv"], json::array({"check", "${file:/run/token}"}));
  EXPECT_EQ(params["env"]["TOKEN"], "${env:API_TOKEN}");
  EXPECT_EQ(runbook.environments.at("production").at("db_dsn"),
            "host=db.internal dbname=app password=${env:PGPASSWORD}");
  EXPECT_EQ(runbook.notifications[0].url, "${env:SLACK_WEBHOOK_URL}");
}

TEST_F(RunbookTest, NotificationsWithDefaults) {
  Runbook runbook = Parse(kRunbook);

  ASSERT_EQ(runbook.notifications.size(), 2u);
  EXPECT_EQ(runbook.notifications[0].kind, "slack");
  EXPECT_THAT(runbook.notifications[0].on, ElementsAre("start", "failure"));
  EXPECT_EQ(runbook.notifications[1].kind, "webhook");
  EXPECT_THAT(runbook.notifications[1].on, ElementsAre("start", "completion", "failure"));
}

TEST_F(RunbookTest, PredefinedScopesForExistingComponents) {
  Runbook runbook = Parse(kRunbook);

  EXPECT_THAT(runbook.scopes.at("full"), ElementsAre("feature-flags", "database"));
  EXPECT_THAT(runbook.scopes.at("feature-flags"), ElementsAre("feature-flags"));
  EXPECT_THAT(runbook.scopes.at("database"), ElementsAre("database"));
  EXPECT_FALSE(runbook.scopes.contains("application"));
  EXPECT_FALSE(runbook.scopes.contains("external-services"));
}

TEST_F(RunbookTest, DeclaredScopesOverridePredefined) {
  std::string text = std::string(kRunbook) +
                     "scopes:\n"
                     "  full: [feature-flags]\n"
                     "  data: {components: [database], budget: 20m, description: data only}\n";

  Runbook runbook = Parse(text);

  EXPECT_THAT(runbook.scopes.at("full"), ElementsAre("feature-flags"));
  EXPECT_THAT(runbook.scopes.at("data"), ElementsAre("database"));
  EXPECT_EQ(runbook.scope_budgets_ms.at("data"), 20u * 60 * 1000);
  EXPECT_EQ(runbook.scope_descriptions.at("data"), "data only");
  EXPECT_THAT(runbook.scopes.at("database"), ElementsAre("database"));
}

TEST_F(RunbookTest, MonitorKeptAsJson) {
  Runbook runbook = Parse(kRunbook);

  json monitor = json::parse(runbook.monitor_json);
  EXPECT_EQ(monitor["window"], "15m");
  EXPECT_EQ(monitor["probes"][0]["threshold"], 3);
  EXPECT_EQ(monitor["probes"][0]["http"], "http://127.0.0.1:8080/healthz");
}

TEST_F(RunbookTest, IntegerParameterFromVariableIsDeferred) {
  std::string text = R"(feature: f
environments: {demo: {vars: {port: "6380"}}}
components:
  cache:
    steps:
      - {name: backup-cache, driver: redis, action: backup, params: {patterns: [a], port: "${vars.port}"}}
      - {name: verify-cache, driver: redis, action: verify, params: {patterns: [a], port: 6379, expected_count: 0}}
)";

  Runbook runbook = Parse(text);

  const std::vector<StepSpec>& steps = runbook.components[0].steps;
  EXPECT_EQ(json::parse(steps[0].params_json)["port"], "${vars.port}");
  EXPECT_EQ(steps[0].deferred_param_types.at("port"), ParamType::kInteger);
  EXPECT_EQ(json::parse(steps[1].params_json)["port"], 6379);
  EXPECT_EQ(json::parse(steps[1].params_json)["expected_count"], 0);
}

TEST_F(RunbookTest, AnyParameterKeepsYamlTypes) {
  std::string text = R"(feature: f
environments: {demo: {}}
components:
  database:
    steps:
      - {name: backup-db, driver: postgres, action: backup, params: {dsn: x}}
      - {name: check-null, driver: postgres, action: verify, params: {dsn: x, query: q, expected: 't'}}
      - {name: check-count, driver: postgres, action: verify, params: {dsn: x, query: q, expected: 0}}
)";

  Runbook runbook = Parse(text);

  EXPECT_EQ(json::parse(runbook.components[0].steps[1].params_json)["expected"], "t");
  EXPECT_EQ(json::parse(runbook.components[0].steps[2].params_json)["expected"], 0);
}

TEST_F(RunbookTest, RunbookDirIsPredefined) {
  std::string text = R"(feature: f
environments:
  demo: {}
  local: {vars: {runbook_dir: /opt/books}}
components:
  database:
    steps:
      - {name: backup-db, driver: postgres, action: backup, params: {dsn: x}}
      - {name: down, driver: postgres, action: sql, params: {dsn: x, file: "${vars.runbook_dir}/down.sql"}}
      - {name: verify-db, driver: postgres, action: verify, params: {dsn: x, query: q}}
)";

  Result<Runbook> runbook = ParseRunbook(text, "/srv/books/ai/rollbook.yaml", *registry_);

  ASSERT_TRUE(runbook.ok()) << runbook.status().ToString();
  EXPECT_EQ(runbook->environments.at("demo").at("runbook_dir"), "/srv/books/ai");
  EXPECT_EQ(runbook->environments.at("local").at("runbook_dir"), "/opt/books");
}

TEST(RunbookDurationTest, AcceptedForms) {
  struct Case {
    const char* text;
    uint64_t ms;
  };
  for (const Case& c :
       {Case{"500ms", 500}, Case{"30s", 30000}, Case{"5m", 300000}, Case{"1h", 3600000},
        Case{"1h30m", 5400000}, Case{"1m30s", 90000}, Case{"2s250ms", 2250}, Case{"250", 250},
        Case{"0", 0}, Case{"0s", 0}, Case{"168h", 168ull * 3600000}}) {
    Result<uint64_t> ms = ParseDurationMs(c.text);
    ASSERT_TRUE(ms.ok()) << c.text << ": " << ms.status().ToString();
    EXPECT_EQ(*ms, c.ms) << c.text;
  }
}

TEST(RunbookDurationTest, RejectedForms) {
  for (const char* text : {"", "5x", "1.5s", "-1s", "1m30", "s", "30 s", " 30s", "ms",
                           "99999999999999999999", "18446744073709551615h", "169h", "1d", "5M"}) {
    Result<uint64_t> ms = ParseDurationMs(text);
    EXPECT_FALSE(ms.ok()) << "\"" << text << "\" parsed as " << (ms.ok() ? *ms : 0);
    if (!ms.ok()) {
      EXPECT_THAT(ms.status().message(), HasSubstr("invalid duration"));
    }
  }
}

TEST(RunbookDurationTest, FormatsExactUnits) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(250), "250ms");
  EXPECT_EQ(FormatDuration(90000), "1m30s");
  EXPECT_EQ(FormatDuration(3600000), "1h");
  EXPECT_EQ(FormatDuration(3661001), "1h1m1s1ms");
}

TEST(RunbookPathTest, FlagThenEnvironmentThenDefault) {
  ::unsetenv("ROLLBOOK_RUNBOOK");
  EXPECT_EQ(ResolveRunbookPath(""), "./rollbook.yaml");
  ::setenv("ROLLBOOK_RUNBOOK", "/srv/book.yaml", 1);
  EXPECT_EQ(ResolveRunbookPath(""), "/srv/book.yaml");
  EXPECT_EQ(ResolveRunbookPath("mine.yaml"), "mine.yaml");
  ::unsetenv("ROLLBOOK_RUNBOOK");
}

TEST(RunbookLoadTest, MissingFileIsNotFound) {
  auto registry = runbook_fakes::MakeFakeRegistry();

  Result<Runbook> runbook = LoadRunbook("/nonexistent/rollbook.yaml", *registry);

  ASSERT_FALSE(runbook.ok());
  EXPECT_EQ(runbook.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(runbook.status().message(), HasSubstr("--runbook FILE"));
}

TEST(RunbookLoadTest, LoadsFileAndHashesBytes) {
  ::rollbook::testing::TempDir dir;
  std::string path = dir.Join("rollbook.yaml");
  std::ofstream(path) << kRunbook;
  auto registry = runbook_fakes::MakeFakeRegistry();

  Result<Runbook> loaded = LoadRunbook(path, *registry);
  Result<Runbook> parsed = ParseRunbook(kRunbook, path, *registry);

  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->path, path);
  EXPECT_EQ(loaded->sha256, parsed->sha256);
}

TEST(RunbookAssignmentTest, SplitsAtFirstEquals) {
  Result<std::pair<std::string, std::string>> assignment =
      ParseVariableAssignment("db_dsn=host=127.0.0.1 port=5433");

  ASSERT_TRUE(assignment.ok());
  EXPECT_EQ(assignment->first, "db_dsn");
  EXPECT_EQ(assignment->second, "host=127.0.0.1 port=5433");
  EXPECT_FALSE(ParseVariableAssignment("no-equals").ok());
  EXPECT_FALSE(ParseVariableAssignment("bad name=1").ok());
  EXPECT_FALSE(ParseVariableAssignment("=1").ok());
}

}  // namespace
}  // namespace rollbook::commands
