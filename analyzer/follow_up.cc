// What happened after the rollback's steps: monitoring and its alerts, action items and lessons.
#include <map>

#include "analyzer/analysis_internal.h"

namespace rollbook::analyzer::internal {
namespace {

using ledger::ToString;

void AddAlert(Analysis& analysis, const LoadedEvent& loaded, bool breached) {
  auto payload = loaded.payload();
  auto decision = breached ? payload.getThresholdBreached() : payload.getThresholdRecovered();
  AlertReport alert;
  alert.position = loaded.position();
  alert.offset_ms = OffsetMs(analysis.rollback, loaded.event.recorded_at_ns);
  alert.breached = breached;
  alert.probe = ToString(decision.getProbe());
  alert.threshold = ToString(decision.getThreshold());
  alert.value = decision.getValue();
  alert.decision = ToString(decision.getDecision());
  analysis.monitor.alerts.push_back(std::move(alert));
}

void MonitorStarted(Analysis& analysis, const LoadedEvent& loaded) {
  MonitorReport& monitor = analysis.monitor;
  auto started = loaded.payload().getMonitorStarted();
  if (!monitor.ran) {
    monitor.started_position = loaded.position();
    monitor.started_offset_ms = OffsetMs(analysis.rollback, loaded.event.recorded_at_ns);
  }
  monitor.ran = true;
  monitor.planned_duration_ms += started.getDurationMs();
  for (auto probe : started.getProbes()) monitor.probes.push_back(ToString(probe.getName()));
}

}  // namespace

void CollectMonitoring(const std::vector<LoadedEvent>& events, Analysis& analysis) {
  MonitorReport& monitor = analysis.monitor;
  for (const LoadedEvent& loaded : events) {
    auto payload = loaded.payload();
    switch (payload.which()) {
      case schema::Payload::MONITOR_STARTED:
        MonitorStarted(analysis, loaded);
        break;
      case schema::Payload::MONITOR_SAMPLE:
        monitor.ran = true;
        monitor.samples += payload.getMonitorSample().getSamples();
        monitor.failed_samples += payload.getMonitorSample().getFailures();
        break;
      case schema::Payload::THRESHOLD_BREACHED:
      case schema::Payload::THRESHOLD_RECOVERED:
        monitor.ran = true;
        AddAlert(analysis, loaded, payload.which() == schema::Payload::THRESHOLD_BREACHED);
        break;
      case schema::Payload::MONITOR_COMPLETED: {
        auto completed = payload.getMonitorCompleted();
        monitor.ran = true;
        monitor.completed = true;
        monitor.interrupted = completed.getInterrupted();
        monitor.summary = ToString(completed.getSummary());
        monitor.completed_offset_ms = OffsetMs(analysis.rollback, loaded.event.recorded_at_ns);
        break;
      }
      default:
        break;
    }
  }
}

std::vector<ActionItem> CollectActionItems(const std::vector<LoadedEvent>& action_events,
                                           const std::string& rollback_id) {
  std::vector<ActionItem> items;
  std::map<std::string, size_t> by_id;
  for (const LoadedEvent& loaded : action_events) {
    auto payload = loaded.payload();
    if (payload.which() == schema::Payload::ACTION_ITEM_ADDED) {
      auto added = payload.getActionItemAdded();
      ActionItem item;
      item.id = ToString(added.getActionId());
      item.rollback_id = ToString(added.getRollbackId());
      if (!rollback_id.empty() && item.rollback_id != rollback_id) continue;
      if (by_id.contains(item.id)) continue;  // an id is taken by its first event only
      item.kind = ToString(added.getKind());
      item.text = ToString(added.getText());
      item.owner = ToString(added.getOwner());
      item.due_at_ns = added.getDueAtNs();
      item.added_by = loaded.event.actor;
      item.position = loaded.position();
      item.recorded_at_ns = loaded.event.recorded_at_ns;
      by_id[item.id] = items.size();
      items.push_back(std::move(item));
    } else if (payload.which() == schema::Payload::ACTION_ITEM_RESOLVED) {
      auto resolved = payload.getActionItemResolved();
      auto found = by_id.find(ToString(resolved.getActionId()));
      if (found == by_id.end() || items[found->second].resolved) continue;
      ActionItem& item = items[found->second];
      item.resolved = true;
      item.resolution = ToString(resolved.getResolution());
      item.resolved_by = loaded.event.actor;
      item.resolved_position = loaded.position();
      item.resolved_at_ns = loaded.event.recorded_at_ns;
    }
  }
  return items;
}

}  // namespace rollbook::analyzer::internal
