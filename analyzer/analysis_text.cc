// Text form of an analysis for the terminal.
#include <fmt/core.h>

#include "analyzer/analysis_output.h"
#include "analyzer/format.h"

namespace rollbook::analyzer {
namespace {

std::string BudgetText(int64_t duration_ms, uint64_t budget_ms) {
  if (budget_ms == 0) return FormatMs(duration_ms) + " (no budget)";
  std::string text = FormatMs(duration_ms) + " of " + FormatMs(static_cast<int64_t>(budget_ms));
  if (duration_ms > static_cast<int64_t>(budget_ms)) {
    text +=
        fmt::format(" OVER BUDGET by {}", FormatMs(duration_ms - static_cast<int64_t>(budget_ms)));
  }
  return text;
}

std::string Summary(const Analysis& analysis) {
  const projections::RollbackState& rollback = analysis.rollback;
  std::string text = fmt::format(
      "Rollback {}: {} in {}, scope {}{}{}{}\n", rollback.id, rollback.feature,
      rollback.environment, rollback.scope, rollback.mode.empty() ? "" : ", mode " + rollback.mode,
      rollback.dry_run ? ", dry run" : "", rollback.drill ? ", drill" : "");
  text += fmt::format("  outcome       {} ({})\n", projections::OutcomeName(rollback.outcome),
                      projections::RollbackStatusName(rollback.status));
  text += fmt::format("  requested     {} by {}: {}\n", FormatTime(rollback.requested_at_ns),
                      rollback.actor, rollback.reason);
  text += fmt::format("  duration      {}\n", BudgetText(analysis.duration_ms, rollback.budget_ms));

  std::vector<std::string> components;
  for (const ComponentReport& component : analysis.components) {
    components.push_back(component.name + " " + component.status);
  }
  text += fmt::format("  components    {}\n", JoinList(components));
  text += fmt::format("  critical path {} ({})\n", JoinList(analysis.critical_path, "none"),
                      FormatMs(analysis.critical_path_ms));
  text += fmt::format(
      "  issues        {} failed attempts ({} retried), {} skipped, {} outcome unknown, {} "
      "cancel requests, {} findings\n",
      analysis.failures.size(), analysis.retries, analysis.skipped.size(),
      analysis.outcome_unknown.size(), analysis.cancellations.size(), analysis.findings.size());

  const MonitorReport& monitor = analysis.monitor;
  if (monitor.ran) {
    text += fmt::format("  monitoring    {} samples ({} failed), {} alerts{}\n", monitor.samples,
                        monitor.failed_samples, monitor.alerts.size(),
                        monitor.completed ? "" : ", not completed");
  } else {
    text += "  monitoring    not run\n";
  }

  const Comparison& comparison = analysis.comparison;
  if (comparison.same_scope == 0) {
    text +=
        fmt::format("  trend         {} ({} earlier rollbacks of this feature and environment)\n",
                    comparison.trend, comparison.earlier.size());
  } else {
    text +=
        fmt::format("  trend         {} against {} earlier {} rollback(s) averaging {} ({:+}%)\n",
                    comparison.trend, comparison.same_scope, analysis.rollback.scope,
                    FormatMs(comparison.mean_duration_ms), comparison.change_percent);
  }
  return text;
}

std::string Timeline(const Analysis& analysis) {
  std::string text = "Timeline\n";
  for (const TimelineEntry& entry : analysis.timeline) {
    text += fmt::format("  {}  #{:<6} {:<10} {}{}\n", FormatOffset(entry.offset_ms), entry.position,
                        entry.actor, entry.subject.empty() ? "" : entry.subject + ": ", entry.text);
  }
  return text;
}

std::string Performance(const Analysis& analysis) {
  std::string text =
      fmt::format("Components (* on the critical path: {}, {})\n", JoinList(analysis.critical_path),
                  FormatMs(analysis.critical_path_ms));
  for (const ComponentReport& component : analysis.components) {
    text += fmt::format("{} {:<28} {:<20} {}\n", component.critical ? "*" : " ", component.name,
                        component.status, BudgetText(component.duration_ms, component.budget_ms));
    for (const StepReport& step : component.steps) {
      std::string attempts =
          step.attempts == 1 ? "1 attempt" : fmt::format("{} attempts", step.attempts);
      text += fmt::format("    {:<30} {:<16} {:<11} {}\n", step.name, step.status, attempts,
                          BudgetText(step.duration_ms, step.budget_ms));
    }
  }
  const Comparison& comparison = analysis.comparison;
  text += "Earlier rollbacks of " + analysis.rollback.feature + " in " +
          analysis.rollback.environment + "\n";
  if (comparison.earlier.empty()) text += "  none\n";
  for (const EarlierRollback& earlier : comparison.earlier) {
    text += fmt::format("  {:<8} {}  {:<18} {:<10} {}\n", earlier.id,
                        FormatTime(earlier.requested_at_ns), earlier.outcome,
                        FormatMs(earlier.duration_ms), earlier.scope);
  }
  if (comparison.same_scope > 0) {
    text += fmt::format(
        "  this one: {} in {}: {} against the mean of {} over {} earlier {} rollback(s) ({:+}%)\n",
        analysis.rollback.id, FormatMs(analysis.duration_ms), comparison.trend,
        FormatMs(comparison.mean_duration_ms), comparison.same_scope, analysis.rollback.scope,
        comparison.change_percent);
  }
  return text;
}

std::string FailureLines(const Analysis& analysis) {
  std::string text =
      fmt::format("Failed attempts ({}, {} retried)\n", analysis.failures.size(), analysis.retries);
  if (analysis.failures.empty()) text += "  none\n";
  for (const FailureReport& failure : analysis.failures) {
    text += fmt::format("  #{} {} {}/{} attempt {}{}: {}{}\n", failure.position,
                        FormatOffset(failure.offset_ms), failure.component, failure.step,
                        failure.attempt, failure.host.empty() ? "" : " on " + failure.host,
                        failure.error, failure.will_retry ? " (retried)" : "");
  }
  auto step_events = [&](const char* title, const std::vector<StepEventReport>& reports) {
    text += fmt::format("{} ({})\n", title, reports.size());
    if (reports.empty()) text += "  none\n";
    for (const StepEventReport& report : reports) {
      text +=
          fmt::format("  #{} {} {}/{} by {}: {}\n", report.position, FormatOffset(report.offset_ms),
                      report.component, report.step, report.actor, report.reason);
    }
  };
  step_events("Skipped steps", analysis.skipped);
  step_events("Steps with unknown outcome", analysis.outcome_unknown);
  text += fmt::format("Cancel requests ({})\n", analysis.cancellations.size());
  if (analysis.cancellations.empty()) text += "  none\n";
  for (const CancellationReport& cancel : analysis.cancellations) {
    text += fmt::format("  #{} {} by {}: {}\n", cancel.position, FormatOffset(cancel.offset_ms),
                        cancel.actor, cancel.reason.empty() ? "(no reason given)" : cancel.reason);
  }
  return text;
}

std::string FollowUpLines(const Analysis& analysis) {
  std::string text = fmt::format("Findings ({})\n", analysis.findings.size());
  if (analysis.findings.empty()) text += "  none\n";
  for (const Finding& finding : analysis.findings) {
    text += fmt::format("  [{}] {} ({}): {}\n", finding.severity, finding.rule,
                        FormatPositions(finding.positions), finding.message);
  }

  text += fmt::format("Monitoring alerts ({})\n", analysis.monitor.alerts.size());
  if (analysis.monitor.alerts.empty()) {
    text += analysis.monitor.ran ? "  none\n" : "  none (monitoring did not run)\n";
  }
  for (const AlertReport& alert : analysis.monitor.alerts) {
    text += fmt::format("  #{} {} {} {} {}: {}\n", alert.position, FormatOffset(alert.offset_ms),
                        alert.probe, alert.breached ? "breached" : "recovered", alert.threshold,
                        alert.decision);
  }

  text += fmt::format("Recommendations ({})\n", analysis.recommendations.size());
  if (analysis.recommendations.empty()) text += "  none\n";
  for (const Recommendation& recommendation : analysis.recommendations) {
    text += fmt::format("  {} ({}): {}\n", recommendation.rule,
                        FormatPositions(recommendation.positions), recommendation.text);
  }
  for (const RecurringFailure& recurring : analysis.comparison.recurring) {
    text += fmt::format("  recurring failure: {} also failed in {}\n", recurring.step,
                        JoinList(recurring.rollbacks));
  }

  text += fmt::format("Notes ({})\n", analysis.notes.size());
  if (analysis.notes.empty()) text += "  none\n";
  for (const NoteReport& note : analysis.notes) {
    text += fmt::format("  #{} {} {}: {}\n", note.position, FormatOffset(note.offset_ms),
                        note.actor, note.text);
  }

  text += fmt::format("Action items and lessons ({})\n", analysis.action_items.size());
  if (analysis.action_items.empty()) text += "  none\n";
  for (const ActionItem& item : analysis.action_items) {
    std::string details = item.owner.empty() ? "" : ", owner " + item.owner;
    if (item.due_at_ns != 0) details += ", due " + FormatTime(item.due_at_ns);
    text += fmt::format("  {} {} [{}{}]: {}\n", item.id, item.kind,
                        item.resolved ? "resolved" : "open", details, item.text);
  }
  return text;
}

}  // namespace

std::string AnalysisToText(const Analysis& analysis, AnalysisSection section) {
  switch (section) {
    case AnalysisSection::kSummary:
      return Summary(analysis);
    case AnalysisSection::kTimeline:
      return Timeline(analysis);
    case AnalysisSection::kPerformance:
      return Performance(analysis);
    case AnalysisSection::kIssues:
      return FailureLines(analysis) + FollowUpLines(analysis);
    case AnalysisSection::kFull:
      return Summary(analysis) + "\n" + Timeline(analysis) + "\n" + Performance(analysis) + "\n" +
             FailureLines(analysis) + FollowUpLines(analysis);
  }
  return {};
}

}  // namespace rollbook::analyzer
