// ctest-labels: unit
// The example runbook in docs/examples/ai-search: it validates against the built-in drivers, and
// each rollback scenario (full, database, feature flags, external services) plans the
// components and modes it should.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands/runbook.h"
#include "tests/commands/runbook_fake_drivers.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ExampleRunbookPath() {
  const char* source = std::getenv("ROLLBOOK_SOURCE_DIR");
  std::string root = source != nullptr ? source : ".";
  return root + "/docs/examples/ai-search/rollbook.yaml";
}

class ExampleRunbookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Runbook> runbook = LoadRunbook(ExampleRunbookPath(), DriverRegistry::BuiltIn());
    ASSERT_TRUE(runbook.ok()) << runbook.status().ToString();
    runbook_ = *runbook;
  }

  Plan PlanFor(const std::string& scope, const std::string& mode = "") {
    Result<Plan> plan = BuildPlan(runbook_, scope, "demo", mode);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    return plan.ok() ? *plan : Plan{};
  }
  static std::vector<std::string> Names(const Plan& plan) {
    std::vector<std::string> names;
    for (const PlannedComponentSpec& component : plan.components) names.push_back(component.name);
    return names;
  }
  static std::vector<std::string> StepNames(const PlannedComponentSpec& component) {
    std::vector<std::string> names;
    for (const StepSpec& step : component.steps) names.push_back(step.name);
    return names;
  }

  Runbook runbook_;
};

TEST(ExampleRunbookFakeDriversTest, ValidatesAgainstFakeRegistry) {
  auto registry = runbook_fakes::MakeFakeRegistry();

  Result<Runbook> runbook = LoadRunbook(ExampleRunbookPath(), *registry);

  ASSERT_TRUE(runbook.ok()) << runbook.status().ToString();
}

TEST_F(ExampleRunbookTest, DeclaresScenarioScopes) {
  EXPECT_EQ(runbook_.feature, "ai-search");
  EXPECT_EQ(runbook_.budget_ms, 30u * 60 * 1000);
  for (const char* scope :
       {"full", "database", "feature-flags", "external-services", "application"}) {
    EXPECT_TRUE(runbook_.scopes.contains(scope)) << scope;
  }
  EXPECT_THAT(runbook_.scopes.at("application"), ElementsAre("application"));
}

TEST_F(ExampleRunbookTest, FullRollbackOrder) {
  Plan plan = PlanFor("full");

  EXPECT_THAT(Names(plan),
              ElementsAre("feature-flags", "external-services", "application", "database"));
  EXPECT_EQ(plan.budget_ms, 30u * 60 * 1000);
  EXPECT_EQ(plan.components[3].mode, "safe");
  EXPECT_THAT(plan.components[3].after, ElementsAre("application"));
}

TEST_F(ExampleRunbookTest, DatabaseModes) {
  for (const char* mode : {"safe", "schema-only", "data-only", "point-in-time"}) {
    Plan plan = PlanFor("database", mode);
    ASSERT_EQ(plan.components.size(), 1u) << mode;
    const PlannedComponentSpec& database = plan.components[0];
    EXPECT_EQ(database.mode, mode);
    EXPECT_EQ(database.steps.front().action, "backup") << mode;
    EXPECT_EQ(database.steps.back().role, StepRole::kVerify) << mode;
  }
  EXPECT_EQ(PlanFor("database", "point-in-time").components[0].steps[1].action, "point-in-time");
  EXPECT_EQ(PlanFor("database").budget_ms, 20u * 60 * 1000);
}

TEST_F(ExampleRunbookTest, SqlFilesExistBesideTheRunbook) {
  for (const char* mode : {"safe", "schema-only", "data-only"}) {
    Plan plan = PlanFor("database", mode);
    std::string file = json::parse(plan.components.at(0).steps.at(1).params_json)["file"];
    EXPECT_TRUE(std::filesystem::is_regular_file(file)) << file;
  }
}

TEST_F(ExampleRunbookTest, FeatureFlagsScenario) {
  Plan plan = PlanFor("feature-flags");

  ASSERT_THAT(Names(plan), ElementsAre("feature-flags"));
  EXPECT_THAT(
      StepNames(plan.components[0]),
      ElementsAre("backup-flags", "backup-ai-search-cache", "disable-ai-search-flags",
                  "purge-ai-search-cache", "verify-ai-search-cache-empty", "verify-flags-off"));
  json disable = json::parse(plan.components[0].steps[2].params_json);
  EXPECT_EQ(disable["file"], "/tmp/rollbook-demo/flagd/flags.json");
  EXPECT_EQ(disable["flags"], json::array({"ai-search*"}));
  EXPECT_EQ(json::parse(plan.components[0].steps[3].params_json)["port"], 6390);
}

TEST_F(ExampleRunbookTest, ExternalServicesScenarioKeepsSecretReference) {
  Plan plan = PlanFor("external-services");

  ASSERT_THAT(Names(plan), ElementsAre("external-services"));
  const std::vector<StepSpec>& steps = plan.components[0].steps;
  EXPECT_EQ(steps[0].role, StepRole::kBackup);
  EXPECT_FALSE(steps[0].mutates);
  EXPECT_EQ(steps[2].driver, "rotate-key");
  EXPECT_EQ(steps[3].role, StepRole::kVerify);
  json backup = json::parse(steps[0].params_json);
  EXPECT_EQ(backup["headers"]["Authorization"], "Bearer ${env:INTEGRATION_ADMIN_TOKEN}");
  EXPECT_EQ(backup["url"], "http://127.0.0.1:8089/integrations/ai-provider");
}

TEST_F(ExampleRunbookTest, DemoOverridesMoveTheSandbox) {
  Status status = ApplyVariableOverrides(runbook_, "demo",
                                         {{"demo_dir", "/tmp/sandbox-1"},
                                          {"pg_port", "54321"},
                                          {"redis_port", "16379"},
                                          {"integration_url", "http://127.0.0.1:18089"}});
  ASSERT_TRUE(status.ok()) << status.ToString();

  Plan plan = PlanFor("full");

  std::string text = PlanToJson(plan);
  EXPECT_THAT(text, HasSubstr("/tmp/sandbox-1/releases/2024.06.1"));
  EXPECT_THAT(text, HasSubstr("port=54321"));
  EXPECT_THAT(text, HasSubstr("http://127.0.0.1:18089/integrations/ai-provider"));
  EXPECT_THAT(text, HasSubstr("\"port\":16379"));
  EXPECT_EQ(text.find("/tmp/rollbook-demo"), std::string::npos);
  EXPECT_EQ(plan.notifications.at(0).url, "http://127.0.0.1:18089/hooks/incident");
}

TEST_F(ExampleRunbookTest, ProductionPlanKeepsSecretsUnresolved) {
  Result<Plan> plan = BuildPlan(runbook_, "full", "production", "");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();

  std::string text = PlanToJson(*plan);
  EXPECT_THAT(text, HasSubstr("password=${env:PGPASSWORD}"));
  EXPECT_THAT(text, HasSubstr("${env:REDIS_PASSWORD}"));
  EXPECT_EQ(plan->notifications.at(0).url, "${env:SLACK_WEBHOOK_URL}");
}

}  // namespace
}  // namespace rollbook::commands
