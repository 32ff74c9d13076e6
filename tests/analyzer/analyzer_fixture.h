// A ledger with a test-controlled clock for analyzer tests, and golden-file comparison.
//
// Golden files live in tests/analyzer/golden/. Run a test with ROLLBOOK_UPDATE_GOLDEN=1 to
// rewrite them from the current output, then review the diff before committing it.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "analyzer/action_items.h"
#include "analyzer/analysis.h"
#include "ledger/ledger.h"
#include "tests/analyzer/history_builder.h"
#include "tests/fixtures/temp_dir.h"

namespace rollbook::testing {

class AnalyzerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = kHistoryEpochNs - 3600LL * 1000000000LL;
    auto created = ledger::Ledger::Create(Options(), "tester");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    ledger_ = std::move(created).value();
  }

  ledger::Options Options() {
    ledger::Options options;
    options.directory = dir_.Join("ledger");
    options.sync = false;
    options.owner = "analyzer test";
    options.wall_clock_ns = [this] { return clock_.load(); };
    return options;
  }

  HistoryBuilder Rollback(const std::string& id, int64_t start_ns = kHistoryEpochNs) {
    return HistoryBuilder(*ledger_, clock_, id, start_ns);
  }

  analyzer::Analysis Analyze(const std::string& id) {
    auto analysis = analyzer::AnalyzeRollback(*ledger_, id);
    EXPECT_TRUE(analysis.ok()) << analysis.status().ToString();
    return analysis.ok() ? std::move(analysis).value() : analyzer::Analysis{};
  }

  // Two components, web after flags, with a slow step, retries against one host, a flapping
  // verification, a failed notification, a note and monitoring alerts.
  void WriteEventfulRollback() {
    auto rollback = Rollback("rb-1");
    rollback.Budget(1000)
        .Component("flags", {}, 500,
                   {{"flags-backup", "flagd", "backup", "backup"},
                    {"flags-off", "flagd", "disable", "change", 100},
                    {"flags-verify", "flagd", "verify", "verify"}})
        .Component("web", {"flags"}, 2000,
                   {{"web-backup", "exec", "run", "backup"},
                    {"web-switch", "http", "request", "change"},
                    {"web-verify", "http", "request", "verify"}});
    rollback.At(0).Request().At(5).Start().At(6).Notification("incident", "start",
                                                              "HTTP 500 after 5 attempts");

    rollback.At(10).ComponentStarted("flags").StepStarted("flags", "flags-backup");
    rollback.At(30).Backup("flags", "flags-backup").StepSucceeded("flags", "flags-backup", 20);
    rollback.At(30).StepStarted("flags", "flags-off").At(230).Change("flags", "flags-off");
    rollback.StepSucceeded("flags", "flags-off", 200);
    rollback.At(230)
        .StepStarted("flags", "flags-verify")
        .At(250)
        .Verification("flags", "flags-verify", true);
    rollback.StepSucceeded("flags", "flags-verify", 20)
        .At(251)
        .ComponentCompleted("flags", schema::Outcome::SUCCEEDED);

    rollback.At(260).ComponentStarted("web").StepStarted("web", "web-backup");
    rollback.At(280).Backup("web", "web-backup").StepSucceeded("web", "web-backup", 20);
    rollback.At(280)
        .StepStarted("web", "web-switch")
        .At(320)
        .StepFailed("web", "web-switch", 1, true, "web-1.internal");
    rollback.StepRetrying("web", "web-switch", 2).At(420).StepStarted("web", "web-switch", 2);
    rollback.At(460)
        .StepFailed("web", "web-switch", 2, true, "web-1.internal")
        .StepRetrying("web", "web-switch", 3);
    rollback.At(560).StepStarted("web", "web-switch", 3).At(600).Change("web", "web-switch");
    rollback.StepSucceeded("web", "web-switch", 40, 3);
    rollback.At(600)
        .StepStarted("web", "web-verify")
        .At(620)
        .Verification("web", "web-verify", false);
    rollback.StepFailed("web", "web-verify", 1, true, "",
                        "verification failed: expected off, got on");
    rollback.At(1320)
        .StepStarted("web", "web-verify", 2)
        .At(1340)
        .Verification("web", "web-verify", true, 2);
    rollback.StepSucceeded("web", "web-verify", 20, 2)
        .At(1341)
        .ComponentCompleted("web", schema::Outcome::SUCCEEDED);

    rollback.At(1500).Completed(schema::Outcome::SUCCEEDED, "flags succeeded, web succeeded");
    rollback.At(1501).Notification("incident", "completion", "");
    rollback.At(2000).Note("bob", "the flag change reached 30% of users before the rollback");
    rollback.At(3000)
        .Threshold("checkout-latency", true, 412)
        .At(4000)
        .Threshold("checkout-latency", false, 120);
    rollback.At(5000).Threshold("checkout-latency", true, 300);
  }

  // Adds an open action item due a day after the request, and a lesson that is resolved.
  void AddActionItems() {
    At(6000);
    auto first = analyzer::AddActionItem(
        *ledger_, {"rb-1", "Alert on web-1 connection errors", "carol",
                   kHistoryEpochNs + 86400LL * 1000000000LL, "action", "bob", ""});
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto lesson = analyzer::AddActionItem(
        *ledger_, {"rb-1", "Verify after the cache TTL, not before", "", 0, "lesson", "bob", ""});
    ASSERT_TRUE(lesson.ok()) << lesson.status().ToString();
    At(7000);
    ASSERT_TRUE(
        analyzer::ResolveActionItem(*ledger_, *lesson, "added to the runbook guide", "carol").ok());
  }

  // Sets the ledger clock to the request time of rb-1 plus `ms`.
  void At(int64_t ms) { clock_ = kHistoryEpochNs + ms * 1000000; }

  // Compares `actual` with tests/analyzer/golden/<name>, or rewrites the file when
  // ROLLBOOK_UPDATE_GOLDEN is set.
  void ExpectGolden(const std::string& name, const std::string& actual) {
    const char* source = std::getenv("ROLLBOOK_SOURCE_DIR");
    ASSERT_NE(source, nullptr) << "run the test through ctest, which sets ROLLBOOK_SOURCE_DIR";
    std::string path = std::string(source) + "/tests/analyzer/golden/" + name;
    if (std::getenv("ROLLBOOK_UPDATE_GOLDEN") != nullptr) {
      std::ofstream(path, std::ios::binary) << actual;
      return;
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good()) << "missing golden file " << path
                           << "; create it with ROLLBOOK_UPDATE_GOLDEN=1";
    std::stringstream expected;
    expected << in.rdbuf();
    EXPECT_EQ(actual, expected.str()) << "output differs from " << path;
  }

  TempDir dir_;
  std::atomic<int64_t> clock_{0};
  std::unique_ptr<ledger::Ledger> ledger_;
};

}  // namespace rollbook::testing
