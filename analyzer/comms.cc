// Filling communication templates: the data model, template lookup and rendering.
#include "analyzer/comms.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mustache.hpp>
#include <optional>
#include <sstream>

#include "analyzer/format.h"
#include "analyzer/report_document.h"
#include "analyzer/template_check.h"

namespace rollbook::analyzer {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using MustacheData = kainjow::mustache::data;

constexpr size_t kMaxTemplateBytes = 256 * 1024;

json ComponentsData(const Analysis& analysis) {
  json components = json::array();
  for (const ComponentReport& component : analysis.components) {
    json steps = json::array();
    for (const StepReport& step : component.steps) {
      steps.push_back({{"name", step.name},
                       {"status", step.status},
                       {"attempts", step.attempts},
                       {"duration", FormatMs(step.duration_ms)},
                       {"error", step.last_error}});
    }
    components.push_back(
        {{"name", component.name},
         {"status", component.status},
         {"duration", FormatMs(component.duration_ms)},
         {"budget",
          component.budget_ms == 0 ? "none" : FormatMs(static_cast<int64_t>(component.budget_ms))},
         {"steps", std::move(steps)}});
  }
  return components;
}

json IssuesData(const Analysis& analysis, json& data) {
  json failures = json::array();
  for (const FailureReport& failure : analysis.failures) {
    failures.push_back({{"step", failure.component + "/" + failure.step},
                        {"attempt", failure.attempt},
                        {"error", failure.error},
                        {"host", failure.host},
                        {"at", FormatOffset(failure.offset_ms)}});
  }

  json skipped = json::array();
  for (const StepEventReport& report : analysis.skipped) {
    skipped.push_back({{"step", report.component + "/" + report.step},
                       {"actor", report.actor},
                       {"reason", report.reason}});
  }

  json findings = json::array();
  for (const Finding& finding : analysis.findings) {
    findings.push_back(
        {{"rule", finding.rule}, {"severity", finding.severity}, {"message", finding.message}});
  }
  json recommendations = json::array();
  for (const Recommendation& recommendation : analysis.recommendations) {
    recommendations.push_back({{"rule", recommendation.rule}, {"text", recommendation.text}});
  }

  data["has_failures"] = !failures.empty();
  data["has_findings"] = !findings.empty();
  data["has_skipped"] = !skipped.empty();
  data["has_problems"] = !failures.empty() || !skipped.empty() || !findings.empty();
  data["has_recommendations"] = !recommendations.empty();
  data["failure_count"] = analysis.failures.size();
  data["retry_count"] = analysis.retries;
  data["skipped"] = std::move(skipped);
  data["findings"] = std::move(findings);
  data["recommendations"] = std::move(recommendations);
  return failures;
}

std::string MonitorSummary(const MonitorReport& monitor) {
  if (!monitor.ran) return "monitoring did not run";
  if (!monitor.summary.empty()) return monitor.summary;
  return fmt::format("{} samples ({} failed) and {} alerts so far; monitoring has not completed",
                     monitor.samples, monitor.failed_samples, monitor.alerts.size());
}

void FollowUpData(const Analysis& analysis, const CommsOptions& options, json& data) {
  json notes = json::array();
  for (const NoteReport& note : analysis.notes) {
    notes.push_back({{"actor", note.actor},
                     {"at", FormatTime(note.recorded_at_ns)},
                     {"component", note.component},
                     {"text", note.text}});
  }

  json actions = json::array();
  json lessons = json::array();
  for (const ActionItem& item : analysis.action_items) {
    json entry = {{"id", item.id},
                  {"text", item.text},
                  {"owner", item.owner.empty() ? "unassigned" : item.owner},
                  {"due", item.due_at_ns == 0 ? "no due date" : FormatTime(item.due_at_ns)},
                  {"status", item.resolved ? "resolved"
                                           : (internal::Overdue(item, options.as_of_ns) ? "overdue"
                                                                                        : "open")}};
    (item.kind == "lesson" ? lessons : actions).push_back(std::move(entry));
  }

  json alerts = json::array();
  for (const AlertReport& alert : analysis.monitor.alerts) {
    alerts.push_back({{"probe", alert.probe},
                      {"kind", alert.breached ? "breached" : "recovered"},
                      {"threshold", alert.threshold},
                      {"decision", alert.decision},
                      {"at", FormatOffset(alert.offset_ms)}});
  }

  data["has_notes"] = !notes.empty();
  data["has_action_items"] = !actions.empty();
  data["has_lessons"] = !lessons.empty();
  data["has_alerts"] = !alerts.empty();
  data["notes"] = std::move(notes);
  data["action_items"] = std::move(actions);
  data["lessons"] = std::move(lessons);
  data["monitoring"] = analysis.monitor.ran;
  data["monitor_summary"] = MonitorSummary(analysis.monitor);
  data["alert_count"] = analysis.monitor.alerts.size();
  data["alerts"] = std::move(alerts);
}

json TemplateData(const Analysis& analysis, const CommsOptions& options) {
  const projections::RollbackState& rollback = analysis.rollback;
  std::vector<std::string> component_summary;
  std::vector<std::string> component_names;
  for (const ComponentReport& component : analysis.components) {
    component_summary.push_back(component.name + " " + component.status);
    component_names.push_back(component.name);
  }
  std::string outcome(projections::OutcomeName(rollback.outcome));
  json data = {
      {"rollback_id", rollback.id},
      {"feature", rollback.feature},
      {"environment", rollback.environment},
      {"scope", rollback.scope},
      {"mode", rollback.mode},
      {"has_mode", !rollback.mode.empty()},
      {"reason", rollback.reason},
      {"requested_by", rollback.actor},
      {"requested_at", FormatTime(rollback.requested_at_ns)},
      {"completed_at", FormatTime(rollback.completed_at_ns)},
      {"status", projections::RollbackStatusName(rollback.status)},
      {"outcome", outcome},
      {"summary", rollback.summary},
      {"completed", !rollback.Active()},
      {"active", rollback.Active()},
      {"succeeded", outcome == "succeeded"},
      {"cancelled", outcome == "cancelled"},
      {"drill", rollback.drill},
      {"dry_run", rollback.dry_run},
      {"duration", FormatMs(analysis.duration_ms)},
      {"budget",
       rollback.budget_ms == 0 ? "none" : FormatMs(static_cast<int64_t>(rollback.budget_ms))},
      {"over_budget", analysis.over_budget},
      {"critical_path", JoinList(analysis.critical_path)},
      {"components_summary", JoinList(component_summary)},
      {"component_names", JoinList(component_names)},
      {"components", ComponentsData(analysis)},
      {"trend", analysis.comparison.trend},
      {"earlier_count", analysis.comparison.earlier.size()}};
  data["failures"] = IssuesData(analysis, data);
  FollowUpData(analysis, options, data);
  return data;
}

// Shapes of list items, so that a template using an item field passes the check also when the
// list is empty for this rollback.
const std::map<std::string, json>& ItemShapes() {
  static const std::map<std::string, json> kShapes = {
      {"components",
       {{"name", ""}, {"status", ""}, {"duration", ""}, {"budget", ""}, {"steps", json::array()}}},
      {"steps", {{"name", ""}, {"status", ""}, {"attempts", 0}, {"duration", ""}, {"error", ""}}},
      {"failures", {{"step", ""}, {"attempt", 0}, {"error", ""}, {"host", ""}, {"at", ""}}},
      {"skipped", {{"step", ""}, {"actor", ""}, {"reason", ""}}},
      {"findings", {{"rule", ""}, {"severity", ""}, {"message", ""}}},
      {"recommendations", {{"rule", ""}, {"text", ""}}},
      {"notes", {{"actor", ""}, {"at", ""}, {"component", ""}, {"text", ""}}},
      {"action_items", {{"id", ""}, {"text", ""}, {"owner", ""}, {"due", ""}, {"status", ""}}},
      {"lessons", {{"id", ""}, {"text", ""}, {"owner", ""}, {"due", ""}, {"status", ""}}},
      {"alerts", {{"probe", ""}, {"kind", ""}, {"threshold", ""}, {"decision", ""}, {"at", ""}}},
  };
  return kShapes;
}

MustacheData ToMustache(const json& value) {
  if (value.is_object()) {
    MustacheData object{MustacheData::type::object};
    for (const auto& [key, child] : value.items()) object.set(key, ToMustache(child));
    return object;
  }
  if (value.is_array()) {
    MustacheData list{MustacheData::type::list};
    for (const json& element : value) list.push_back(ToMustache(element));
    return list;
  }
  if (value.is_boolean()) return MustacheData{value.get<bool>()};
  if (value.is_string()) return MustacheData{value.get<std::string>()};
  if (value.is_null()) return MustacheData{std::string()};
  return MustacheData{value.dump()};
}

// Marks a joined tag, so that the renderer's own standalone-line handling leaves its line alone;
// RenderCommsText() removes every marker from the output.
constexpr char kJoinedTagMarker = '\x01';

// Returns the template with every line that contains only a section or comment tag joined to
// the next line, followed by kJoinedTagMarker. The Mustache spec removes such standalone lines
// from the output. kainjow-mustache 4.1 removes them only for sections it renders, so skipped
// ones leave a blank line. It also drops a line that renders empty next to a section tag, which
// would swallow intended blank lines. Templates that change the delimiters stay unchanged.
std::string JoinStandaloneTags(const std::string& text) {
  if (text.find("{{=") != std::string::npos) return text;
  std::string joined;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    bool last = end == std::string::npos;
    std::string line = text.substr(start, last ? std::string::npos : end - start);
    size_t first = line.find_first_not_of(" \t");
    size_t after = line.find_last_not_of(" \t\r");
    bool standalone = first != std::string::npos && line.compare(first, 2, "{{") == 0 &&
                      after >= first + 4 && line.compare(after - 1, 2, "}}") == 0 &&
                      std::string("#^/!").find(line[first + 2]) != std::string::npos &&
                      line.find("{{", first + 2) == std::string::npos;
    if (standalone && !last) {
      joined += line.substr(first, after - first + 1) + kJoinedTagMarker;
    } else {
      joined += line + (last ? "" : "\n");
    }
    start = last ? text.size() : end + 1;
  }
  return joined;
}

bool IsValidTemplateName(const std::string& name) {
  return !name.empty() && name.size() <= 100 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// Reads <dir>/<name>.mustache; returns nullopt when the file does not exist.
Result<std::optional<std::string>> ReadTemplateFile(const std::string& dir,
                                                    const std::string& name) {
  fs::path path = fs::path(dir) / (name + ".mustache");
  std::error_code error;
  if (!fs::exists(path, error)) return std::optional<std::string>();
  if (fs::file_size(path, error) > kMaxTemplateBytes) {
    return Status(StatusCode::kLimitExceeded, "template file " + path.string() +
                                                  " is larger than " +
                                                  std::to_string(kMaxTemplateBytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return IoError("cannot read template file " + path.string());
  return std::optional<std::string>(text.str());
}

}  // namespace

Result<std::vector<std::string>> ListTemplates(const CommsOptions& options) {
  std::vector<std::string> names = BuiltInTemplateNames();
  if (!options.templates_dir.empty()) {
    std::error_code error;
    fs::directory_iterator it(options.templates_dir, error);
    if (error) {
      return NotFound("cannot read the templates directory " + options.templates_dir + ": " +
                      error.message());
    }
    for (const fs::directory_entry& entry : it) {
      if (entry.path().extension() != ".mustache") continue;
      std::string name = entry.path().stem().string();
      if (IsValidTemplateName(name)) names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string CommsDataJson(const Analysis& analysis, const CommsOptions& options) {
  return TemplateData(analysis, options).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<std::string> RenderCommsText(const Analysis& analysis, const std::string& name,
                                    const std::string& text, const CommsOptions& options) {
  json data = TemplateData(analysis, options);
  ROLLBOOK_RETURN_IF_ERROR(internal::CheckTemplate(name, text, data, ItemShapes()));

  kainjow::mustache::mustache renderer{JoinStandaloneTags(text)};
  if (!renderer.is_valid()) {
    return InvalidArgument("template " + name + " does not parse: " + renderer.error_message());
  }
  // Communication texts are plain text, so values must not be HTML-escaped.
  renderer.set_custom_escape([](const std::string& value) { return value; });
  std::string rendered = renderer.render(ToMustache(data));
  if (!renderer.is_valid()) {
    return InvalidArgument("template " + name + " failed to render: " + renderer.error_message());
  }
  std::erase(rendered, kJoinedTagMarker);
  return rendered;
}

Result<std::string> RenderComms(const Analysis& analysis, const std::string& name,
                                const CommsOptions& options) {
  if (!IsValidTemplateName(name)) {
    return InvalidArgument("invalid template name '" + name +
                           "'; use letters, digits, '-' and '_' (the file is NAME.mustache)");
  }
  std::optional<std::string> text;
  if (!options.templates_dir.empty()) {
    auto from_file = ReadTemplateFile(options.templates_dir, name);
    if (!from_file.ok()) return from_file.status();
    text = std::move(from_file).value();
  }
  if (!text && !BuiltInTemplate(name).empty()) text = BuiltInTemplate(name);
  if (!text) {
    auto names = ListTemplates(options);
    return NotFound("no template named '" + name + "'; available: " +
                    (names.ok() ? JoinList(*names) : JoinList(BuiltInTemplateNames())));
  }
  return RenderCommsText(analysis, name, *text, options);
}

}  // namespace rollbook::analyzer
