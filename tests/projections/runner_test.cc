// ctest-labels: unit
// Projections folded by the runner from real ledger appends: a rebuilt projection equals the
// live one, checkpoints survive a reopen without double counting, and past states can be
// evaluated without touching the stored one.
#include "projections/runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "projections/audit_projection.h"
#include "projections/event_query.h"
#include "projections/metrics_projection.h"
#include "tests/fixtures/ledger_fixture.h"
#include "tests/projections/rollback_script.h"

namespace rollbook::testing {
namespace {

using projections::ProjectionRunner;
using Outcome = schema::Outcome;

// A start in the future, because the ledger never lets recording times go backwards from the
// real time of its first event.
constexpr int64_t kStartNs = 4'102'444'800'000'000'000;  // 2100-01-01T00:00:00Z
constexpr std::chrono::seconds kWait{20};

class ProjectionTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    Close();
    ledger::Options options = DefaultOptions();
    options.wall_clock_ns = [this] { return now_ns_.load(); };
    auto opened = ledger::Ledger::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ledger_ = std::move(opened).value();
  }

  void TearDown() override {
    runner_.reset();
    LedgerTest::TearDown();
  }

  void OpenRunner() {
    projections::RunnerOptions options;
    options.commit_every_events = 7;  // many small commits, so saving changes is exercised
    options.commit_interval = std::chrono::milliseconds(5);
    auto opened = ProjectionRunner::Open(*ledger_, projections::MakeDefaultProjections(), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    runner_ = std::move(opened).value();
  }

  void WaitUntilCaughtUp() {
    ASSERT_TRUE(runner_->WaitForPosition(ledger_->HeadPosition(), kWait))
        << "projections did not reach position " << ledger_->HeadPosition();
  }

  void AdvanceClock(std::chrono::milliseconds by) { now_ns_ += by.count() * 1000000; }

  RollbackScript Rollback(const std::string& id, const std::string& environment = "production") {
    return RollbackScript(*ledger_, id, environment);
  }

  nlohmann::json StateOf(const std::string& name) {
    nlohmann::json state;
    Status read = runner_->Read(
        name, [&](const projections::Projection& projection, projections::StateReader&) {
          state = projection.ToJson();
          return Status::Ok();
        });
    EXPECT_TRUE(read.ok()) << read.ToString();
    return state;
  }

  std::map<std::string, std::string> StoredEntries(const std::string& name) {
    std::map<std::string, std::string> entries;
    Status read =
        runner_->Read(name, [&](const projections::Projection&, projections::StateReader& stored) {
          return stored.Scan("", "", [&](std::string_view key, std::string_view value) {
            entries.emplace(key, value);
            return true;
          });
        });
    EXPECT_TRUE(read.ok()) << read.ToString();
    return entries;
  }

  // Appends a mix of production rollbacks, a drill, a dry run and notes from two threads.
  void AppendMixedHistory() {
    std::thread other([&] {
      for (int i = 0; i < 5; ++i) {
        Rollback("rb-" + std::to_string(100 + i), "staging")
            .Component("db", {{"restore", "postgres"}})
            .RunToCompletion(i % 2 == 0 ? Outcome::SUCCEEDED : Outcome::FAILED, 1000 * (i + 1));
      }
    });
    for (int i = 0; i < 5; ++i) {
      Rollback("rb-" + std::to_string(i + 1))
          .Component("flags", {{"flip", "flagd"}})
          .Component("db", {{"restore", "postgres"}, {"check", "exec"}})
          .RunToCompletion(Outcome::SUCCEEDED, 2000 * (i + 1));
      AppendNotes(3);
    }
    Rollback("rb-50")
        .Drill()
        .Component("flags", {{"flip", "flagd"}})
        .RunToCompletion(Outcome::SUCCEEDED, 999000);
    Rollback("rb-51")
        .DryRun()
        .Component("flags", {{"flip", "flagd"}})
        .RunToCompletion(Outcome::SUCCEEDED, 1);
    other.join();
  }

  std::atomic<int64_t> now_ns_{kStartNs};
  std::unique_ptr<ProjectionRunner> runner_;
};

TEST_F(ProjectionTest, RebuildEqualsLive) {
  OpenRunner();
  runner_->Start();
  AppendMixedHistory();
  WaitUntilCaughtUp();
  runner_->Stop();

  for (const auto& name : runner_->names()) {
    SCOPED_TRACE(name);
    nlohmann::json live = StateOf(name);
    std::map<std::string, std::string> live_stored = StoredEntries(name);
    uint64_t last_progress = 0;
    Status rebuilt =
        runner_->Rebuild(name, [&](uint64_t position, uint64_t) { last_progress = position; });
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.ToString();

    EXPECT_EQ(last_progress, ledger_->HeadPosition());
    EXPECT_EQ(StateOf(name), live);
    EXPECT_EQ(StoredEntries(name), live_stored);
  }
}

TEST_F(ProjectionTest, RebuildWhileFollowingCatchesUpAgain) {
  OpenRunner();
  runner_->Start();
  AppendMixedHistory();
  WaitUntilCaughtUp();
  nlohmann::json before = StateOf("metrics");

  ASSERT_TRUE(runner_->Rebuild("metrics").ok());
  Rollback("rb-60").Component("flags", {{"flip", "flagd"}}).RunToCompletion(Outcome::SUCCEEDED, 10);
  WaitUntilCaughtUp();

  nlohmann::json after = StateOf("metrics");
  EXPECT_EQ(after["production"]["requested"], before["production"]["requested"].get<int>() + 1);
}

TEST_F(ProjectionTest, CheckpointSurvivesReopen) {
  OpenRunner();
  runner_->Start();
  for (int i = 1; i <= 3; ++i) {
    Rollback("rb-" + std::to_string(i))
        .Component("flags", {{"flip", "flagd"}})
        .RunToCompletion(Outcome::SUCCEEDED, 100);
  }
  WaitUntilCaughtUp();
  nlohmann::json components_before = StateOf("components");
  nlohmann::json metrics_before = StateOf("metrics");
  runner_.reset();

  OpenRunner();
  for (const auto& status : runner_->Statuses()) {
    EXPECT_EQ(status.committed_position, ledger_->HeadPosition()) << status.name;
  }
  EXPECT_EQ(StateOf("components"), components_before);
  EXPECT_EQ(StateOf("metrics"), metrics_before);
  EXPECT_EQ(StateOf("metrics")["production"]["requested"], 3);
  runner_->Start();
  for (int i = 4; i <= 5; ++i) {
    Rollback("rb-" + std::to_string(i))
        .Component("flags", {{"flip", "flagd"}})
        .RunToCompletion(Outcome::FAILED, 100);
  }
  WaitUntilCaughtUp();

  nlohmann::json metrics = StateOf("metrics");
  EXPECT_EQ(metrics["production"]["requested"], 5);
  EXPECT_EQ(metrics["production"]["by_outcome"]["succeeded"], 3);
  EXPECT_EQ(metrics["production"]["by_outcome"]["failed"], 2);
  EXPECT_EQ(StateOf("audit")["events"], ledger_->HeadPosition());
  EXPECT_EQ(StateOf("rollbacks")["rollbacks"].size(), 5u);
}

TEST_F(ProjectionTest, CheckpointPastHeadStartsOver) {
  OpenRunner();
  runner_->Start();
  Rollback("rb-1").Component("flags", {{"flip", "flagd"}}).RunToCompletion(Outcome::SUCCEEDED, 10);
  WaitUntilCaughtUp();
  runner_.reset();

  // A ledger shorter than the stored checkpoints, as if it had lost its tail.
  ledger::Options options = DefaultOptions();
  options.directory = dir_.Join("short-ledger");
  auto short_ledger = ledger::Ledger::Create(options, "tester");
  ASSERT_TRUE(short_ledger.ok()) << short_ledger.status().ToString();
  projections::RunnerOptions runner_options;
  runner_options.directory = projections::ProjectionDirectory(ledger_dir_);
  auto reopened =
      ProjectionRunner::Open(**short_ledger, projections::MakeDefaultProjections(), runner_options);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  for (const auto& status : (*reopened)->Statuses()) {
    EXPECT_EQ(status.committed_position, 0u) << status.name;
  }
}

TEST_F(ProjectionTest, FollowerCommitsWhileRunning) {
  OpenRunner();
  runner_->Start();
  AppendNotes(20);
  WaitUntilCaughtUp();

  bool committed = false;
  for (int attempt = 0; attempt < 2000 && !committed; ++attempt) {
    committed = true;
    for (const auto& status : runner_->Statuses()) {
      committed = committed && status.committed_position == ledger_->HeadPosition();
    }
    if (!committed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(committed) << "the follower did not commit within the commit interval";
  EXPECT_TRUE(runner_->CaughtUp());
}

TEST_F(ProjectionTest, EvaluateLeavesLiveStateAlone) {
  Rollback("rb-1").Component("flags", {{"flip", "flagd"}}).RunToCompletion(Outcome::SUCCEEDED, 10);
  uint64_t first_end = ledger_->HeadPosition();
  int64_t first_end_ns = now_ns_;
  AdvanceClock(std::chrono::hours(1));
  Rollback("rb-2").Component("flags", {{"flip", "flagd"}}).RunToCompletion(Outcome::FAILED, 10);
  OpenRunner();
  runner_->Start();
  WaitUntilCaughtUp();

  auto at = runner_->EvaluateAt("metrics", first_end);
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ((*at)["position"], first_end);
  EXPECT_EQ((*at)["state"]["production"]["requested"], 1);

  auto as_of = runner_->EvaluateAsOf("rollbacks", first_end_ns);
  ASSERT_TRUE(as_of.ok()) << as_of.status().ToString();
  EXPECT_EQ((*as_of)["position"], first_end);
  ASSERT_EQ((*as_of)["state"]["rollbacks"].size(), 1u);
  EXPECT_EQ((*as_of)["state"]["rollbacks"][0]["outcome"], "succeeded");

  EXPECT_EQ(StateOf("metrics")["production"]["requested"], 2);
  EXPECT_EQ(StateOf("rollbacks")["rollbacks"].size(), 2u);
}

TEST_F(ProjectionTest, EvaluateRejectsBadArguments) {
  OpenRunner();
  auto past_head = runner_->EvaluateAt("metrics", ledger_->HeadPosition() + 1);
  ASSERT_FALSE(past_head.ok());
  EXPECT_EQ(past_head.status().code(), StatusCode::kNotFound);
  auto unknown = runner_->EvaluateAt("nonsense", 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("rollbacks"), std::string::npos)
      << "the error should list the known projections: " << unknown.status().message();
}

TEST_F(ProjectionTest, ComponentsKeepLastChangePerEnvironment) {
  Rollback("rb-1")
      .Component("flags", {{"flip", "flagd"}})
      .Request()
      .Start()
      .StartComponent("flags")
      .ChangeApplied("flags", "flip", "checkout.enabled", "on", "off");
  uint64_t first_change = ledger_->HeadPosition();
  Rollback("rb-2", "staging")
      .Component("flags", {{"flip", "flagd"}})
      .Request()
      .Start()
      .StartComponent("flags")
      .ChangeApplied("flags", "flip", "checkout.enabled", "on", "maybe");
  Rollback("rb-3")
      .DryRun()
      .Component("flags", {{"flip", "flagd"}})
      .Request()
      .Start()
      .StartComponent("flags")
      .ChangeApplied("flags", "flip", "checkout.enabled", "off", "dry");
  OpenRunner();
  runner_->Start();
  WaitUntilCaughtUp();

  nlohmann::json state = StateOf("components");
  ASSERT_EQ(state["targets"].size(), 2u);
  const nlohmann::json& production = state["targets"][0];
  EXPECT_EQ(production["environment"], "production");
  EXPECT_EQ(production["target"], "checkout.enabled");
  EXPECT_EQ(production["value"], "off");
  EXPECT_EQ(production["previous"], "on");
  EXPECT_EQ(production["rollback_id"], "rb-1");
  EXPECT_EQ(production["position"], first_change);
  EXPECT_EQ(state["targets"][1]["value"], "maybe");
  ASSERT_EQ(state["components"].size(), 2u);
  EXPECT_EQ(state["components"][0]["status"], "running");
}

TEST_F(ProjectionTest, MetricsSeparateDrillsAndCountFinalFailures) {
  for (int i = 1; i <= 10; ++i) {
    Rollback("rb-" + std::to_string(i))
        .Component("flags", {{"flip", "flagd"}})
        .RunToCompletion(Outcome::SUCCEEDED, i * 1000);
  }
  Rollback("rb-11")
      .Drill()
      .Component("flags", {{"flip", "flagd"}})
      .RunToCompletion(Outcome::SUCCEEDED, 500000);
  Rollback("rb-12")
      .Component("db", {{"restore", "postgres"}})
      .Request()
      .Start()
      .StartComponent("db")
      .StepFailed("db", "restore", /*will_retry=*/true)
      .StepFailed("db", "restore", /*will_retry=*/false, 2)
      .CompleteComponent("db", Outcome::FAILED, 20)
      .Complete(Outcome::FAILED, 11000);
  OpenRunner();
  runner_->Start();
  WaitUntilCaughtUp();

  nlohmann::json metrics = StateOf("metrics");
  const nlohmann::json& production = metrics["production"];
  EXPECT_EQ(production["completed"], 11);
  EXPECT_DOUBLE_EQ(production["success_rate"].get<double>(), 10.0 / 11.0);
  EXPECT_EQ(production["duration_ms"]["p50"], 6000);
  EXPECT_EQ(production["duration_ms"]["p95"], 11000);
  EXPECT_EQ(production["duration_ms"]["max"], 11000);
  EXPECT_EQ(production["failed_steps_by_driver"]["postgres"], 1);
  EXPECT_EQ(production["by_environment"]["production"]["completed"], 11);
  EXPECT_EQ(production["by_component"]["db"]["by_outcome"]["failed"], 1);
  EXPECT_EQ(metrics["drills"]["completed"], 1);
  EXPECT_EQ(metrics["drills"]["duration_ms"]["max"], 500000);
}

TEST(NearestRankPercentileTest, MatchesDefinition) {
  std::vector<int64_t> values;
  for (int i = 20; i >= 1; --i) values.push_back(i);
  EXPECT_EQ(projections::NearestRankPercentile(values, 50), 10);
  EXPECT_EQ(projections::NearestRankPercentile(values, 95), 19);
  EXPECT_EQ(projections::NearestRankPercentile(values, 100), 20);
  EXPECT_EQ(projections::NearestRankPercentile({}, 50), 0);
  EXPECT_EQ(projections::NearestRankPercentile({7}, 95), 7);
}

TEST_F(ProjectionTest, QueryByComponentPagesThroughIndexAndTail) {
  OpenRunner();
  runner_->Start();
  AppendMixedHistory();
  WaitUntilCaughtUp();
  runner_->Stop();
  // Events after the audit checkpoint come from a ledger scan instead of the index.
  Rollback("rb-70")
      .Component("db", {{"restore", "postgres"}})
      .RunToCompletion(Outcome::SUCCEEDED, 5);

  projections::EventFilter filter;
  filter.component = "db";
  std::vector<uint64_t> expected;
  for (const auto& event : ReadAll()) {
    if (projections::MatchesFilter(filter, event)) expected.push_back(event.position);
  }
  ASSERT_GT(expected.size(), 20u);

  std::vector<uint64_t> paged;
  uint64_t after = 0;
  for (int page = 0; page < 100; ++page) {
    auto result = projections::QueryEvents(*ledger_, runner_.get(), filter, after, 4);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    for (const auto& event : result->events) paged.push_back(event.position);
    after = result->next_after;
    if (!result->has_more) break;
  }
  EXPECT_EQ(paged, expected);
  EXPECT_EQ(after, ledger_->HeadPosition());
}

}  // namespace
}  // namespace rollbook::testing
