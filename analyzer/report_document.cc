// The content of the incident report, decided once for every output format.
#include "analyzer/report_document.h"

#include <fmt/core.h>

#include "analyzer/format.h"

namespace rollbook::analyzer::internal {
namespace {

std::string Budget(uint64_t budget_ms) {
  return budget_ms == 0 ? "none" : FormatMs(static_cast<int64_t>(budget_ms));
}

std::string DurationAgainstBudget(int64_t duration_ms, uint64_t budget_ms) {
  std::string text = FormatMs(duration_ms) + " (budget " + Budget(budget_ms) + ")";
  if (budget_ms > 0 && duration_ms > static_cast<int64_t>(budget_ms)) text += ", over budget";
  return text;
}

Section Summary(const Analysis& analysis) {
  const projections::RollbackState& rollback = analysis.rollback;
  std::string kind =
      rollback.drill ? "drill" : (rollback.dry_run ? "dry run" : "production rollback");
  KeyValues facts{
      {{"Rollback", rollback.id},
       {"Feature", rollback.feature},
       {"Environment", rollback.environment},
       {"Kind", kind},
       {"Outcome", std::string(projections::OutcomeName(rollback.outcome)) + " (" +
                       std::string(projections::RollbackStatusName(rollback.status)) + ")"},
       {"Reason", rollback.reason},
       {"Requested by", rollback.actor},
       {"Duration", DurationAgainstBudget(analysis.duration_ms, rollback.budget_ms)},
       {"Findings", std::to_string(analysis.findings.size())},
       {"Recommendations", std::to_string(analysis.recommendations.size())}}};
  return Section{"summary", "Summary", {std::move(facts)}};
}

Section ImpactWindow(const Analysis& analysis) {
  const projections::RollbackState& rollback = analysis.rollback;
  KeyValues window{{{"Rollback requested", FormatTime(rollback.requested_at_ns)},
                    {"Rollback completed", FormatTime(rollback.completed_at_ns)},
                    {"Window", FormatMs(analysis.duration_ms)}}};
  const MonitorReport& monitor = analysis.monitor;
  if (monitor.ran && monitor.started_position != 0) {
    window.rows.push_back(
        {"Monitoring",
         fmt::format("from {} for {}, {} samples ({} failed), {} alerts",
                     FormatOffset(monitor.started_offset_ms),
                     FormatMs(static_cast<int64_t>(monitor.planned_duration_ms)), monitor.samples,
                     monitor.failed_samples, monitor.alerts.size())});
  } else if (monitor.ran) {
    window.rows.push_back(
        {"Monitoring",
         fmt::format("{} alerts recorded without a monitorStarted event", monitor.alerts.size())});
  } else {
    window.rows.push_back({"Monitoring", "not run"});
  }
  Paragraph meaning{
      "The window runs from the rollback request to its completion: the time during "
      "which the feature was being removed. Offsets below count from the request."};
  return Section{"impact", "Impact window", {std::move(meaning), std::move(window)}};
}

Section Scope(const Analysis& analysis) {
  const projections::RollbackState& rollback = analysis.rollback;
  Table table{{"Component", "After", "Steps", "Budget"}, {}, {}};
  for (const ComponentReport& component : analysis.components) {
    table.rows.push_back({component.name, JoinList(component.after, "-"),
                          std::to_string(component.steps.size()), Budget(component.budget_ms)});
    table.row_classes.emplace_back();
  }
  Paragraph scope{fmt::format("Scope {}{} of runbook {} (sha256 {}).", rollback.scope,
                              rollback.mode.empty() ? "" : ", mode " + rollback.mode,
                              rollback.runbook_path, rollback.runbook_sha256)};
  return Section{"scope", "Scope", {std::move(scope), std::move(table)}};
}

Section ContributingFactors(const Analysis& analysis) {
  if (analysis.notes.empty()) {
    return Section{"factors",
                   "Contributing factors",
                   {Paragraph{"No notes were recorded. Record what led to the rollback with "
                              "`rollbook note --rollback " +
                              analysis.rollback.id + " TEXT`."}}};
  }
  BulletList notes;
  for (const NoteReport& note : analysis.notes) {
    notes.items.push_back(
        fmt::format("{} ({}, {}): {}", note.actor, FormatTime(note.recorded_at_ns),
                    note.component.empty() ? "rollback" : note.component, note.text));
  }
  return Section{"factors", "Contributing factors", {std::move(notes)}};
}

Section Resolution(const Analysis& analysis) {
  const projections::RollbackState& rollback = analysis.rollback;
  std::vector<Block> blocks;
  std::string outcome(projections::OutcomeName(rollback.outcome));
  blocks.push_back(Paragraph{
      rollback.Active() ? "The rollback has not completed; it is " +
                              std::string(projections::RollbackStatusName(rollback.status)) + "."
                        : "The rollback ended as " + outcome + ": " + rollback.summary + "."});
  BulletList details;
  for (const CancellationReport& cancel : analysis.cancellations) {
    details.items.push_back(fmt::format("Cancel requested by {} at {}: {}", cancel.actor,
                                        FormatOffset(cancel.offset_ms),
                                        cancel.reason.empty() ? "no reason given" : cancel.reason));
  }
  for (const StepEventReport& skipped : analysis.skipped) {
    details.items.push_back(fmt::format("{}/{} skipped by {}: {}", skipped.component, skipped.step,
                                        skipped.actor, skipped.reason));
  }
  for (const StepEventReport& unknown : analysis.outcome_unknown) {
    details.items.push_back(
        fmt::format("{}/{} outcome unknown: {}", unknown.component, unknown.step, unknown.reason));
  }
  if (!details.items.empty())
    blocks.emplace_back(std::in_place_type<BulletList>, std::move(details));
  return Section{"resolution", "Resolution", std::move(blocks)};
}

Section Timeline(const Analysis& analysis) {
  Table table{{"Offset", "Position", "Actor", "Subject", "Event"}, {}, {}};
  for (const TimelineEntry& entry : analysis.timeline) {
    table.rows.push_back({FormatOffset(entry.offset_ms), "#" + std::to_string(entry.position),
                          entry.actor, entry.subject, entry.text});
    bool bad = entry.type == "stepFailed" || entry.type == "verificationFailed" ||
               entry.type == "notificationFailed" || entry.type == "thresholdBreached" ||
               entry.type == "stepOutcomeUnknown";
    table.row_classes.push_back(bad ? "failed" : "");
  }
  return Section{"timeline", "Timeline", {ChartPlaceholder{}, std::move(table)}};
}

Section Components(const Analysis& analysis) {
  Table table{{"Component / step", "Status", "Attempts", "Start", "Duration", "Budget", "Critical"},
              {},
              {}};
  auto offset = [](int64_t ms) { return ms < 0 ? std::string("-") : FormatOffset(ms); };
  for (const ComponentReport& component : analysis.components) {
    table.rows.push_back({component.name, component.status, "", offset(component.started_offset_ms),
                          FormatMs(component.duration_ms), Budget(component.budget_ms),
                          component.critical ? "yes" : ""});
    table.row_classes.push_back(component.over_budget ? "over" : "component");
    for (const StepReport& step : component.steps) {
      table.rows.push_back({component.name + "/" + step.name, step.status,
                            std::to_string(step.attempts), offset(step.started_offset_ms),
                            FormatMs(step.duration_ms), Budget(step.budget_ms),
                            step.critical ? "yes" : ""});
      table.row_classes.push_back(step.over_budget ? "over" : "");
    }
  }
  Paragraph path{fmt::format("Critical path: {} ({}).", JoinList(analysis.critical_path),
                             FormatMs(analysis.critical_path_ms))};
  return Section{"components", "Components", {std::move(table), std::move(path)}};
}

Section Findings(const Analysis& analysis) {
  std::vector<Block> blocks;
  BulletList findings;
  for (const Finding& finding : analysis.findings) {
    findings.items.push_back(fmt::format("[{}] {} (events {}): {}", finding.severity, finding.rule,
                                         FormatPositions(finding.positions), finding.message));
  }
  for (const FailureReport& failure : analysis.failures) {
    findings.items.push_back(
        fmt::format("{}/{} attempt {} failed at {}{}: {}", failure.component, failure.step,
                    failure.attempt, FormatOffset(failure.offset_ms),
                    failure.host.empty() ? "" : " on " + failure.host, failure.error));
  }
  for (const AlertReport& alert : analysis.monitor.alerts) {
    findings.items.push_back(fmt::format("Monitoring: {} {} {} (event #{}): {}", alert.probe,
                                         alert.breached ? "breached" : "recovered", alert.threshold,
                                         alert.position, alert.decision));
  }
  for (const RecurringFailure& recurring : analysis.comparison.recurring) {
    findings.items.push_back("Recurring failure: " + recurring.step + " also failed in " +
                             JoinList(recurring.rollbacks));
  }
  if (findings.items.empty()) {
    blocks.push_back(Paragraph{"No gate violations, failures or alerts."});
  } else {
    blocks.push_back(std::move(findings));
  }
  return Section{"findings", "Findings", std::move(blocks)};
}

Section Recommendations(const Analysis& analysis) {
  if (analysis.recommendations.empty()) {
    return Section{"recommendations", "Recommendations", {Paragraph{"No rule was triggered."}}};
  }
  BulletList list;
  for (const Recommendation& recommendation : analysis.recommendations) {
    list.items.push_back(fmt::format("{} (events {}): {}", recommendation.rule,
                                     FormatPositions(recommendation.positions),
                                     recommendation.text));
  }
  return Section{"recommendations", "Recommendations", {std::move(list)}};
}

Section ActionItems(const Analysis& analysis, const ReportOptions& options) {
  Table table{{"Id", "Kind", "Owner", "Due", "Status", "Text"}, {}, {}};
  for (const ActionItem& item : analysis.action_items) {
    bool overdue = Overdue(item, options.as_of_ns);
    std::string status =
        item.resolved ? "resolved: " + item.resolution : (overdue ? "OVERDUE" : "open");
    table.rows.push_back({item.id, item.kind, item.owner.empty() ? "-" : item.owner,
                          item.due_at_ns == 0 ? "-" : FormatTime(item.due_at_ns), status,
                          item.text});
    table.row_classes.push_back(overdue ? "overdue" : (item.resolved ? "resolved" : ""));
  }
  std::vector<Block> blocks;
  blocks.push_back(Paragraph{"Overdue as of " + FormatTime(options.as_of_ns) +
                             ". Add items with `rollbook action add " + analysis.rollback.id +
                             " TEXT --owner NAME --due TIME`."});
  if (!table.rows.empty()) blocks.push_back(std::move(table));
  return Section{"actions", "Action items and lessons", std::move(blocks)};
}

Section Metrics(const Analysis& analysis, const ReportOptions& options) {
  ReportMetrics metrics = ComputeMetrics(analysis, options.as_of_ns);
  auto count = [](size_t value) { return std::to_string(value); };
  KeyValues values{{
      {"Time to roll back",
       DurationAgainstBudget(analysis.duration_ms, analysis.rollback.budget_ms)},
      {"Time to first change", metrics.first_change_offset_ms < 0
                                   ? "no change recorded"
                                   : FormatMs(metrics.first_change_offset_ms)},
      {"Critical path", FormatMs(analysis.critical_path_ms)},
      {"Components succeeded",
       count(metrics.components_succeeded) + " of " + count(metrics.components)},
      {"Steps succeeded", count(metrics.steps_succeeded) + " of " + count(metrics.steps) + " (" +
                              count(metrics.steps_failed) + " failed, " +
                              count(metrics.steps_skipped) + " skipped)"},
      {"Attempts", count(metrics.attempts) + " (" + count(metrics.failed_attempts) + " failed, " +
                       count(metrics.retries) + " retried)"},
      {"Backups", count(metrics.backups)},
      {"Changes", count(metrics.changes)},
      {"Verifications", count(metrics.verifications_passed) + " passed, " +
                            count(metrics.verifications_failed) + " failed"},
      {"Notifications", count(metrics.notifications_sent) + " sent, " +
                            count(metrics.notifications_failed) + " failed"},
      {"Open action items",
       count(metrics.open_action_items) + " (" + count(metrics.overdue_action_items) + " overdue)"},
  }};
  const Comparison& comparison = analysis.comparison;
  if (comparison.same_scope > 0) {
    values.rows.push_back(
        {"Against earlier rollbacks",
         fmt::format("{} ({:+}% against a mean of {} over {} of scope {})", comparison.trend,
                     comparison.change_percent, FormatMs(comparison.mean_duration_ms),
                     comparison.same_scope, analysis.rollback.scope)});
  }
  return Section{"metrics", "Metrics", {std::move(values)}};
}

}  // namespace

bool Overdue(const ActionItem& item, int64_t as_of_ns) {
  return !item.resolved && item.due_at_ns != 0 && item.due_at_ns < as_of_ns;
}

ReportMetrics ComputeMetrics(const Analysis& analysis, int64_t as_of_ns) {
  ReportMetrics metrics;
  for (const ComponentReport& component : analysis.components) {
    ++metrics.components;
    if (component.status == "succeeded") ++metrics.components_succeeded;
    for (const StepReport& step : component.steps) {
      ++metrics.steps;
      metrics.attempts += step.attempts;
      if (step.status == "succeeded") ++metrics.steps_succeeded;
      if (step.status == "failed") ++metrics.steps_failed;
      if (step.status == "skipped") ++metrics.steps_skipped;
    }
  }
  metrics.failed_attempts = analysis.failures.size();
  metrics.retries = analysis.retries;
  for (const TimelineEntry& entry : analysis.timeline) {
    if (entry.type == "backupCreated") ++metrics.backups;
    if (entry.type == "verificationPassed") ++metrics.verifications_passed;
    if (entry.type == "verificationFailed") ++metrics.verifications_failed;
    if (entry.type == "changeApplied") {
      if (metrics.changes == 0) metrics.first_change_offset_ms = entry.offset_ms;
      ++metrics.changes;
    }
  }
  for (const NotificationReport& notification : analysis.notifications) {
    ++(notification.delivered ? metrics.notifications_sent : metrics.notifications_failed);
  }
  for (const ActionItem& item : analysis.action_items) {
    if (!item.resolved) ++metrics.open_action_items;
    if (Overdue(item, as_of_ns)) ++metrics.overdue_action_items;
  }
  return metrics;
}

ReportDocument BuildReportDocument(const Analysis& analysis, const ReportOptions& options) {
  const projections::RollbackState& rollback = analysis.rollback;
  ReportDocument document;
  document.title = "Incident report: rollback " + rollback.id + " of " + rollback.feature + " in " +
                   rollback.environment;
  document.sections = {Summary(analysis),         ImpactWindow(analysis),
                       Scope(analysis),           ContributingFactors(analysis),
                       Resolution(analysis),      Timeline(analysis),
                       Components(analysis),      Findings(analysis),
                       Recommendations(analysis), ActionItems(analysis, options),
                       Metrics(analysis, options)};
  return document;
}

}  // namespace rollbook::analyzer::internal
