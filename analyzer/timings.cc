// Durations against budgets, and the critical path through the components' `after:` edges.
#include <map>

#include "analyzer/analysis_internal.h"

namespace rollbook::analyzer::internal {
namespace {

using projections::ComponentState;
using projections::StepState;
using projections::StepStatus;

// Returns the time of the last event the rollback's execution recorded. Action items and
// monitoring come later and do not stretch the rollback's duration.
int64_t LastEventNs(const Analysis& analysis) {
  int64_t last = analysis.rollback.requested_at_ns;
  for (const TimelineEntry& entry : analysis.timeline) {
    bool later_work = entry.type.starts_with("actionItem") || entry.type.starts_with("monitor") ||
                      entry.type.starts_with("threshold");
    if (!later_work) last = entry.recorded_at_ns;
  }
  return last;
}

StepReport MeasureStep(const Analysis& analysis, const ComponentState& component,
                       const StepState& step) {
  const projections::RollbackState& rollback = analysis.rollback;
  StepReport report;
  report.component = component.name;
  report.name = step.name;
  report.driver = step.driver;
  report.action = step.action;
  report.role = step.role;
  report.mutates = step.mutates;
  report.status = std::string(projections::StepStatusName(step.status));
  report.attempts = step.attempts;
  if (step.started_at_ns != 0) report.started_offset_ms = OffsetMs(rollback, step.started_at_ns);
  bool has_outcome = step.status != StepStatus::kPending && step.status != StepStatus::kRunning;
  if (has_outcome && step.finished_at_ns != 0) {
    report.finished_offset_ms = OffsetMs(rollback, step.finished_at_ns);
  }
  report.duration_ms = step.duration_ns / 1000000;
  report.budget_ms = step.budget_ms;
  report.over_budget =
      step.budget_ms > 0 && report.duration_ms > static_cast<int64_t>(step.budget_ms);
  report.last_error = step.last_error;
  return report;
}

ComponentReport MeasureComponent(const Analysis& analysis, const ComponentState& component) {
  const projections::RollbackState& rollback = analysis.rollback;
  ComponentReport report;
  report.name = component.name;
  report.after = component.after;
  report.status = std::string(projections::ComponentStatusName(component.status));
  report.budget_ms = component.budget_ms;
  if (component.started_at_ns != 0) {
    report.started_offset_ms = OffsetMs(rollback, component.started_at_ns);
    int64_t end_ns =
        component.finished_at_ns != 0 ? component.finished_at_ns : LastEventNs(analysis);
    report.duration_ms = (end_ns - component.started_at_ns) / 1000000;
  }
  if (component.finished_at_ns != 0) {
    report.finished_offset_ms = OffsetMs(rollback, component.finished_at_ns);
  }
  report.over_budget =
      component.budget_ms > 0 && report.duration_ms > static_cast<int64_t>(component.budget_ms);
  for (const StepState& step : component.steps) {
    report.steps.push_back(MeasureStep(analysis, component, step));
  }
  return report;
}

// Finds the longest path through the dependency graph, weighting each component with its
// measured duration. The plan lists components in dependency order, so one forward pass is
// enough; ties go to the component listed first, which keeps the result stable.
void FindCriticalPath(Analysis& analysis) {
  std::vector<ComponentReport>& components = analysis.components;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < components.size(); ++i) index[components[i].name] = i;

  std::vector<int64_t> finish(components.size(), 0);
  std::vector<int> previous(components.size(), -1);
  for (size_t i = 0; i < components.size(); ++i) {
    int64_t ready = 0;
    for (const std::string& dependency : components[i].after) {
      auto found = index.find(dependency);
      if (found == index.end() || found->second >= i) continue;
      if (previous[i] == -1 || finish[found->second] > ready) {
        ready = finish[found->second];
        previous[i] = static_cast<int>(found->second);
      }
    }
    finish[i] = ready + components[i].duration_ms;
  }

  int last = -1;
  for (size_t i = 0; i < components.size(); ++i) {
    if (last == -1 || finish[i] > finish[static_cast<size_t>(last)]) last = static_cast<int>(i);
  }
  if (last == -1) return;
  analysis.critical_path_ms = finish[static_cast<size_t>(last)];
  std::vector<std::string> path;
  for (int i = last; i != -1; i = previous[static_cast<size_t>(i)]) {
    ComponentReport& component = components[static_cast<size_t>(i)];
    component.critical = true;
    for (StepReport& step : component.steps) step.critical = true;
    path.insert(path.begin(), component.name);
  }
  analysis.critical_path = std::move(path);
}

}  // namespace

void MeasureTimings(Analysis& analysis) {
  const projections::RollbackState& rollback = analysis.rollback;
  int64_t end_ns = rollback.completed_at_ns != 0 ? rollback.completed_at_ns : LastEventNs(analysis);
  analysis.duration_ms = (end_ns - rollback.requested_at_ns) / 1000000;
  analysis.over_budget =
      rollback.budget_ms > 0 && analysis.duration_ms > static_cast<int64_t>(rollback.budget_ms);
  for (const ComponentState& component : rollback.components) {
    analysis.components.push_back(MeasureComponent(analysis, component));
  }
  FindCriticalPath(analysis);
}

}  // namespace rollbook::analyzer::internal
