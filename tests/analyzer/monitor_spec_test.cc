// ctest-labels: unit
// The monitor: section parser, probe number parsing and threshold decisions, without I/O.
#include <gtest/gtest.h>

#include <cmath>

#include "analyzer/monitor.h"
#include "analyzer/monitor_probes.h"
#include "analyzer/monitor_thresholds.h"

namespace rollbook::testing {
namespace {

using analyzer::ProbeSample;
using analyzer::ProbeSpec;
using analyzer::ProbeThresholds;

ProbeSample Ok(double value) { return ProbeSample{true, value, ""}; }
ProbeSample Fail() { return ProbeSample{false, analyzer::kUnset, "HTTP status 503"}; }

Result<analyzer::MonitorSpec> Parse(const std::string& json,
                                    const std::map<std::string, std::string>& vars = {}) {
  return analyzer::ParseMonitorSpec(json, vars);
}

TEST(MonitorSpecTest, ParsesEveryProbeKind) {
  auto spec = Parse(R"({"duration": "10m", "window": "30s", "probes": [
      {"name": "health", "kind": "http", "url": "${vars.base}/healthz", "interval": "5s",
       "timeout": "2s", "maximum": 250, "max_consecutive_failures": 3, "expect_status": [200, 204]},
      {"name": "queries", "kind": "sql", "dsn": "host=127.0.0.1 dbname=app", "query": "SELECT 1",
       "minimum": 1, "max_error_rate": 0.5, "window_samples": 4},
      {"name": "errors", "kind": "command", "argv": ["wc", "-l", "/var/log/app.err"],
       "scopes": ["full", "application"]}]})",
                    {{"base", "http://127.0.0.1:8080"}});
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->duration_ms, 600000u);
  EXPECT_EQ(spec->window_ms, 30000u);
  ASSERT_EQ(spec->probes.size(), 3u);
  EXPECT_EQ(spec->probes[0].url, "http://127.0.0.1:8080/healthz");
  EXPECT_EQ(spec->probes[0].interval_ms, 5000u);
  EXPECT_EQ(spec->probes[0].expect_status, (std::vector<long>{200, 204}));
  EXPECT_EQ(spec->probes[0].maximum, 250);
  EXPECT_TRUE(std::isnan(spec->probes[0].minimum));
  EXPECT_EQ(spec->probes[1].window_samples, 4u);
  EXPECT_EQ(spec->probes[2].argv.size(), 3u);
  EXPECT_EQ(spec->probes[2].scopes, (std::vector<std::string>{"full", "application"}));
  EXPECT_TRUE(spec->probes[0].scopes.empty());
}

TEST(MonitorSpecTest, RejectsBadSectionsWithTheProbeName) {
  struct Case {
    std::string json;
    std::string message;
  };
  std::vector<Case> cases = {
      {R"({"probes": []})", "non-empty list"},
      {R"({"probes": [{"name": "h", "kind": "http", "url": "http://x", "maxium": 3}]})",
       "unknown key 'maxium'"},
      {R"({"probes": [{"name": "h", "kind": "smtp"}]})", "unknown kind 'smtp'"},
      {R"({"probes": [{"name": "h", "kind": "sql", "dsn": "x"}]})", "'query' is required"},
      {R"({"probes": [{"name": "c", "kind": "command", "command": "ls"}]})", "shell: true"},
      {R"({"probes": [{"name": "h", "kind": "http", "url": "http://x", "max_error_rate": 2}]})",
       "between 0 and 1"},
      {R"({"probes": [{"name": "h", "kind": "http", "url": "http://x", "interval": "10ms"}]})",
       "at least 100ms"},
      {R"({"probes": [{"name": "h", "kind": "http", "url": "${vars.missing}"}]})",
       "--set missing=VALUE"},
      {R"({"probes": [{"name": "a", "kind": "http", "url": "http://x"}, {"name": "a", "kind": "http", "url": "http://y"}]})",
       "two probes are named a"},
      {R"({"duration": "soon", "probes": [{"name": "a", "kind": "http", "url": "http://x"}]})",
       "duration"},
      {R"(["not", "a", "mapping"])", "must be a mapping"},
      {R"({"probes": [{"name": "a", "kind": "http", "url": "http://x", "scopes": "full"}]})",
       "'scopes' must be"},
      {R"({"probes": [{"name": "a", "kind": "http", "url": "http://x", "minimum": 5, "maximum": 1}]})",
       "'minimum' is above 'maximum'"},
      {R"({"duration": "0s", "probes": [{"name": "a", "kind": "http", "url": "http://x"}]})",
       "'duration' must be at least 100ms"},
  };
  for (const Case& c : cases) {
    auto spec = Parse(c.json);
    ASSERT_FALSE(spec.ok()) << c.json;
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument) << c.json;
    EXPECT_NE(spec.status().message().find(c.message), std::string::npos)
        << c.json << " gave: " << spec.status().message();
  }
}

TEST(ProbeNumberTest, AcceptsOnlyFiniteNumbers) {
  EXPECT_EQ(*analyzer::internal::ParseProbeNumber(" 42\n"), 42);
  EXPECT_EQ(*analyzer::internal::ParseProbeNumber("-0.25"), -0.25);
  for (const char* bad : {"", "  \n", "nan", "NaN", "inf", "12 apples", "0x", "abc"}) {
    EXPECT_FALSE(analyzer::internal::ParseProbeNumber(bad).ok()) << "'" << bad << "'";
  }
}

ProbeSpec Probe() {
  ProbeSpec probe;
  probe.name = "health";
  probe.kind = "http";
  return probe;
}

TEST(ProbeThresholdsTest, MaximumBreachesAndRecovers) {
  ProbeSpec probe = Probe();
  probe.maximum = 250;
  ProbeThresholds thresholds(probe);
  EXPECT_TRUE(thresholds.Add(Ok(120)).empty());
  auto breach = thresholds.Add(Ok(400));
  ASSERT_EQ(breach.size(), 1u);
  EXPECT_TRUE(breach[0].breached);
  EXPECT_EQ(breach[0].threshold, "maximum 250");
  EXPECT_EQ(breach[0].decision, "latency_ms 400 > maximum 250: breached");
  EXPECT_TRUE(thresholds.Add(Ok(500)).empty());  // still breached: no new event
  EXPECT_TRUE(thresholds.Add(Fail()).empty());   // a failed sample has no value to compare
  auto recovery = thresholds.Add(Ok(100));
  ASSERT_EQ(recovery.size(), 1u);
  EXPECT_FALSE(recovery[0].breached);
  EXPECT_TRUE(thresholds.Breached().empty());
}

TEST(ProbeThresholdsTest, FailedSamplesNeverPassMinimum) {
  ProbeSpec probe = Probe();
  probe.minimum = 1;
  probe.max_consecutive_failures = 2;
  ProbeThresholds thresholds(probe);
  EXPECT_TRUE(thresholds.Add(Fail()).empty());
  auto breach = thresholds.Add(Fail());
  ASSERT_EQ(breach.size(), 1u);
  EXPECT_EQ(breach[0].threshold, "consecutive failures 2");
  EXPECT_EQ(thresholds.Breached(), (std::vector<std::string>{"consecutive failures 2"}));
  auto below = thresholds.Add(Ok(0));
  ASSERT_EQ(below.size(), 2u);  // the minimum breaks while the failure streak ends
  EXPECT_TRUE(below[0].breached);
  EXPECT_EQ(below[0].threshold, "minimum 1");
  EXPECT_FALSE(below[1].breached);
}

TEST(ProbeThresholdsTest, ErrorRateWaitsForAFullWindow) {
  ProbeSpec probe = Probe();
  probe.max_error_rate = 0.5;
  probe.window_samples = 4;
  ProbeThresholds thresholds(probe);
  EXPECT_TRUE(thresholds.Add(Fail()).empty());
  EXPECT_TRUE(thresholds.Add(Fail()).empty());
  EXPECT_TRUE(thresholds.Add(Fail()).empty());
  auto breach = thresholds.Add(Ok(10));  // 3 of 4 failed
  ASSERT_EQ(breach.size(), 1u);
  EXPECT_EQ(breach[0].value, 0.75);
  auto recovery = thresholds.Add(Ok(10));  // 2 of 4 failed: 0.5 is not above 0.5
  ASSERT_EQ(recovery.size(), 1u);
  EXPECT_FALSE(recovery[0].breached);
  EXPECT_TRUE(thresholds.Breached().empty());
}

}  // namespace
}  // namespace rollbook::testing
