// ctest-labels: unit
// The analyzer on known histories: golden output, byte-identical replays, gate findings on
// malformed histories, recommendation rules and comparison with earlier rollbacks.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "analyzer/action_items.h"
#include "analyzer/analysis_output.h"
#include "tests/analyzer/analyzer_fixture.h"

namespace rollbook::testing {
namespace {

using analyzer::AnalysisSection;
using schema::Outcome;

std::string Full(const analyzer::Analysis& analysis) {
  return analyzer::AnalysisToText(analysis, AnalysisSection::kFull);
}

std::string Json(const analyzer::Analysis& analysis) {
  return analyzer::AnalysisToJson(analysis, AnalysisSection::kFull).dump(2) + "\n";
}

bool HasRule(const std::vector<analyzer::Recommendation>& recommendations,
             const std::string& rule) {
  return std::any_of(recommendations.begin(), recommendations.end(),
                     [&](const analyzer::Recommendation& r) { return r.rule == rule; });
}

const analyzer::Finding* FindingFor(const analyzer::Analysis& analysis, const std::string& rule) {
  for (const auto& finding : analysis.findings) {
    if (finding.rule == rule) return &finding;
  }
  return nullptr;
}

using AnalyzeTest = AnalyzerTest;

TEST_F(AnalyzeTest, EventfulRollbackMatchesGolden) {
  WriteEventfulRollback();
  AddActionItems();
  auto analysis = Analyze("rb-1");
  ExpectGolden("eventful.txt", Full(analysis));
  ExpectGolden("eventful.json", Json(analysis));
}

TEST_F(AnalyzeTest, ReplaysAreByteIdentical) {
  WriteEventfulRollback();
  AddActionItems();
  std::string first_text = Full(Analyze("rb-1"));
  std::string first_json = Json(Analyze("rb-1"));

  // A read-only open reads the same history and must produce the same bytes.
  ledger_.reset();
  ledger::Options options = Options();
  options.read_only = true;
  auto reopened = ledger::Ledger::Open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto again = analyzer::AnalyzeRollback(**reopened, "rb-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Full(*again), first_text);
  EXPECT_EQ(Json(*again), first_json);
}

TEST_F(AnalyzeTest, MeasuresBudgetsAndCriticalPath) {
  WriteEventfulRollback();
  auto analysis = Analyze("rb-1");
  EXPECT_EQ(analysis.duration_ms, 1500);
  EXPECT_TRUE(analysis.over_budget);
  EXPECT_EQ(analysis.critical_path, (std::vector<std::string>{"flags", "web"}));
  ASSERT_EQ(analysis.components.size(), 2u);
  const auto& flags_off = analysis.components[0].steps[1];
  EXPECT_EQ(flags_off.name, "flags-off");
  EXPECT_EQ(flags_off.duration_ms, 200);
  EXPECT_TRUE(flags_off.over_budget);
  EXPECT_EQ(analysis.components[1].steps[1].attempts, 3u);
  EXPECT_EQ(analysis.failures.size(), 3u);
  EXPECT_EQ(analysis.retries, 3u);
}

TEST_F(AnalyzeTest, RecommendationsCiteTriggeringEvents) {
  WriteEventfulRollback();
  auto analysis = Analyze("rb-1");
  for (const char* rule :
       {"step-over-budget", "retries-same-host", "verification-flapped", "notification-failed",
        "rollback-over-budget", "threshold-unrecovered"}) {
    EXPECT_TRUE(HasRule(analysis.recommendations, rule)) << rule;
  }
  EXPECT_FALSE(HasRule(analysis.recommendations, "outcome-unknown-step"));
  for (const auto& recommendation : analysis.recommendations) {
    ASSERT_FALSE(recommendation.positions.empty()) << recommendation.rule;
    for (uint64_t position : recommendation.positions) {
      auto event = ledger_->ReadEvent(position);
      ASSERT_TRUE(event.ok()) << recommendation.rule << " cites #" << position;
      EXPECT_EQ(event->correlation_id, "rb-1") << recommendation.rule;
    }
  }
  auto retries = std::find_if(analysis.recommendations.begin(), analysis.recommendations.end(),
                              [](const auto& r) { return r.rule == "retries-same-host"; });
  ASSERT_NE(retries, analysis.recommendations.end());
  EXPECT_EQ(retries->subject, "web-1.internal");
  EXPECT_EQ(retries->positions.size(), 2u);
}

TEST_F(AnalyzeTest, CleanHistoryHasNoFindings) {
  auto rollback = Rollback("rb-1");
  rollback.Budget(60000).Component("flags", {}, 0,
                                   {{"backup", "flagd", "backup", "backup"},
                                    {"off", "flagd", "disable", "change"},
                                    {"verify", "flagd", "verify", "verify"}});
  rollback.At(0).Request().Start();
  rollback.RunComponent("flags", 10, 10).At(50).Completed(Outcome::SUCCEEDED, "flags succeeded");
  auto analysis = Analyze("rb-1");
  EXPECT_TRUE(analysis.findings.empty()) << Full(analysis);
  EXPECT_TRUE(analysis.recommendations.empty()) << Full(analysis);
}

TEST_F(AnalyzeTest, MalformedHistoryMatchesGolden) {
  // Written by "anything": a mutation before any backup, a component reported as succeeded
  // without verification, and a crash gap: a step started and the log ends.
  auto rollback = Rollback("rb-1");
  rollback
      .Component("flags", {}, 0,
                 {{"backup", "flagd", "backup", "backup"},
                  {"off", "flagd", "disable", "change"},
                  {"verify", "flagd", "verify", "verify"}})
      .Component("db", {"flags"}, 0,
                 {{"dump", "postgres", "backup", "backup"},
                  {"migrate", "postgres", "sql", "change"},
                  {"check", "postgres", "verify", "verify"}});
  rollback.At(0).Request().Start().At(10).ComponentStarted("flags");
  rollback.StepStarted("flags", "off")
      .At(20)
      .Change("flags", "off")
      .StepSucceeded("flags", "off", 10);
  rollback.At(21).ComponentCompleted("flags", Outcome::SUCCEEDED);
  rollback.At(30).ComponentStarted("db").StepStarted("db", "dump").At(40).Backup("db", "dump");
  rollback.StepSucceeded("db", "dump", 10).At(41).StepStarted("db", "migrate");

  auto analysis = Analyze("rb-1");
  const analyzer::Finding* mutation = FindingFor(analysis, "mutation-without-backup");
  ASSERT_NE(mutation, nullptr) << Full(analysis);
  EXPECT_EQ(mutation->subject, "flags/off");
  EXPECT_EQ(mutation->severity, "error");
  const analyzer::Finding* unverified = FindingFor(analysis, "component-not-verified");
  ASSERT_NE(unverified, nullptr);
  EXPECT_EQ(unverified->subject, "flags");
  const analyzer::Finding* gap = FindingFor(analysis, "step-without-outcome");
  ASSERT_NE(gap, nullptr);
  EXPECT_EQ(gap->subject, "db/migrate");
  EXPECT_EQ(gap->positions, (std::vector<uint64_t>{rollback.last_position()}));
  EXPECT_NE(FindingFor(analysis, "rollback-not-completed"), nullptr);
  // The migration ran after the db backup, so only the flags change breaks the backup gate.
  EXPECT_EQ(std::count_if(analysis.findings.begin(), analysis.findings.end(),
                          [](const auto& f) { return f.rule == "mutation-without-backup"; }),
            1);
  ExpectGolden("malformed.txt", Full(analysis));
}

TEST_F(AnalyzeTest, RetryStormMatchesGolden) {
  auto rollback = Rollback("rb-1");
  rollback.Component("api", {}, 0,
                     {{"snapshot", "http", "request", "backup"},
                      {"disable", "http", "request", "change"},
                      {"check", "http", "request", "verify"}});
  rollback.At(0).Request().Start().At(5).ComponentStarted("api").StepStarted("api", "snapshot");
  rollback.At(10).Backup("api", "snapshot").StepSucceeded("api", "snapshot", 5);
  int64_t t = 10;
  for (uint32_t attempt = 1; attempt <= 6; ++attempt) {
    rollback.At(t).StepStarted("api", "disable", attempt).At(t + 40);
    rollback.StepFailed("api", "disable", attempt, attempt < 6, "api.payments.internal",
                        "HTTP 503");
    if (attempt < 6) rollback.StepRetrying("api", "disable", attempt + 1);
    t += 200;
  }
  rollback.At(t)
      .ComponentCompleted("api", Outcome::FAILED)
      .Completed(Outcome::FAILED, "api failed");

  auto analysis = Analyze("rb-1");
  EXPECT_EQ(analysis.failures.size(), 6u);
  EXPECT_EQ(analysis.retries, 5u);
  EXPECT_TRUE(HasRule(analysis.recommendations, "retries-same-host"));
  EXPECT_TRUE(HasRule(analysis.recommendations, "repeated-attempts"));
  EXPECT_EQ(analysis.components[0].steps[1].status, "failed");
  EXPECT_EQ(FindingFor(analysis, "component-not-verified"), nullptr);  // it failed, claims nothing
  ExpectGolden("retry-storm.txt", Full(analysis));
}

TEST_F(AnalyzeTest, OutcomeUnknownSkipAndCancelAreListed) {
  auto rollback = Rollback("rb-1");
  rollback.Component("keys", {}, 0,
                     {{"old-key", "rotate-key", "backup", "backup"},
                      {"rotate", "rotate-key", "rotate", "change"},
                      {"check", "exec", "run", "verify"}});
  rollback.At(0).Request().Start().At(5).ComponentStarted("keys").StepStarted("keys", "old-key");
  rollback.At(10).StepSucceeded("keys", "old-key", 5).StepStarted("keys", "rotate");
  rollback.At(5000).Start().StepOutcomeUnknown("keys", "rotate");
  rollback.At(6000).StepSkipped("keys", "rotate", "the new key was already in place");
  rollback.At(6100).Cancel("dave", "paged for another incident");
  rollback.At(6200)
      .ComponentCompleted("keys", Outcome::CANCELLED)
      .Completed(Outcome::CANCELLED, "keys cancelled");

  auto analysis = Analyze("rb-1");
  ASSERT_EQ(analysis.outcome_unknown.size(), 1u);
  EXPECT_EQ(analysis.outcome_unknown[0].step, "rotate");
  ASSERT_EQ(analysis.skipped.size(), 1u);
  EXPECT_EQ(analysis.skipped[0].reason, "the new key was already in place");
  ASSERT_EQ(analysis.cancellations.size(), 1u);
  EXPECT_EQ(analysis.cancellations[0].actor, "dave");
  EXPECT_TRUE(HasRule(analysis.recommendations, "outcome-unknown-step"));
  EXPECT_EQ(FindingFor(analysis, "step-without-outcome"), nullptr);  // outcome-unknown closed it
}

TEST_F(AnalyzeTest, ComparesWithEarlierRollbacksOfSameScope) {
  auto write = [&](const std::string& id, int64_t start_ns, int64_t step_ms, bool fail_switch) {
    auto rollback = Rollback(id, start_ns);
    rollback.Component("web", {}, 0,
                       {{"web-backup", "exec", "run", "backup"},
                        {"web-switch", "exec", "run", "change"},
                        {"web-verify", "exec", "run", "verify"}});
    rollback.At(0).Request().Start();
    if (fail_switch) rollback.At(1).StepFailed("web", "web-switch", 1, true, "web-1");
    rollback.RunComponent("web", 2, step_ms)
        .At(2 + 3 * step_ms)
        .Completed(Outcome::SUCCEEDED, "web");
  };
  write("rb-1", kHistoryEpochNs, 100, true);
  write("rb-2", kHistoryEpochNs + 3600LL * 1000000000LL, 100, false);
  write("rb-3", kHistoryEpochNs + 7200LL * 1000000000LL, 300, true);

  auto analysis = Analyze("rb-3");
  const analyzer::Comparison& comparison = analysis.comparison;
  ASSERT_EQ(comparison.earlier.size(), 2u);
  EXPECT_EQ(comparison.earlier[0].id, "rb-1");
  EXPECT_EQ(comparison.same_scope, 2u);
  EXPECT_EQ(comparison.mean_duration_ms, 302);
  EXPECT_EQ(comparison.trend, "slower");
  ASSERT_EQ(comparison.recurring.size(), 1u);
  EXPECT_EQ(comparison.recurring[0].step, "web/web-switch");
  EXPECT_EQ(comparison.recurring[0].rollbacks, (std::vector<std::string>{"rb-1"}));
}

TEST_F(AnalyzeTest, UnknownRollbackIsNotFound) {
  auto analysis = analyzer::AnalyzeRollback(*ledger_, "rb-7");
  ASSERT_FALSE(analysis.ok());
  EXPECT_EQ(analysis.status().code(), StatusCode::kNotFound);
  EXPECT_NE(analysis.status().message().find("rb-7"), std::string::npos);
}

TEST_F(AnalyzeTest, ActionItemsAreTrackedUntilResolved) {
  WriteEventfulRollback();
  auto first = analyzer::AddActionItem(
      *ledger_, {"rb-1", "Add a readiness check", "carol", 0, "action", "bob", ""});
  auto second = analyzer::AddActionItem(
      *ledger_, {"rb-1", "Shorter flag TTL", "dave", 0, "action", "bob", ""});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*first, "ai-1");
  EXPECT_EQ(*second, "ai-2");
  ASSERT_TRUE(analyzer::ResolveActionItem(*ledger_, "ai-1", "done in runbook v2", "carol").ok());

  auto items = analyzer::ListActionItems(*ledger_, "rb-1");
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_TRUE((*items)[0].resolved);
  EXPECT_EQ((*items)[0].resolved_by, "carol");
  EXPECT_FALSE((*items)[1].resolved);

  Status again = analyzer::ResolveActionItem(*ledger_, "ai-1", "", "carol");
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  EXPECT_EQ(analyzer::ResolveActionItem(*ledger_, "ai-9", "", "carol").code(),
            StatusCode::kNotFound);
  auto unknown_rollback =
      analyzer::AddActionItem(*ledger_, {"rb-5", "x", "", 0, "action", "bob", ""});
  EXPECT_EQ(unknown_rollback.status().code(), StatusCode::kNotFound);
  auto empty = analyzer::AddActionItem(*ledger_, {"rb-1", "", "", 0, "action", "bob", ""});
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AnalyzeTest, RepeatedCommandIdAddsOneItem) {
  WriteEventfulRollback();
  analyzer::NewActionItem item{"rb-1", "Add a readiness check", "carol", 0, "action", "bob", "k-1"};
  auto first = analyzer::AddActionItem(*ledger_, item);
  auto retried = analyzer::AddActionItem(*ledger_, item);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(*retried, *first);

  auto items = analyzer::ListActionItems(*ledger_, "rb-1");
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->size(), 1u);
}

TEST_F(AnalyzeTest, SectionsSelectJsonMembers) {
  WriteEventfulRollback();
  auto analysis = Analyze("rb-1");
  auto timeline = analyzer::AnalysisToJson(analysis, AnalysisSection::kTimeline);
  EXPECT_TRUE(timeline.contains("timeline"));
  EXPECT_FALSE(timeline.contains("issues"));
  auto issues = analyzer::AnalysisToJson(analysis, AnalysisSection::kIssues);
  EXPECT_TRUE(issues.contains("issues"));
  EXPECT_FALSE(issues.contains("timeline"));
  EXPECT_FALSE(analyzer::ParseAnalysisSection("everything").ok());
}

}  // namespace
}  // namespace rollbook::testing
