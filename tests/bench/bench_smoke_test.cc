// ctest-labels: integration
// Runs the benchmark suite at tiny sizes (tools/bench/suite.py --mode smoke) once, then checks
// that every comparison produced numbers for each of its sides. Timings are not checked: the
// machine is shared and noisy.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/fixtures/temp_dir.h"

namespace rollbook {
namespace {

using nlohmann::json;

std::string Environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

class BenchSmokeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new testing::TempDir();
    std::string command = "python3 " + Environment("ROLLBOOK_SOURCE_DIR") +
                          "/tools/bench/suite.py --mode smoke --build-dir " +
                          Environment("ROLLBOOK_BUILD_DIR") + " --out " + out_->path() +
                          " --work-parent " + out_->path() + " > " + out_->Join("suite.log") +
                          " 2>&1";
    exit_status_ = testing::RunShell(command);
    std::ifstream in(out_->Join("results.json"));
    if (in) results_ = new json(json::parse(in, nullptr, /*allow_exceptions=*/false));
  }

  static void TearDownTestSuite() {
    delete results_;
    results_ = nullptr;
    delete out_;
    out_ = nullptr;
  }

  static std::string SuiteLog() {
    std::ifstream in(out_->Join("suite.log"));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // Returns the measure with this id, failing the test when the suite did not write it.
  static const json* FindMeasure(const std::string& id) {
    if (results_ == nullptr || results_->is_discarded()) return nullptr;
    for (const json& measure : (*results_)["measures"]) {
      if (measure.value("id", "") == id) return &measure;
    }
    return nullptr;
  }

  // Checks that every listed side has a positive median for every metric of the measure.
  static void ExpectNumbers(const std::string& id, const std::vector<std::string>& sides) {
    const json* measure = FindMeasure(id);
    ASSERT_NE(measure, nullptr) << "no result for " << id << "; suite log:\n" << SuiteLog();
    ASSERT_FALSE(measure->contains("error")) << (*measure)["error"];
    for (const std::string& side : sides) {
      ASSERT_TRUE((*measure)["sides"].contains(side)) << id << " has no side " << side;
      for (const auto& [metric, summary] : (*measure)["sides"][side].items()) {
        ASSERT_TRUE(summary["median"].is_number()) << id << " " << side << " " << metric;
        EXPECT_GT(summary["median"].get<double>(), 0) << id << " " << side << " " << metric;
      }
    }
  }

  static testing::TempDir* out_;
  static json* results_;
  static int exit_status_;
};

testing::TempDir* BenchSmokeTest::out_ = nullptr;
json* BenchSmokeTest::results_ = nullptr;
int BenchSmokeTest::exit_status_ = -1;

TEST_F(BenchSmokeTest, SuiteWritesResults) {
  EXPECT_EQ(exit_status_, 0) << SuiteLog();
  ASSERT_NE(results_, nullptr) << SuiteLog();
  ASSERT_FALSE(results_->is_discarded()) << "results.json is not valid JSON";
  EXPECT_GT((*results_)["machine"]["fsync"]["syncs_per_second"].get<double>(), 0);
  EXPECT_EQ((*results_)["load_average"]["start"].size(), 3u);
  std::ifstream markdown(out_->Join("results.md"));
  EXPECT_TRUE(markdown.good()) << "results.md is missing";
}

TEST_F(BenchSmokeTest, DurableAppendHasAllFourSystems) {
  ExpectNumbers("durable_append", {"rollbook", "rocksdb", "postgres", "sqlite"});
}

TEST_F(BenchSmokeTest, AppendLatencyHasPercentiles) {
  ExpectNumbers("append_latency", {"rollbook", "rocksdb"});
}

TEST_F(BenchSmokeTest, BulkAppendHasNumbers) {
  ExpectNumbers("bulk_append", {"rollbook", "rocksdb", "rocksdb-indexed"});
}

TEST_F(BenchSmokeTest, ReplayHasNumbers) { ExpectNumbers("replay", {"rollbook", "rocksdb"}); }

TEST_F(BenchSmokeTest, VerifyHasNumbers) {
  ExpectNumbers("verify", {"rollbook", "sha256sum", "rollbook --no-index-check"});
}

TEST_F(BenchSmokeTest, GrowthHasNumbers) {
  ExpectNumbers("growth_read", {"small", "large"});
  ExpectNumbers("growth_append", {"empty", "large"});
}

TEST_F(BenchSmokeTest, RebuildMemoryHasPeakRss) { ExpectNumbers("rebuild_memory", {"rollbook"}); }

TEST_F(BenchSmokeTest, OrchestrationHasOverhead) {
  const json* measure = FindMeasure("orchestration");
  ASSERT_NE(measure, nullptr) << SuiteLog();
  ExpectNumbers("orchestration", {"rollbook", "shell loop"});
  // The overhead is a difference of two times, so it is only checked to be a number.
  EXPECT_TRUE((*measure)["sides"]["overhead"]["overhead_ms_per_step"]["median"].is_number());
}

TEST_F(BenchSmokeTest, HttpHasNumbersWhenServeExists) {
  const json* measure = FindMeasure("http_events");
  ASSERT_NE(measure, nullptr) << SuiteLog();
  if (measure->contains("skipped")) GTEST_SKIP() << (*measure)["skipped"].get<std::string>();
  ExpectNumbers("http_events", {"rollbook", "nginx"});
}

TEST_F(BenchSmokeTest, MicroBenchmarksRan) {
  ASSERT_NE(results_, nullptr) << SuiteLog();
  ASSERT_GE((*results_)["micro"].size(), 5u);
  for (const json& row : (*results_)["micro"]) EXPECT_GT(row["ns"].get<double>(), 0) << row["name"];
}

}  // namespace
}  // namespace rollbook
