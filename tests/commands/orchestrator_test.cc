// ctest-labels: integration
// The orchestrator end to end with the real exec driver: ordering, gates, retries, cancel,
// the one-active rule, dry run and secrets, all read back from the ledger.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "commands/orchestrator.h"
#include "commands/rollback_events.h"
#include "tests/fixtures/ledger_fixture.h"

namespace rollbook::testing {
namespace {

using nlohmann::json;

class OrchestratorTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    work_ = dir_.Join("work");
    std::filesystem::create_directories(work_);
  }

  void TearDown() override {
    orchestrator_.reset();
    LedgerTest::TearDown();
  }

  // Writes a runbook whose `app` component runs the given steps YAML, and starts the executor.
  void UseRunbook(const std::string& components_yaml) {
    runbook_ = dir_.Join("rollbook.yaml");
    std::ofstream(runbook_) << "feature: checkout\n"
                               "environments:\n  test:\n    vars:\n      work: " << work_ << "\n"
                            << "components:\n" << components_yaml;
    commands::OrchestratorOptions options;
    options.default_runbook = runbook_;
    orchestrator_ = std::make_unique<commands::Orchestrator>(*ledger_, options);
    ASSERT_TRUE(orchestrator_->Start().ok());
  }

  Result<json> Command(const std::string& command, json args, const std::string& actor = "alice") {
    return orchestrator_->Execute(commands::CommandRequest{command, &args, actor, ""});
  }

  // Starts a rollback and waits for it to finish; returns its final state.
  projections::RollbackState StartAndWait(json args = {}) {
    if (!args.contains("reason")) args["reason"] = "test rollback";
    auto started = Command("start", args);
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (!started.ok()) return {};
    auto state = orchestrator_->WaitForRollback((*started)["rollback_id"], std::chrono::seconds(60));
    EXPECT_TRUE(state.has_value());
    return state.value_or(projections::RollbackState{});
  }

  std::vector<std::string> EventTypes(const std::string& rollback_id) {
    ledger::ReadOptions options;
    options.correlation_id = rollback_id;
    std::vector<std::string> types;
    for (const auto& event : ReadAll(options)) types.push_back(event.type);
    return types;
  }

  const projections::StepState& Step(const projections::RollbackState& state, const std::string& component,
                                     const std::string& step) {
    const projections::ComponentState* found = state.FindComponent(component);
    EXPECT_NE(found, nullptr) << component;
    static projections::StepState missing;
    if (found == nullptr) return missing;
    for (const auto& candidate : found->steps) {
      if (candidate.name == step) return candidate;
    }
    ADD_FAILURE() << "no step " << step;
    return missing;
  }

  std::string work_;
  std::string runbook_;
  std::unique_ptr<commands::Orchestrator> orchestrator_;
};

// Three components: web depends on flags, db depends on web. Each backs up, changes, verifies.
const char* kThreeComponents = R"(  flags:
    steps:
      - {name: flags-backup, driver: exec, role: backup, params: {argv: [echo, flags-state], backup_stdout: true, origin: flags}}
      - {name: flags-change, driver: exec, params: {argv: [touch, "${vars.work}/flags-off"]}}
      - {name: flags-verify, driver: exec, role: verify, params: {argv: [test, -f, "${vars.work}/flags-off"]}}
  web:
    after: [flags]
    steps:
      - {name: web-backup, driver: exec, role: backup, params: {argv: [echo, web-state], backup_stdout: true, origin: web}}
      - {name: web-change, driver: exec, params: {argv: [touch, "${vars.work}/web-old"]}}
      - {name: web-verify, driver: exec, role: verify, params: {argv: [test, -f, "${vars.work}/web-old"]}}
  db:
    after: [web]
    steps:
      - {name: db-backup, driver: exec, role: backup, params: {argv: [echo, db-state], backup_stdout: true, origin: db}}
      - {name: db-change, driver: exec, params: {argv: [touch, "${vars.work}/db-down"]}}
      - {name: db-verify, driver: exec, role: verify, params: {argv: [test, -f, "${vars.work}/db-down"]}}
)";

TEST_F(OrchestratorTest, FullRollbackSucceedsInOrder) {
  UseRunbook(kThreeComponents);
  auto state = StartAndWait();
  EXPECT_EQ(projections::OutcomeName(state.outcome), "succeeded");
  EXPECT_EQ(state.id, "rb-1");
  EXPECT_EQ(state.actor, "alice");
  EXPECT_EQ(state.backups.size(), 3u);
  for (const char* file : {"flags-off", "web-old", "db-down"}) {
    EXPECT_TRUE(std::filesystem::exists(work_ + "/" + file)) << file;
  }
  // Dependencies finish before their dependents start.
  const auto* flags = state.FindComponent("flags");
  const auto* web = state.FindComponent("web");
  const auto* db = state.FindComponent("db");
  ASSERT_TRUE(flags && web && db);
  EXPECT_LE(flags->finished_at_ns, web->started_at_ns);
  EXPECT_LE(web->finished_at_ns, db->started_at_ns);

  auto types = EventTypes("rb-1");
  EXPECT_EQ(types.front(), "rollbackRequested");
  EXPECT_EQ(types.back(), "rollbackCompleted");
  EXPECT_EQ(std::count(types.begin(), types.end(), "backupCreated"), 3);
  EXPECT_EQ(std::count(types.begin(), types.end(), "verificationPassed"), 3);
  EXPECT_TRUE(VerifyChain().intact);
}

TEST_F(OrchestratorTest, SecondIdsAreSequential) {
  UseRunbook(kThreeComponents);
  EXPECT_EQ(StartAndWait().id, "rb-1");
  EXPECT_EQ(StartAndWait().id, "rb-2");
}

TEST_F(OrchestratorTest, FailedStepRetriesThenFailsAndSkipsDependents) {
  UseRunbook(R"(  flags:
    steps:
      - {name: flags-backup, driver: exec, role: backup, params: {argv: [echo, x], backup_stdout: true, origin: f}}
      - {name: flags-change, driver: exec, retries: 2, backoff: 10ms, params: {argv: [sh, -c, "echo attempt >> ${vars.work}/attempts; exit 3"], shell: false}}
      - {name: flags-verify, driver: exec, role: verify, params: {argv: ["true"]}}
  web:
    after: [flags]
    steps:
      - {name: web-backup, driver: exec, role: backup, params: {argv: [echo, x], backup_stdout: true, origin: w}}
      - {name: web-verify, driver: exec, role: verify, params: {argv: ["true"]}}
)");
  auto state = StartAndWait();
  EXPECT_EQ(projections::OutcomeName(state.outcome), "failed");
  EXPECT_EQ(Step(state, "flags", "flags-change").attempts, 3u);
  EXPECT_EQ(Step(state, "flags", "flags-change").status, projections::StepStatus::kFailed);
  EXPECT_EQ(Step(state, "flags", "flags-verify").status, projections::StepStatus::kPending);
  EXPECT_EQ(state.FindComponent("web")->status, projections::ComponentStatus::kSkipped);

  std::ifstream attempts(work_ + "/attempts");
  int lines = 0;
  for (std::string line; std::getline(attempts, line);) ++lines;
  EXPECT_EQ(lines, 3);
  auto types = EventTypes(state.id);
  EXPECT_EQ(std::count(types.begin(), types.end(), "stepRetrying"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "stepFailed"), 3);
}

TEST_F(OrchestratorTest, RetryAfterFailureCompletesTheRollback) {
  UseRunbook(R"(  flags:
    steps:
      - {name: flags-backup, driver: exec, role: backup, params: {argv: [echo, x], backup_stdout: true, origin: f}}
      - {name: flags-change, driver: exec, params: {argv: [test, -f, "${vars.work}/ready"]}}
      - {name: flags-verify, driver: exec, role: verify, params: {argv: ["true"]}}
)");
  auto failed = StartAndWait();
  EXPECT_EQ(projections::OutcomeName(failed.outcome), "failed");

  std::ofstream(work_ + "/ready") << "now";
  auto retried = Command("retry", {{"rollback_id", failed.id}, {"step", "flags/flags-change"}}, "bob");
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto state = orchestrator_->WaitForRollback(failed.id, std::chrono::seconds(30));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(projections::OutcomeName(state->outcome), "succeeded");
  EXPECT_EQ(Step(*state, "flags", "flags-change").attempts, 2u);
  EXPECT_EQ(Step(*state, "flags", "flags-backup").attempts, 1u) << "the backup step must not run twice";
}

TEST_F(OrchestratorTest, RuntimeGateStopsMutationWithoutBackup) {
  UseRunbook(kThreeComponents);
  // Bypass the validator: append a request whose plan mutates before any backup.
  ledger::AppendRequest request;
  request.stream = "rb-9";
  request.actor = "mallory";
  request.correlation_id = "rb-9";
  request.events.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
    auto requested = payload.initRollbackRequested();
    requested.setRollbackId("rb-9");
    requested.setFeature("checkout");
    requested.setEnvironment("gate-test");
    auto component = requested.initPlan(1)[0];
    component.setName("web");
    auto steps = component.initSteps(2);
    steps[0].setName("web-change");
    steps[0].setDriver("exec");
    steps[0].setAction("run");
    steps[0].setRole("change");
    steps[0].setMutates(true);
    steps[0].setParamsJson(json{{"argv", {"touch", work_ + "/must-not-exist"}}}.dump());
    steps[1].setName("web-verify");
    steps[1].setDriver("exec");
    steps[1].setAction("run");
    steps[1].setRole("verify");
    steps[1].setParamsJson(R"({"argv": ["true"]})");
  }));
  ASSERT_TRUE(ledger_->Append(request).ok());
  auto state = orchestrator_->WaitForRollback("rb-9", std::chrono::seconds(30));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(projections::OutcomeName(state->outcome), "failed");
  EXPECT_FALSE(std::filesystem::exists(work_ + "/must-not-exist"));
  EXPECT_NE(Step(*state, "web", "web-change").last_error.find("gate"), std::string::npos);
}

TEST_F(OrchestratorTest, SecondActiveRollbackIsRejectedAndRecorded) {
  UseRunbook(R"(  slow:
    steps:
      - {name: slow-backup, driver: exec, role: backup, params: {argv: [echo, x], backup_stdout: true, origin: s}}
      - {name: slow-wait, driver: exec, params: {argv: [sleep, "1"]}}
      - {name: slow-verify, driver: exec, role: verify, params: {argv: ["true"]}}
)");
  auto first = Command("start", {{"reason", "first"}});
  ASSERT_TRUE(first.ok());
  auto second = Command("start", {{"reason", "second"}}, "carol");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kConflict);
  EXPECT_NE(second.status().message().find("rb-1"), std::string::npos);

  ledger::ReadOptions rejections;
  rejections.stream = "rejections";
  auto recorded = ReadAll(rejections);
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].actor, "carol");
  EXPECT_EQ(recorded[0].type, "rollbackRejected");
  orchestrator_->WaitForRollback("rb-1", std::chrono::seconds(30));
}

TEST_F(OrchestratorTest, CancelStopsBetweenSteps) {
  UseRunbook(R"(  slow:
    steps:
      - {name: slow-backup, driver: exec, role: backup, params: {argv: [echo, x], backup_stdout: true, origin: s}}
      - {name: slow-wait, driver: exec, params: {argv: [sleep, "1"]}}
      - {name: slow-after-wait, driver: exec, params: {argv: [touch, "${vars.work}/after-wait"]}}
      - {name: slow-verify, driver: exec, role: verify, params: {argv: ["true"]}}
)");
  auto started = Command("start", {{"reason", "to be cancelled"}});
  ASSERT_TRUE(started.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto cancelled = Command("cancel", {{"rollback_id", "rb-1"}, {"reason", "wrong feature"}}, "dave");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  auto state = orchestrator_->WaitForRollback("rb-1", std::chrono::seconds(30));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(projections::OutcomeName(state->outcome), "cancelled");
  EXPECT_EQ(Step(*state, "slow", "slow-wait").status, projections::StepStatus::kSucceeded);
  EXPECT_FALSE(std::filesystem::exists(work_ + "/after-wait"));
  EXPECT_TRUE(state->cancel_requested);
}

TEST_F(OrchestratorTest, DryRunTouchesNothing) {
  UseRunbook(kThreeComponents);
  auto state = StartAndWait({{"dry_run", true}});
  EXPECT_EQ(projections::OutcomeName(state.outcome), "succeeded");
  EXPECT_TRUE(state.dry_run);
  EXPECT_TRUE(std::filesystem::is_empty(work_));
  EXPECT_TRUE(state.backups.empty());
}

TEST_F(OrchestratorTest, SecretsNeverReachTheLedger) {
  const std::string secret = "s3cr3t-value-for-redaction-test";
  ::setenv("ROLLBOOK_TEST_SECRET", secret.c_str(), 1);
  UseRunbook(R"(  app:
    steps:
      - {name: app-backup, driver: exec, role: backup, params: {argv: [echo, "${env:ROLLBOOK_TEST_SECRET}"], backup_stdout: true, origin: a}}
      - {name: app-leak, driver: exec, params: {argv: [sh, -c, "echo token=$0; echo $0 >&2; exit 1", "${env:ROLLBOOK_TEST_SECRET}"]}}
      - {name: app-verify, driver: exec, role: verify, params: {argv: ["true"]}}
)");
  auto state = StartAndWait();
  EXPECT_EQ(projections::OutcomeName(state.outcome), "failed");
  orchestrator_.reset();  // its follower thread reads the ledger until it stops
  Close();
  // Scan every byte the ledger stored, including WAL and SST files.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(ledger_dir_)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream file(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (entry.path().string().find("/backups/") != std::string::npos) continue;  // backup content is the data itself
    EXPECT_EQ(bytes.find(secret), std::string::npos) << entry.path();
  }
  Reopen();
}

TEST_F(OrchestratorTest, UnknownCommandAndMissingArguments) {
  UseRunbook(kThreeComponents);
  EXPECT_EQ(Command("explode", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Command("start", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Command("cancel", {{"rollback_id", "rb-404"}}).status().code(), StatusCode::kNotFound);
  auto bad_scope = Command("start", {{"reason", "x"}, {"scope", "nonexistent"}});
  EXPECT_EQ(bad_scope.status().code(), StatusCode::kNotFound);
}

TEST_F(OrchestratorTest, NotesJoinTheRollback) {
  UseRunbook(kThreeComponents);
  auto state = StartAndWait();
  auto noted = Command("note", {{"rollback_id", state.id}, {"text", "customers confirmed"}}, "erin");
  ASSERT_TRUE(noted.ok());
  auto updated = orchestrator_->Snapshot(state.id);
  ASSERT_TRUE(updated.has_value());
  ASSERT_EQ(updated->notes.size(), 1u);
  EXPECT_EQ(updated->notes[0], "customers confirmed");
}

}  // namespace
}  // namespace rollbook::testing
