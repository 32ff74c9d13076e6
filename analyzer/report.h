// The incident report of one rollback: `rollbook report ID --format md|json|html`.
//
// The report contains a summary, the impact window, scope, contributing factors (the notes people
// recorded), resolution, timeline, components, findings, recommendations, action items and
// metrics. The HTML page is self-contained: inline CSS, an inline SVG Gantt chart with one bar
// per planned step, no scripts and no external references. It is well-formed XML (XHTML), so
// XML tools can check it.
//
// The output depends only on the analysis and ReportOptions, so the same ledger and options
// give a byte-identical report.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "analyzer/analysis.h"

namespace rollbook::analyzer {

enum class ReportFormat { kMarkdown, kJson, kHtml };

// Parses "md" (or "markdown"), "json" or "html".
Result<ReportFormat> ParseReportFormat(std::string_view name);

struct ReportOptions {
  // Open action items due before this time are flagged as overdue. Nothing else in the report
  // depends on it. UTC nanoseconds.
  int64_t as_of_ns = 0;
};

std::string RenderReport(const Analysis& analysis, ReportFormat format,
                         const ReportOptions& options);

// Returns the SVG Gantt chart of the rollback's steps: one <rect data-step="component/step"
// data-outcome="..."> per planned step, colored by its status.
std::string RenderGanttSvg(const Analysis& analysis);

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string XmlEscape(std::string_view text);

}  // namespace rollbook::analyzer
