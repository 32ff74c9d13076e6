// ctest-labels: unit
// BuildPlan: scope and mode selection, dependency order, variable substitution and overrides,
// budgets, and the plan's text and JSON forms.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "commands/runbook.h"
#include "tests/commands/runbook_fake_drivers.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Components in file order: cache, database (after application), application, flags
// (after cache); the order a plan must respect is cache, application, database, flags.
constexpr char kRunbook[] = R"(feature: shop
budget: 30m
environments:
  production:
    vars:
      root: /srv/shop
      dsn: "host=db password=${env:PGPASSWORD}"
      redis_port: "6379"
      webhook: "${env:SLACK_WEBHOOK_URL}"
  demo:
    vars:
      root: /tmp/demo
      dsn: "host=127.0.0.1 port=${vars.pg_port}"
      pg_port: "5433"
      redis_port: "6380"
      webhook: "http://127.0.0.1:9000/hook"
notifications:
  - {name: incident, kind: slack, url: "${vars.webhook}"}
components:
  cache:
    budget: 2m
    steps:
      - {name: backup-cache, driver: redis, action: backup, params: {patterns: ["ai:*"], port: "${vars.redis_port}"}}
      - {name: purge-cache, driver: redis, action: purge, params: {patterns: ["ai:*"], port: "${vars.redis_port}"}}
      - {name: verify-cache, driver: redis, action: verify, params: {patterns: ["ai:*"], expected_count: 0}}
  database:
    after: [application]
    budget: 20m
    default_mode: safe
    modes:
      safe:
        - {name: backup-db, driver: postgres, action: backup, params: {dsn: "${vars.dsn}"}}
        - {name: down, driver: postgres, action: sql, params: {dsn: "${vars.dsn}", file: "${vars.root}/down.sql"}}
        - {name: verify-db, driver: postgres, action: verify, params: {dsn: "${vars.dsn}", query: q, expected: t}}
      point-in-time:
        - {name: backup-db, driver: postgres, action: backup, params: {dsn: "${vars.dsn}"}}
        - {name: restore-db, driver: postgres, action: point-in-time, params: {dsn: "${vars.dsn}"}}
        - {name: verify-db, driver: postgres, action: verify, params: {dsn: "${vars.dsn}", query: q}}
  application:
    budget: 5m
    steps:
      - {name: save-link, driver: exec, role: backup, params: {argv: [readlink, "${vars.root}/current"], backup_stdout: true}}
      - {name: switch-link, driver: exec, params: {command: "ln -sfn ${HOME}/prev ${vars.root}/next", shell: true}}
      - {name: check-health, driver: exec, role: verify, params: {argv: [test, -f, "${vars.root}/current/health"]}}
  flags:
    after: [cache]
    steps:
      - {name: backup-flags, driver: flagd, action: backup, params: {file: "${vars.root}/flags.json"}}
      - {name: verify-flags, driver: flagd, action: verify, params: {file: "${vars.root}/flags.json", flags: [ai]}}
scopes:
  data: {components: [database], budget: 25m}
  storage: [database, cache]
  toggles: [flags]
  caches: [cache]
)";

class RunbookPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Runbook> runbook = ParseRunbook(kRunbook, "shop.yaml", *registry_);
    ASSERT_TRUE(runbook.ok()) << runbook.status().ToString();
    runbook_ = *runbook;
  }

  Plan PlanFor(const std::string& scope, const std::string& environment = "demo",
               const std::string& mode = "") {
    Result<Plan> plan = BuildPlan(runbook_, scope, environment, mode);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    return plan.ok() ? *plan : Plan{};
  }
  Status PlanError(const std::string& scope, const std::string& environment,
                   const std::string& mode) {
    Result<Plan> plan = BuildPlan(runbook_, scope, environment, mode);
    EXPECT_FALSE(plan.ok());
    return plan.ok() ? Status::Ok() : plan.status();
  }
  static std::vector<std::string> Names(const Plan& plan) {
    std::vector<std::string> names;
    for (const PlannedComponentSpec& component : plan.components) names.push_back(component.name);
    return names;
  }
  static const PlannedComponentSpec& Find(const Plan& plan, const std::string& name) {
    for (const PlannedComponentSpec& component : plan.components) {
      if (component.name == name) return component;
    }
    ADD_FAILURE() << "plan has no component " << name;
    static PlannedComponentSpec none;
    return none;
  }
  static json Params(const PlannedComponentSpec& component, size_t step) {
    return json::parse(component.steps.at(step).params_json);
  }

  std::unique_ptr<DriverRegistry> registry_ = runbook_fakes::MakeFakeRegistry();
  Runbook runbook_;
};

TEST_F(RunbookPlanTest, FullScopeOrdersByAfterThenFileOrder) {
  Plan plan = PlanFor("full");

  EXPECT_THAT(Names(plan), ElementsAre("cache", "application", "database", "flags"));
  EXPECT_EQ(plan.feature, "shop");
  EXPECT_EQ(plan.scope, "full");
  EXPECT_EQ(plan.environment, "demo");
  EXPECT_EQ(plan.runbook_path, "shop.yaml");
  EXPECT_EQ(plan.runbook_sha256, runbook_.sha256);
}

TEST_F(RunbookPlanTest, EmptyScopeMeansFull) {
  EXPECT_THAT(Names(PlanFor("")), ElementsAre("cache", "application", "database", "flags"));
}

TEST_F(RunbookPlanTest, AfterOutsideThePlanIsDropped) {
  Plan plan = PlanFor("database");

  ASSERT_THAT(Names(plan), ElementsAre("database"));
  EXPECT_TRUE(plan.components[0].after.empty());
  EXPECT_THAT(Find(PlanFor("full"), "database").after, ElementsAre("application"));
}

TEST_F(RunbookPlanTest, CustomScopeUsesFileOrder) {
  EXPECT_THAT(Names(PlanFor("storage")), ElementsAre("cache", "database"));
}

TEST_F(RunbookPlanTest, DefaultModeIsUsedWithoutMode) {
  Plan plan = PlanFor("full");

  const PlannedComponentSpec& database = Find(plan, "database");
  EXPECT_EQ(database.mode, "safe");
  ASSERT_EQ(database.steps.size(), 3u);
  EXPECT_EQ(database.steps[1].name, "down");
  EXPECT_EQ(Find(plan, "cache").mode, "");
}

TEST_F(RunbookPlanTest, ModeAppliesOnlyToComponentsWithModes) {
  Plan plan = PlanFor("full", "demo", "point-in-time");

  EXPECT_EQ(plan.mode, "point-in-time");
  EXPECT_EQ(Find(plan, "database").mode, "point-in-time");
  EXPECT_EQ(Find(plan, "database").steps[1].action, "point-in-time");
  EXPECT_EQ(Find(plan, "cache").mode, "");
  EXPECT_EQ(Find(plan, "cache").steps.size(), 3u);
}

TEST_F(RunbookPlanTest, UnknownModeListsModes) {
  Status status = PlanError("database", "demo", "schema");

  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("component \"database\" has no mode \"schema\""));
  EXPECT_THAT(status.message(), HasSubstr("Known modes: point-in-time, safe"));
}

TEST_F(RunbookPlanTest, ModeWithoutModedComponentsIsRejected) {
  EXPECT_TRUE(BuildPlan(runbook_, "storage", "demo", "safe").ok());  // database has modes

  Status status = PlanError("toggles", "demo", "safe");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no component in scope \"toggles\" has modes"));
}

TEST_F(RunbookPlanTest, UnknownScopeAndEnvironmentListKnownOnes) {
  Status scope = PlanError("databse", "demo", "");
  EXPECT_THAT(scope.message(), HasSubstr("unknown scope \"databse\""));
  EXPECT_THAT(scope.message(), HasSubstr("did you mean \"database\""));

  Status environment = PlanError("full", "staging", "");
  EXPECT_THAT(environment.message(), HasSubstr("unknown environment \"staging\""));
  EXPECT_THAT(environment.message(), HasSubstr("Known environments: demo, production"));

  Status missing = PlanError("full", "", "");
  EXPECT_THAT(missing.message(), HasSubstr("no environment given"));
}

TEST_F(RunbookPlanTest, VariablesAreSubstitutedIncludingNested) {
  Plan plan = PlanFor("full");

  EXPECT_EQ(Params(Find(plan, "database"), 1)["file"], "/tmp/demo/down.sql");
  EXPECT_EQ(Params(Find(plan, "database"), 0)["dsn"], "host=127.0.0.1 port=5433");
  EXPECT_EQ(Params(Find(plan, "flags"), 0)["file"], "/tmp/demo/flags.json");
  EXPECT_EQ(plan.notifications.at(0).url, "http://127.0.0.1:9000/hook");
}

TEST_F(RunbookPlanTest, ShellSyntaxIsLeftAlone) {
  Plan plan = PlanFor("application");

  EXPECT_EQ(Params(plan.components[0], 1)["command"], "ln -sfn ${HOME}/prev /tmp/demo/next");
}

TEST_F(RunbookPlanTest, SecretsStayUnresolvedInPlan) {
  Plan plan = PlanFor("full", "production");

  EXPECT_EQ(Params(Find(plan, "database"), 0)["dsn"], "host=db password=${env:PGPASSWORD}");
  EXPECT_EQ(plan.notifications.at(0).url, "${env:SLACK_WEBHOOK_URL}");
  EXPECT_THAT(PlanToJson(plan), HasSubstr("${env:PGPASSWORD}"));
}

TEST_F(RunbookPlanTest, DeferredIntegerIsConverted) {
  Plan plan = PlanFor("caches");

  const PlannedComponentSpec& cache = plan.components.at(0);
  EXPECT_EQ(Params(cache, 0)["port"], 6380);
  EXPECT_TRUE(cache.steps[0].deferred_param_types.empty());
}

TEST_F(RunbookPlanTest, DeferredIntegerWithBadValueFails) {
  ASSERT_TRUE(ApplyVariableOverrides(runbook_, "demo", {{"redis_port", "six"}}).ok());

  Status status = PlanError("caches", "demo", "");

  EXPECT_THAT(status.message(), HasSubstr("parameter \"port\" of step \"backup-cache\" must be "
                                          "an integer, but in environment \"demo\" it is \"six\""));
}

TEST_F(RunbookPlanTest, OverridesReplaceVariables) {
  Status status =
      ApplyVariableOverrides(runbook_, "demo", {{"root", "/tmp/x"}, {"pg_port", "6000"}});

  ASSERT_TRUE(status.ok()) << status.ToString();
  Plan plan = PlanFor("database");
  EXPECT_EQ(Params(plan.components[0], 1)["file"], "/tmp/x/down.sql");
  EXPECT_EQ(Params(plan.components[0], 1)["dsn"], "host=127.0.0.1 port=6000");
}

TEST_F(RunbookPlanTest, OverrideOfUnknownVariableChangesNothing) {
  Status status = ApplyVariableOverrides(runbook_, "demo", {{"root", "/tmp/x"}, {"rot", "/y"}});

  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("no variable \"rot\""));
  EXPECT_THAT(status.message(), HasSubstr("did you mean \"root\""));
  EXPECT_EQ(runbook_.environments.at("demo").at("root"), "/tmp/demo");
}

TEST_F(RunbookPlanTest, OverrideWithInvalidUtf8IsRejected) {
  Status status = ApplyVariableOverrides(runbook_, "demo", {{"root", "/tmp/\xff"}});

  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not valid UTF-8"));
  EXPECT_EQ(runbook_.environments.at("demo").at("root"), "/tmp/demo");
}

TEST_F(RunbookPlanTest, OverrideCreatingCycleIsRejected) {
  Status status = ApplyVariableOverrides(runbook_, "demo", {{"pg_port", "${vars.dsn}"}});

  EXPECT_THAT(status.message(), HasSubstr("cycle"));
  EXPECT_EQ(runbook_.environments.at("demo").at("pg_port"), "5433");
  EXPECT_FALSE(ApplyVariableOverrides(runbook_, "stage", {}).ok());
}

TEST_F(RunbookPlanTest, BudgetFromScopeRunbookOrComponents) {
  EXPECT_EQ(PlanFor("full").budget_ms, 30u * 60 * 1000);
  EXPECT_EQ(PlanFor("data").budget_ms, 25u * 60 * 1000);
  EXPECT_EQ(PlanFor("storage").budget_ms, 22u * 60 * 1000);
  EXPECT_EQ(PlanFor("toggles").budget_ms, 30u * 60 * 1000);  // no component budget: the runbook's
}

TEST_F(RunbookPlanTest, JsonRoundTrip) {
  Plan plan = PlanFor("full", "production", "safe");

  Result<Plan> parsed = PlanFromJson(PlanToJson(plan));

  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(PlanToJson(*parsed), PlanToJson(plan));
  EXPECT_EQ(parsed->components[2].steps[0].role, StepRole::kBackup);
  EXPECT_EQ(parsed->components[2].steps[0].location.line,
            plan.components[2].steps[0].location.line);
  EXPECT_EQ(PlanToJson(plan, 2).find('\n') != std::string::npos, true);
}

TEST_F(RunbookPlanTest, DamagedJsonIsRejected) {
  Result<Plan> parsed = PlanFromJson("{\"feature\": 1}");

  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("invalid plan JSON"));
}

TEST_F(RunbookPlanTest, DescribeShowsOrderModesAndLimits) {
  std::string text = DescribePlan(PlanFor("full"));

  EXPECT_THAT(text, HasSubstr("Plan for feature shop: scope full, environment demo"));
  EXPECT_THAT(text, HasSubstr("Budget: 30m"));
  EXPECT_THAT(text, HasSubstr("Notify: incident (slack) on start, completion, failure"));
  EXPECT_THAT(text, HasSubstr("3. database, after application, mode safe (budget 20m)"));
  EXPECT_THAT(text, HasSubstr("1. backup-db: postgres backup [backup, idempotent] timeout 1m"));
  EXPECT_THAT(text, HasSubstr("2. down: postgres sql [change, mutates] timeout 1m"));
  EXPECT_THAT(text, HasSubstr("params: {\"dsn\":\"host=127.0.0.1 port=5433\""));
  EXPECT_LT(text.find("1. cache"), text.find("2. application"));
}

}  // namespace
}  // namespace rollbook::commands
