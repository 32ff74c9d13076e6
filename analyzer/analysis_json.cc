// JSON form of an analysis. Member order is fixed (ordered_json) and times are formatted text,
// so the same analysis gives the same bytes on every run.
#include <cmath>
#include <nlohmann/json.hpp>

#include "analyzer/analysis_output.h"
#include "analyzer/format.h"

namespace rollbook::analyzer {
namespace {

using Json = nlohmann::ordered_json;

// JSON has no NaN, so a missing measurement is null.
Json Number(double value) { return std::isnan(value) || std::isinf(value) ? Json() : Json(value); }

Json RollbackJson(const Analysis& analysis) {
  const projections::RollbackState& rollback = analysis.rollback;
  return Json{{"id", rollback.id},
              {"feature", rollback.feature},
              {"environment", rollback.environment},
              {"scope", rollback.scope},
              {"mode", rollback.mode},
              {"reason", rollback.reason},
              {"requested_by", rollback.actor},
              {"requested_at", FormatTime(rollback.requested_at_ns)},
              {"completed_at", FormatTime(rollback.completed_at_ns)},
              {"status", projections::RollbackStatusName(rollback.status)},
              {"outcome", projections::OutcomeName(rollback.outcome)},
              {"summary", rollback.summary},
              {"dry_run", rollback.dry_run},
              {"drill", rollback.drill},
              {"duration_ms", analysis.duration_ms},
              {"budget_ms", rollback.budget_ms},
              {"over_budget", analysis.over_budget},
              {"runbook", rollback.runbook_path},
              {"runbook_sha256", rollback.runbook_sha256},
              {"ledger_head", analysis.ledger_head}};
}

Json TimelineJson(const Analysis& analysis) {
  Json timeline = Json::array();
  for (const TimelineEntry& entry : analysis.timeline) {
    timeline.push_back(Json{{"position", entry.position},
                            {"at", FormatTime(entry.recorded_at_ns)},
                            {"offset_ms", entry.offset_ms},
                            {"actor", entry.actor},
                            {"type", entry.type},
                            {"subject", entry.subject},
                            {"text", entry.text}});
  }
  return timeline;
}

Json StepJson(const StepReport& step) {
  return Json{{"name", step.name},
              {"driver", step.driver},
              {"action", step.action},
              {"role", step.role},
              {"mutates", step.mutates},
              {"status", step.status},
              {"attempts", step.attempts},
              {"started_offset_ms", step.started_offset_ms},
              {"finished_offset_ms", step.finished_offset_ms},
              {"duration_ms", step.duration_ms},
              {"budget_ms", step.budget_ms},
              {"over_budget", step.over_budget},
              {"critical", step.critical},
              {"last_error", step.last_error}};
}

Json PerformanceJson(const Analysis& analysis) {
  Json components = Json::array();
  for (const ComponentReport& component : analysis.components) {
    Json steps = Json::array();
    for (const StepReport& step : component.steps) steps.push_back(StepJson(step));
    components.push_back(Json{{"name", component.name},
                              {"after", component.after},
                              {"status", component.status},
                              {"started_offset_ms", component.started_offset_ms},
                              {"finished_offset_ms", component.finished_offset_ms},
                              {"duration_ms", component.duration_ms},
                              {"budget_ms", component.budget_ms},
                              {"over_budget", component.over_budget},
                              {"critical", component.critical},
                              {"steps", std::move(steps)}});
  }
  return Json{{"components", std::move(components)},
              {"critical_path", analysis.critical_path},
              {"critical_path_ms", analysis.critical_path_ms}};
}

Json ComparisonJson(const Comparison& comparison) {
  Json earlier = Json::array();
  for (const EarlierRollback& rollback : comparison.earlier) {
    earlier.push_back(Json{{"id", rollback.id},
                           {"requested_at", FormatTime(rollback.requested_at_ns)},
                           {"scope", rollback.scope},
                           {"outcome", rollback.outcome},
                           {"duration_ms", rollback.duration_ms},
                           {"failed_steps", rollback.failed_steps}});
  }
  Json recurring = Json::array();
  for (const RecurringFailure& failure : comparison.recurring) {
    recurring.push_back(Json{{"step", failure.step}, {"earlier_rollbacks", failure.rollbacks}});
  }
  return Json{{"earlier", std::move(earlier)},
              {"same_scope", comparison.same_scope},
              {"mean_duration_ms", comparison.mean_duration_ms},
              {"previous_duration_ms", comparison.previous_duration_ms},
              {"trend", comparison.trend},
              {"change_percent", comparison.change_percent},
              {"recurring_failures", std::move(recurring)}};
}

Json StepEventsJson(const std::vector<StepEventReport>& reports) {
  Json list = Json::array();
  for (const StepEventReport& report : reports) {
    list.push_back(Json{{"position", report.position},
                        {"offset_ms", report.offset_ms},
                        {"step", report.component + "/" + report.step},
                        {"actor", report.actor},
                        {"reason", report.reason}});
  }
  return list;
}

Json FailuresJson(const Analysis& analysis) {
  Json failures = Json::array();
  for (const FailureReport& failure : analysis.failures) {
    failures.push_back(Json{{"position", failure.position},
                            {"offset_ms", failure.offset_ms},
                            {"step", failure.component + "/" + failure.step},
                            {"attempt", failure.attempt},
                            {"error", failure.error},
                            {"error_code", failure.error_code},
                            {"host", failure.host},
                            {"will_retry", failure.will_retry},
                            {"duration_ms", failure.duration_ms}});
  }
  return failures;
}

Json MonitorJson(const MonitorReport& monitor) {
  Json alerts = Json::array();
  for (const AlertReport& alert : monitor.alerts) {
    alerts.push_back(Json{{"position", alert.position},
                          {"offset_ms", alert.offset_ms},
                          {"kind", alert.breached ? "breached" : "recovered"},
                          {"probe", alert.probe},
                          {"threshold", alert.threshold},
                          {"value", Number(alert.value)},
                          {"decision", alert.decision}});
  }
  return Json{{"ran", monitor.ran},
              {"started_position", monitor.started_position},
              {"planned_duration_ms", monitor.planned_duration_ms},
              {"probes", monitor.probes},
              {"samples", monitor.samples},
              {"failed_samples", monitor.failed_samples},
              {"completed", monitor.completed},
              {"interrupted", monitor.interrupted},
              {"summary", monitor.summary},
              {"alerts", std::move(alerts)}};
}

Json IssuesJson(const Analysis& analysis) {
  Json cancellations = Json::array();
  for (const CancellationReport& cancel : analysis.cancellations) {
    cancellations.push_back(Json{{"position", cancel.position},
                                 {"offset_ms", cancel.offset_ms},
                                 {"actor", cancel.actor},
                                 {"reason", cancel.reason}});
  }
  Json findings = Json::array();
  for (const Finding& finding : analysis.findings) {
    findings.push_back(Json{{"rule", finding.rule},
                            {"severity", finding.severity},
                            {"subject", finding.subject},
                            {"message", finding.message},
                            {"positions", finding.positions}});
  }
  Json notifications = Json::array();
  for (const NotificationReport& notification : analysis.notifications) {
    notifications.push_back(Json{{"position", notification.position},
                                 {"channel", notification.channel},
                                 {"trigger", notification.trigger},
                                 {"delivered", notification.delivered},
                                 {"status_code", notification.status_code},
                                 {"attempts", notification.attempts},
                                 {"error", notification.error}});
  }
  return Json{{"failures", FailuresJson(analysis)},
              {"retries", analysis.retries},
              {"skipped", StepEventsJson(analysis.skipped)},
              {"outcome_unknown", StepEventsJson(analysis.outcome_unknown)},
              {"cancellations", std::move(cancellations)},
              {"findings", std::move(findings)},
              {"notifications", std::move(notifications)},
              {"monitoring", MonitorJson(analysis.monitor)}};
}

Json RecommendationsJson(const Analysis& analysis) {
  Json recommendations = Json::array();
  for (const Recommendation& recommendation : analysis.recommendations) {
    recommendations.push_back(Json{{"rule", recommendation.rule},
                                   {"subject", recommendation.subject},
                                   {"text", recommendation.text},
                                   {"positions", recommendation.positions}});
  }
  return recommendations;
}

Json NotesJson(const Analysis& analysis) {
  Json notes = Json::array();
  for (const NoteReport& note : analysis.notes) {
    notes.push_back(Json{{"position", note.position},
                         {"at", FormatTime(note.recorded_at_ns)},
                         {"actor", note.actor},
                         {"component", note.component},
                         {"text", note.text}});
  }
  return notes;
}

}  // namespace

nlohmann::ordered_json ActionItemToJson(const ActionItem& item) {
  return Json{{"id", item.id},
              {"rollback_id", item.rollback_id},
              {"kind", item.kind},
              {"text", item.text},
              {"owner", item.owner},
              {"due", item.due_at_ns == 0 ? Json() : Json(FormatTime(item.due_at_ns))},
              {"added_by", item.added_by},
              {"added_at", FormatTime(item.recorded_at_ns)},
              {"position", item.position},
              {"resolved", item.resolved},
              {"resolution", item.resolution},
              {"resolved_by", item.resolved_by},
              {"resolved_at", item.resolved ? Json(FormatTime(item.resolved_at_ns)) : Json()}};
}

Result<AnalysisSection> ParseAnalysisSection(std::string_view name) {
  if (name == "summary") return AnalysisSection::kSummary;
  if (name == "timeline") return AnalysisSection::kTimeline;
  if (name == "performance") return AnalysisSection::kPerformance;
  if (name == "issues") return AnalysisSection::kIssues;
  if (name == "full") return AnalysisSection::kFull;
  return InvalidArgument("unknown analysis type '" + std::string(name) +
                         "'; use summary, timeline, performance, issues or full");
}

nlohmann::ordered_json AnalysisToJson(const Analysis& analysis, AnalysisSection section) {
  bool full = section == AnalysisSection::kFull;
  Json json{{"rollback", RollbackJson(analysis)}};
  if (full || section == AnalysisSection::kSummary) {
    json["counts"] = Json{{"events", analysis.timeline.size()},
                          {"failed_attempts", analysis.failures.size()},
                          {"retries", analysis.retries},
                          {"skipped", analysis.skipped.size()},
                          {"outcome_unknown", analysis.outcome_unknown.size()},
                          {"findings", analysis.findings.size()},
                          {"alerts", analysis.monitor.alerts.size()},
                          {"recommendations", analysis.recommendations.size()}};
  }
  if (full || section == AnalysisSection::kTimeline) json["timeline"] = TimelineJson(analysis);
  if (full || section == AnalysisSection::kPerformance) {
    json["performance"] = PerformanceJson(analysis);
  }
  if (full || section == AnalysisSection::kPerformance || section == AnalysisSection::kSummary) {
    json["comparison"] = ComparisonJson(analysis.comparison);
  }
  if (full || section == AnalysisSection::kIssues) {
    json["issues"] = IssuesJson(analysis);
    json["notes"] = NotesJson(analysis);
  }
  if (full || section == AnalysisSection::kIssues || section == AnalysisSection::kSummary) {
    json["recommendations"] = RecommendationsJson(analysis);
    Json items = Json::array();
    for (const ActionItem& item : analysis.action_items) items.push_back(ActionItemToJson(item));
    json["action_items"] = std::move(items);
  }
  return json;
}

}  // namespace rollbook::analyzer
