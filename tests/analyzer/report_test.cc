// ctest-labels: unit
// Incident reports: well-formed self-contained HTML with one Gantt bar per step, Markdown
// sections, JSON with overdue flags, escaping of hostile text.
#include "analyzer/report.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/analyzer/analyzer_fixture.h"

namespace rollbook::testing {
namespace {

using ReportTest = AnalyzerTest;

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

// Parses the page with Python's XML parser and returns the number of SVG rects that carry a
// data-step attribute, or -1 when the page is not well-formed.
int ParsedStepBars(const TempDir& dir, const std::string& html) {
  std::string path = dir.Join("report.html");
  std::ofstream(path, std::ios::binary) << html;
  std::string output;
  int status = RunShell(
      "python3 -c \"import sys, xml.etree.ElementTree as ET; tree = ET.parse(sys.argv[1]); "
      "print(sum(1 for r in tree.iter('{http://www.w3.org/2000/svg}rect') if 'data-step' in "
      "r.attrib))\" " +
          path + " 2>&1",
      &output);
  if (status != 0) {
    ADD_FAILURE() << "the HTML is not well-formed XML: " << output;
    return -1;
  }
  return std::stoi(output);
}

analyzer::ReportOptions AsOf(int64_t ns) { return analyzer::ReportOptions{ns}; }

TEST_F(ReportTest, HtmlIsWellFormedWithOneBarPerStep) {
  WriteEventfulRollback();
  auto analysis = Analyze("rb-1");
  std::string html =
      analyzer::RenderReport(analysis, analyzer::ReportFormat::kHtml, AsOf(kHistoryEpochNs));
  EXPECT_EQ(ParsedStepBars(dir_, html), 6);
  EXPECT_EQ(Count(html, "data-step=\""), 6u);
  EXPECT_NE(html.find("data-step=\"web/web-switch\" data-outcome=\"succeeded\""),
            std::string::npos);
}

TEST_F(ReportTest, HtmlIsSelfContained) {
  WriteEventfulRollback();
  std::string html =
      analyzer::RenderReport(Analyze("rb-1"), analyzer::ReportFormat::kHtml, AsOf(kHistoryEpochNs));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  // The only URLs are the XML namespace names, which are never fetched.
  EXPECT_EQ(Count(html, "http://"), 2u);
  EXPECT_NE(html.find("<style>"), std::string::npos);
}

TEST_F(ReportTest, StepsThatNeverRanStillGetABar) {
  auto rollback = Rollback("rb-1");
  rollback.Component("flags", {}, 0,
                     {{"backup", "flagd", "backup", "backup"},
                      {"off", "flagd", "disable", "change"},
                      {"verify", "flagd", "verify", "verify"}});
  rollback.At(0).Request().Start().At(10).ComponentStarted("flags").StepStarted("flags", "backup");
  rollback.At(20)
      .StepFailed("flags", "backup", 1, false)
      .ComponentCompleted("flags", schema::Outcome::FAILED);
  rollback.At(21).Completed(schema::Outcome::FAILED, "flags failed");
  std::string html =
      analyzer::RenderReport(Analyze("rb-1"), analyzer::ReportFormat::kHtml, AsOf(kHistoryEpochNs));
  EXPECT_EQ(ParsedStepBars(dir_, html), 3);
  EXPECT_NE(html.find("data-step=\"flags/backup\" data-outcome=\"failed\""), std::string::npos);
  EXPECT_NE(html.find("data-step=\"flags/off\" data-outcome=\"pending\""), std::string::npos);
}

TEST_F(ReportTest, HostileTextIsEscaped) {
  WriteEventfulRollback();
  Rollback("rb-1").At(2500).Note("mallory", "<script>alert('x')</script> & \"quoted\" \x01");
  auto analysis = Analyze("rb-1");
  std::string html =
      analyzer::RenderReport(analysis, analyzer::ReportFormat::kHtml, AsOf(kHistoryEpochNs));
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"),
            std::string::npos);
  EXPECT_EQ(ParsedStepBars(dir_, html), 6);

  std::string markdown =
      analyzer::RenderReport(analysis, analyzer::ReportFormat::kMarkdown, AsOf(0));
  EXPECT_NE(markdown.find("mallory"), std::string::npos);
}

TEST_F(ReportTest, MarkdownHasEverySection) {
  WriteEventfulRollback();
  AddActionItems();
  std::string markdown = analyzer::RenderReport(Analyze("rb-1"), analyzer::ReportFormat::kMarkdown,
                                                AsOf(kHistoryEpochNs + 2 * 86400LL * 1000000000LL));
  for (const char* heading :
       {"# Incident report: rollback rb-1 of checkout in production", "## Summary",
        "## Impact window", "## Scope", "## Contributing factors", "## Resolution", "## Timeline",
        "## Components", "## Findings", "## Recommendations", "## Action items and lessons",
        "## Metrics"}) {
    EXPECT_NE(markdown.find(heading), std::string::npos) << heading;
  }
  EXPECT_NE(markdown.find("the flag change reached 30% of users"), std::string::npos);
  EXPECT_NE(markdown.find("| ai-1 | action | carol | 2026-12-05T10:00:00.000Z | OVERDUE |"),
            std::string::npos)
      << markdown;
  ExpectGolden("eventful-report.md", markdown);
}

TEST_F(ReportTest, JsonFlagsOverdueItemsAsOfTheGivenTime) {
  WriteEventfulRollback();
  AddActionItems();
  auto analysis = Analyze("rb-1");
  auto before_due = nlohmann::json::parse(
      analyzer::RenderReport(analysis, analyzer::ReportFormat::kJson, AsOf(kHistoryEpochNs)));
  auto after_due = nlohmann::json::parse(analyzer::RenderReport(
      analysis, analyzer::ReportFormat::kJson, AsOf(kHistoryEpochNs + 2 * 86400LL * 1000000000LL)));
  EXPECT_FALSE(before_due["action_items"][0]["overdue"].get<bool>());
  EXPECT_TRUE(after_due["action_items"][0]["overdue"].get<bool>());
  EXPECT_FALSE(after_due["action_items"][1]["overdue"].get<bool>());  // resolved
  EXPECT_EQ(after_due["report"]["metrics"]["overdue_action_items"], 1);
  EXPECT_EQ(after_due["report"]["metrics"]["failed_attempts"], 3);
  EXPECT_EQ(after_due["report"]["impact_window"]["duration_ms"], 1500);
}

TEST_F(ReportTest, RenderingTwiceIsByteIdentical) {
  WriteEventfulRollback();
  AddActionItems();
  for (auto format : {analyzer::ReportFormat::kMarkdown, analyzer::ReportFormat::kHtml,
                      analyzer::ReportFormat::kJson}) {
    std::string first = analyzer::RenderReport(Analyze("rb-1"), format, AsOf(kHistoryEpochNs));
    std::string second = analyzer::RenderReport(Analyze("rb-1"), format, AsOf(kHistoryEpochNs));
    EXPECT_EQ(first, second);
  }
}

TEST_F(ReportTest, UnknownFormatIsRejected) {
  auto format = analyzer::ParseReportFormat("pdf");
  ASSERT_FALSE(format.ok());
  EXPECT_NE(format.status().message().find("md, json or html"), std::string::npos);
}

}  // namespace
}  // namespace rollbook::testing
