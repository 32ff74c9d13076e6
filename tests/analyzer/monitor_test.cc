// ctest-labels: integration
// Monitoring against real endpoints: a loopback HTTP service that fails and recovers, a command
// that prints no number, and a PostgreSQL query. Breaches and recoveries become events and
// notifications.
#include "analyzer/monitor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "ledger/time_format.h"
#include "tests/analyzer/analyzer_fixture.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/postgres_server.h"

namespace rollbook::testing {
namespace {

class MonitorTest : public AnalyzerTest {
 protected:
  void SetUp() override {
    AnalyzerTest::SetUp();
    clock_ = 0;  // the ledger uses the real clock, because probes run in real time
    ledger_.reset();
    ledger::Options options = Options();
    options.wall_clock_ns = nullptr;
    auto opened = ledger::Ledger::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ledger_ = std::move(opened).value();
    rollback_.id = "rb-1";
    rollback_.feature = "checkout";
    rollback_.environment = "production";
    auto request = Rollback("rb-1", ledger::NowNs());
    request.Component("web", {}, 0, {{"web-backup", "exec", "run", "backup"}}).Request();
  }

  // Makes the runbook's notification target a loopback webhook subscribed to alerts. The URL is
  // recorded as the runbook wrote it, with a variable that monitoring fills in.
  void NotifyTo(const LoopbackHttpServer& webhook) {
    variables_["pager_url"] = webhook.Url("/hook");
    rollback_.notifications_json = nlohmann::json::array({{{"name", "pager"},
                                                           {"kind", "webhook"},
                                                           {"url", "${vars.pager_url}"},
                                                           {"on", {"alert"}}}})
                                       .dump();
  }

  Result<analyzer::MonitorSummary> Monitor(const std::string& monitor_json,
                                           std::function<bool()> keep_running,
                                           uint64_t duration_ms = 30000) {
    auto spec = analyzer::ParseMonitorSpec(monitor_json, {});
    if (!spec.ok()) return spec.status();
    analyzer::MonitorOptions options;
    options.duration_ms = duration_ms;
    options.keep_running = std::move(keep_running);
    options.actor = "monitor-test";
    options.variables = variables_;
    options.progress = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex_);
      progress_.push_back(line);
      ++changes_;
    };
    return analyzer::RunMonitor(*ledger_, rollback_, *spec, options);
  }

  // Monitors for half a second with a probe whose one sample would take 30 s, with a 20 s
  // timeout: the end must stop it, so no sample is taken and monitoring ends long before that.
  void ExpectEndStopsTheProbe(const std::string& spec) {
    auto started = std::chrono::steady_clock::now();
    auto summary = Monitor(spec, nullptr, /*duration_ms=*/500);
    auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    EXPECT_EQ(summary->samples, 0u);
    EXPECT_LT(elapsed, std::chrono::seconds(5));
    EXPECT_EQ(Events("monitorCompleted").size(), 1u);
  }

  std::vector<ledger::RecordedEvent> Events(const std::string& type) {
    std::vector<ledger::RecordedEvent> events;
    ledger::ReadOptions options;
    options.correlation_id = "rb-1";
    options.types = {type};
    auto it = ledger_->Read(options);
    EXPECT_TRUE(it.ok());
    for (; it.ok() && (*it)->Valid(); (*it)->Next()) events.push_back((*it)->event());
    return events;
  }

  projections::RollbackState rollback_;
  std::map<std::string, std::string> variables_;
  std::mutex mutex_;
  std::vector<std::string> progress_;
  std::atomic<int> changes_{0};
};

TEST_F(MonitorTest, FailingServiceBreachesThenRecovers) {
  // The health endpoint returns 200 three times, then 503 five times, then 200 again.
  std::atomic<int> requests{0};
  LoopbackHttpServer service([&](const HttpServerRequest&) {
    int n = ++requests;
    return HttpServerResponse{n > 3 && n <= 8 ? 503 : 200, {}, "ok"};
  });
  LoopbackHttpServer webhook;
  NotifyTo(webhook);
  std::string spec =
      R"({"window": "300ms", "probes": [{"name": "health", "kind": "http", "url": ")" +
      service.Url("/healthz") +
      R"(", "interval": "100ms", "timeout": "2s", "max_consecutive_failures": 3}]})";

  auto summary = Monitor(spec, [&] { return requests.load() < 14; });
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->breaches, 1u);
  EXPECT_EQ(summary->recoveries, 1u);
  EXPECT_TRUE(summary->unrecovered.empty());
  EXPECT_TRUE(summary->interrupted);
  EXPECT_GE(summary->failed_samples, 5u);

  auto breached = Events("thresholdBreached");
  auto recovered = Events("thresholdRecovered");
  ASSERT_EQ(breached.size(), 1u);
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_LT(breached[0].position, recovered[0].position);
  EXPECT_EQ(Events("monitorStarted").size(), 1u);
  EXPECT_EQ(Events("monitorCompleted").size(), 1u);
  EXPECT_GE(Events("monitorSample").size(), 2u);

  // Both changes went to the alert webhook and were recorded.
  EXPECT_TRUE(webhook.WaitForRequests(2, std::chrono::seconds(10)));
  auto sent = Events("notificationSent");
  ASSERT_EQ(sent.size(), 2u);
  auto body = nlohmann::json::parse(webhook.Requests()[0].body);
  EXPECT_EQ(body["trigger"], "alert");
  EXPECT_EQ(body["state"], "breached");

  // The analysis lists the alerts.
  auto analysis = Analyze("rb-1");
  ASSERT_EQ(analysis.monitor.alerts.size(), 2u);
  EXPECT_TRUE(analysis.monitor.alerts[0].breached);
  EXPECT_EQ(analysis.monitor.alerts[0].threshold, "consecutive failures 3");
  EXPECT_TRUE(analysis.monitor.completed);
}

TEST_F(MonitorTest, CommandWithoutNumberIsAFailedSample) {
  std::string spec =
      R"({"probes": [{"name": "queue-depth", "kind": "command", "argv": ["echo", "NaN"],
                         "interval": "100ms", "max_consecutive_failures": 2, "maximum": 100}]})";
  auto summary = Monitor(spec, [&] { return changes_.load() == 0; });
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->breaches, 1u);
  EXPECT_EQ(summary->failed_samples, summary->samples);
  EXPECT_EQ(summary->unrecovered,
            (std::vector<std::string>{"queue-depth: consecutive failures 2"}));
  auto breached = Events("thresholdBreached");
  ASSERT_EQ(breached.size(), 1u);
  auto samples = Events("monitorSample");
  ASSERT_FALSE(samples.empty());
}

TEST_F(MonitorTest, EndsAfterTheDurationWithASummary) {
  LoopbackHttpServer service;
  std::string spec = R"({"probes": [{"name": "health", "kind": "http", "url": ")" +
                     service.Url("/") + R"(", "interval": "100ms", "maximum": 10000}]})";
  auto summary = Monitor(spec, nullptr, /*duration_ms=*/500);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_FALSE(summary->interrupted);
  EXPECT_GE(summary->samples, 2u);
  EXPECT_EQ(summary->failed_samples, 0u);
  EXPECT_EQ(summary->breaches, 0u);
  ASSERT_EQ(Events("monitorCompleted").size(), 1u);
}

// The end of monitoring, or Ctrl-C, stops a command probe at once instead of at its timeout.
TEST_F(MonitorTest, EndStopsARunningCommandProbe) {
  std::string spec = R"({"probes": [{"name": "slow", "kind": "command", "argv": ["sleep", "30"],
                         "interval": "100ms", "timeout": "20s", "maximum": 1}]})";
  ExpectEndStopsTheProbe(spec);
}

TEST_F(MonitorTest, UnresolvableSecretFailsBeforeAnyEvent) {
  std::string spec = R"({"probes": [{"name": "health", "kind": "http",
                         "url": "http://127.0.0.1:1/${env:ROLLBOOK_TEST_UNSET_TOKEN}"}]})";
  auto summary = Monitor(spec, nullptr, 500);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.status().message().find("ROLLBOOK_TEST_UNSET_TOKEN"), std::string::npos);
  EXPECT_TRUE(Events("monitorStarted").empty());
}

TEST_F(MonitorTest, ProbesOfOtherScopesAreLeftOut) {
  rollback_.scope = "feature-flags";
  std::string spec = R"({"probes": [{"name": "tables", "kind": "command", "argv": ["echo", "0"],
                         "scopes": ["database", "full"]}]})";
  auto summary = Monitor(spec, nullptr, 500);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.status().message().find("scope feature-flags"), std::string::npos);
  EXPECT_TRUE(Events("monitorStarted").empty());

  rollback_.scope = "database";
  auto database = Monitor(spec, nullptr, 300);
  ASSERT_TRUE(database.ok()) << database.status().ToString();
  EXPECT_GE(database->samples, 1u);
}

TEST_F(MonitorTest, EndCancelsARunningSqlProbe) {
  auto server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string spec = R"json({"probes": [{"name": "slow-query", "kind": "sql", "dsn": ")json" +
                     (*server)->Dsn() +
                     R"json(", "query": "SELECT 1 FROM pg_sleep(30)", "interval": "100ms",
                         "timeout": "20s", "maximum": 5}]})json";
  ExpectEndStopsTheProbe(spec);
}

TEST_F(MonitorTest, SqlProbeReadsOneNumber) {
  auto server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string spec = R"({"probes": [{"name": "pending-jobs", "kind": "sql", "dsn": ")" +
                     (*server)->Dsn() +
                     R"(", "query": "SELECT 41 + 1", "interval": "100ms", "maximum": 40}]})";
  auto summary = Monitor(spec, [&] { return changes_.load() == 0; });
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->breaches, 1u);
  EXPECT_EQ(summary->failed_samples, 0u);
  auto breached = Events("thresholdBreached");
  ASSERT_EQ(breached.size(), 1u);
  auto view = ledger::EventView::Decode(breached[0]);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->payload().getThresholdBreached().getValue(), 42);
  // The recorded probe target names the database without the password.
  auto started = Events("monitorStarted");
  ASSERT_EQ(started.size(), 1u);
  auto definition = ledger::EventView::Decode(started[0]);
  ASSERT_TRUE(definition.ok());
  std::string target =
      ledger::ToString(definition->payload().getMonitorStarted().getProbes()[0].getTarget());
  EXPECT_EQ(target.find((*server)->password()), std::string::npos);
  EXPECT_NE(target.find("127.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace rollbook::testing
