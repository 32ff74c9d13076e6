// The incident report as a format-neutral document: sections of paragraphs, key-value lists,
// tables and bullet lists. BuildReportDocument() decides the content once; the Markdown and
// HTML renderers only lay it out. Analyzer-internal.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/report.h"

namespace rollbook::analyzer::internal {

struct Paragraph {
  std::string text;
};

struct KeyValues {
  std::vector<std::pair<std::string, std::string>> rows;
};

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // A CSS class per row (such as "failed" or "overdue"), empty for none. Markdown ignores it.
  std::vector<std::string> row_classes;
};

struct BulletList {
  std::vector<std::string> items;
};

// Where the HTML page puts the Gantt chart; Markdown leaves it out.
struct ChartPlaceholder {};

using Block = std::variant<Paragraph, KeyValues, Table, BulletList, ChartPlaceholder>;

struct Section {
  std::string id;  // HTML anchor, such as "timeline"
  std::string title;
  std::vector<Block> blocks;
};

struct ReportDocument {
  std::string title;
  std::vector<Section> sections;
};

// Counts and times that sum up the rollback.
struct ReportMetrics {
  size_t components = 0;
  size_t components_succeeded = 0;
  size_t steps = 0;
  size_t steps_succeeded = 0;
  size_t steps_failed = 0;
  size_t steps_skipped = 0;
  size_t attempts = 0;
  size_t failed_attempts = 0;
  size_t retries = 0;
  size_t backups = 0;
  size_t changes = 0;
  size_t verifications_passed = 0;
  size_t verifications_failed = 0;
  size_t notifications_sent = 0;
  size_t notifications_failed = 0;
  int64_t first_change_offset_ms = -1;  // -1 when nothing changed
  size_t open_action_items = 0;
  size_t overdue_action_items = 0;
};

ReportMetrics ComputeMetrics(const Analysis& analysis, int64_t as_of_ns);

ReportDocument BuildReportDocument(const Analysis& analysis, const ReportOptions& options);

// True when the item is open and its due time is before `as_of_ns`.
bool Overdue(const ActionItem& item, int64_t as_of_ns);

std::string RenderMarkdown(const ReportDocument& document);
std::string RenderHtml(const ReportDocument& document, const std::string& chart_svg);
std::string RenderReportJson(const Analysis& analysis, const ReportOptions& options);

}  // namespace rollbook::analyzer::internal
