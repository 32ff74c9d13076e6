// Rendering an Analysis as text for the terminal or as JSON, one section or all of them.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "analyzer/analysis.h"

namespace rollbook::analyzer {

enum class AnalysisSection { kSummary, kTimeline, kPerformance, kIssues, kFull };

// Parses "summary", "timeline", "performance", "issues" or "full".
Result<AnalysisSection> ParseAnalysisSection(std::string_view name);

// Returns the section as text lines, each ending in a newline.
std::string AnalysisToText(const Analysis& analysis, AnalysisSection section);

// Returns the section as a JSON object whose members keep a fixed order. Every section has the
// "rollback" member; the other members depend on the section.
nlohmann::ordered_json AnalysisToJson(const Analysis& analysis, AnalysisSection section);

// Returns one action item as a JSON object; `due` and `resolved_at` are null when unset.
nlohmann::ordered_json ActionItemToJson(const ActionItem& item);

}  // namespace rollbook::analyzer
