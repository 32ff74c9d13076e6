// ctest-labels: integration
// Drills run through the orchestrator with the real exec driver: time to roll back against the
// budget, recorded as drillCompleted, and the history per scope.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "analyzer/drills.h"
#include "commands/orchestrator.h"
#include "tests/fixtures/ledger_fixture.h"

namespace rollbook::testing {
namespace {

using nlohmann::json;

class DrillTest : public LedgerTest {
 protected:
  void TearDown() override {
    orchestrator_.reset();
    LedgerTest::TearDown();
  }

  // A runbook whose only component sleeps for `change_seconds` in its change step, with a
  // budget of `budget` for the whole rollback.
  void UseRunbook(const std::string& change_seconds, const std::string& budget) {
    std::string path = dir_.Join("rollbook.yaml");
    std::ofstream(path)
        << "feature: checkout\nbudget: " << budget
        << "\nenvironments:\n  staging:\n    vars: {}\n"
           "components:\n  app:\n    steps:\n"
           "      - {name: app-backup, driver: exec, role: backup, params: {argv: [echo, v1], "
           "backup_stdout: true, origin: app}}\n"
           "      - {name: app-switch, driver: exec, params: {argv: [sleep, \""
        << change_seconds
        << "\"]}}\n"
           "      - {name: app-verify, driver: exec, role: verify, params: {argv: [\"true\"]}}\n";
    commands::OrchestratorOptions options;
    options.default_runbook = path;
    orchestrator_ = std::make_unique<commands::Orchestrator>(*ledger_, options);
    ASSERT_TRUE(orchestrator_->Start().ok());
  }

  std::string RunDrill(bool dry_run = false) {
    json args = {{"reason", "monthly drill"},
                 {"drill", true},
                 {"dry_run", dry_run},
                 {"environment", "staging"}};
    auto started = orchestrator_->Execute(commands::CommandRequest{"start", &args, "platform", ""});
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (!started.ok()) return "";
    std::string id = (*started)["rollback_id"];
    auto state = orchestrator_->WaitForRollback(id, std::chrono::seconds(60));
    EXPECT_TRUE(state.has_value());
    return id;
  }

  std::vector<analyzer::DrillResult> Drills() {
    auto drills = analyzer::ListDrills(*ledger_);
    EXPECT_TRUE(drills.ok()) << drills.status().ToString();
    return drills.ok() ? *drills : std::vector<analyzer::DrillResult>{};
  }

  std::unique_ptr<commands::Orchestrator> orchestrator_;
};

TEST_F(DrillTest, DrillOverBudgetIsRecordedAsSuch) {
  UseRunbook("0.4", "100ms");
  std::string id = RunDrill();
  auto drills = Drills();
  ASSERT_EQ(drills.size(), 1u);
  EXPECT_EQ(drills[0].rollback_id, id);
  EXPECT_EQ(drills[0].outcome, "succeeded");
  EXPECT_EQ(drills[0].budget_ms, 100u);
  EXPECT_GE(drills[0].duration_ms, 400);
  EXPECT_FALSE(drills[0].within_budget);
  EXPECT_EQ(drills[0].feature, "checkout");
  EXPECT_EQ(drills[0].environment, "staging");
}

TEST_F(DrillTest, HistoryShowsSuccessRateAndTrendPerScope) {
  UseRunbook("0.2", "10s");
  RunDrill();
  RunDrill();
  RunDrill(/*dry_run=*/true);
  auto groups = analyzer::SummarizeDrills(Drills());
  ASSERT_EQ(groups.size(), 1u);
  const analyzer::DrillGroup& group = groups[0];
  EXPECT_EQ(group.scope, "full");
  EXPECT_EQ(group.drills.size(), 3u);
  EXPECT_EQ(group.succeeded, 3u);
  EXPECT_EQ(group.success_percent, 100);
  EXPECT_EQ(group.within_budget, 3u);
  EXPECT_TRUE(group.drills[2].dry_run);
  EXPECT_LE(group.best_ms, group.mean_ms);
  EXPECT_LE(group.mean_ms, group.worst_ms);
  std::string text = analyzer::DrillHistoryText(groups);
  EXPECT_NE(text.find("checkout in staging, scope full: 3 drills, 100% succeeded"),
            std::string::npos)
      << text;
}

TEST_F(DrillTest, ProductionRollbacksAreNotDrills) {
  UseRunbook("0", "10s");
  json args = {{"reason", "real incident"}, {"environment", "staging"}};
  auto started = orchestrator_->Execute(commands::CommandRequest{"start", &args, "oncall", ""});
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(orchestrator_->WaitForRollback((*started)["rollback_id"], std::chrono::seconds(60)));
  EXPECT_TRUE(Drills().empty());
  EXPECT_EQ(analyzer::DrillHistoryText({}).find("no drills recorded yet"), 0u);
}

}  // namespace
}  // namespace rollbook::testing
