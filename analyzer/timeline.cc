// The timeline: one sentence per event of the rollback.
#include <fmt/core.h>

#include "analyzer/analysis_internal.h"
#include "analyzer/format.h"

namespace rollbook::analyzer::internal {
namespace {

using ledger::ToString;

std::string Outcome(schema::Outcome outcome) {
  return std::string(projections::OutcomeName(static_cast<int>(outcome)));
}

// Returns " after 1.2s", or nothing when the event recorded no duration.
std::string After(int64_t duration_ns) {
  return duration_ns > 0 ? " after " + FormatMs(duration_ns / 1000000) : "";
}

std::string Attempt(schema::StepRef::Reader ref) {
  return "attempt " + std::to_string(ref.getAttempt());
}

std::string DescribeRequest(schema::RollbackRequested::Reader requested) {
  std::string text =
      fmt::format("requested a {} rollback of {} in {}", ToString(requested.getScope()),
                  ToString(requested.getFeature()), ToString(requested.getEnvironment()));
  if (requested.getMode().size() > 0) text += ", mode " + ToString(requested.getMode());
  if (requested.getDryRun()) text += ", dry run";
  if (requested.getDrill()) text += ", drill";
  if (requested.getBudgetMs() > 0) {
    text += ", budget " + FormatMs(static_cast<int64_t>(requested.getBudgetMs()));
  }
  return text + ": " + ToString(requested.getReason());
}

std::string DescribeStep(schema::Payload::Reader payload, std::string& subject) {
  switch (payload.which()) {
    case schema::Payload::STEP_STARTED: {
      auto started = payload.getStepStarted();
      subject = StepKey(started.getRef());
      std::string text = Attempt(started.getRef()) + " started: " + ToString(started.getDriver()) +
                         " " + ToString(started.getAction());
      if (started.getDryRun()) text += " (dry run)";
      if (started.getDescription().size() > 0) text += "; " + ToString(started.getDescription());
      return text;
    }
    case schema::Payload::STEP_SUCCEEDED: {
      auto succeeded = payload.getStepSucceeded();
      subject = StepKey(succeeded.getRef());
      return fmt::format("{} succeeded in {}: {}", Attempt(succeeded.getRef()),
                         FormatMs(succeeded.getDurationNs() / 1000000),
                         ToString(succeeded.getSummary()));
    }
    case schema::Payload::STEP_FAILED: {
      auto failed = payload.getStepFailed();
      subject = StepKey(failed.getRef());
      std::string host = failed.getHost().size() > 0 ? " on " + ToString(failed.getHost()) : "";
      return fmt::format("{} failed after {}{}: {}{}", Attempt(failed.getRef()),
                         FormatMs(failed.getDurationNs() / 1000000), host,
                         ToString(failed.getError()), failed.getWillRetry() ? "; will retry" : "");
    }
    case schema::Payload::STEP_RETRYING: {
      auto retrying = payload.getStepRetrying();
      subject = StepKey(retrying.getRef());
      return fmt::format("{} scheduled after {} backoff", Attempt(retrying.getRef()),
                         FormatMs(static_cast<int64_t>(retrying.getBackoffMs())));
    }
    case schema::Payload::STEP_SKIPPED: {
      auto skipped = payload.getStepSkipped();
      subject = StepKey(skipped.getRef());
      return "skipped: " + ToString(skipped.getReason());
    }
    case schema::Payload::STEP_OUTCOME_UNKNOWN: {
      auto unknown = payload.getStepOutcomeUnknown();
      subject = StepKey(unknown.getRef());
      return "outcome unknown: " + ToString(unknown.getReason());
    }
    default:
      return {};
  }
}

std::string DescribeRecord(schema::Payload::Reader payload, std::string& subject) {
  switch (payload.which()) {
    case schema::Payload::BACKUP_CREATED: {
      auto backup = payload.getBackupCreated();
      subject = ToString(backup.getComponent()) + "/" + ToString(backup.getStep());
      return fmt::format("backup {} of {} ({} bytes, {})", ToString(backup.getBackupId()),
                         ToString(backup.getOrigin()), backup.getSizeBytes(),
                         ToString(backup.getFormat()));
    }
    case schema::Payload::CHANGE_APPLIED: {
      auto change = payload.getChangeApplied();
      subject = StepKey(change.getRef());
      if (change.getSummary().size() > 0) return "change: " + ToString(change.getSummary());
      return fmt::format("changed {}: {} -> {}", ToString(change.getTarget()),
                         ToString(change.getBefore()), ToString(change.getAfter()));
    }
    case schema::Payload::VERIFICATION_PASSED: {
      auto check = payload.getVerificationPassed();
      subject = StepKey(check.getRef());
      return fmt::format("verification passed: {} (got {})", ToString(check.getCheck()),
                         ToString(check.getActual()));
    }
    case schema::Payload::VERIFICATION_FAILED: {
      auto check = payload.getVerificationFailed();
      subject = StepKey(check.getRef());
      return fmt::format("verification failed: {}: expected {}, got {}", ToString(check.getCheck()),
                         ToString(check.getExpected()), ToString(check.getActual()));
    }
    case schema::Payload::KEY_ROTATED: {
      auto rotated = payload.getKeyRotated();
      subject = StepKey(rotated.getRef());
      return fmt::format("key rotated: id {}, fingerprint {}, written to {}",
                         ToString(rotated.getKeyId()), ToString(rotated.getFingerprint()),
                         ToString(rotated.getDestination()));
    }
    default:
      return {};
  }
}

std::string DescribeCommand(const ledger::RecordedEvent& event, schema::Payload::Reader payload,
                            std::string& subject) {
  switch (payload.which()) {
    case schema::Payload::ROLLBACK_REQUESTED:
      return DescribeRequest(payload.getRollbackRequested());
    case schema::Payload::ROLLBACK_REJECTED: {
      auto rejected = payload.getRollbackRejected();
      return fmt::format("rejected another {} rollback of {} in {}: {} (reason given: {})",
                         ToString(rejected.getScope()), ToString(rejected.getFeature()),
                         ToString(rejected.getEnvironment()), ToString(rejected.getRejection()),
                         ToString(rejected.getReason()));
    }
    case schema::Payload::ROLLBACK_STARTED:
      return "executor started (" + ToString(payload.getRollbackStarted().getExecutor()) + ")";
    case schema::Payload::CANCEL_REQUESTED: {
      std::string reason = ToString(payload.getCancelRequested().getReason());
      return "cancel requested" + (reason.empty() ? "" : ": " + reason);
    }
    case schema::Payload::RETRY_REQUESTED:
    case schema::Payload::SKIP_REQUESTED: {
      bool retry = payload.which() == schema::Payload::RETRY_REQUESTED;
      auto command = retry ? payload.getRetryRequested() : payload.getSkipRequested();
      subject = ToString(command.getComponent()) + "/" + ToString(command.getStep());
      std::string reason = ToString(command.getReason());
      return std::string(retry ? "retry" : "skip") + " requested" +
             (reason.empty() ? "" : ": " + reason);
    }
    case schema::Payload::RESUME_REQUESTED:
      return "resume requested";
    case schema::Payload::ANNOTATION: {
      auto note = payload.getAnnotation();
      subject = ToString(note.getComponent());
      return "note: " + ToString(note.getText());
    }
    default:
      (void)event;
      return {};
  }
}

std::string DescribeProgress(schema::Payload::Reader payload, std::string& subject) {
  switch (payload.which()) {
    case schema::Payload::COMPONENT_STARTED:
      subject = ToString(payload.getComponentStarted().getComponent());
      return "component started";
    case schema::Payload::COMPONENT_COMPLETED: {
      auto completed = payload.getComponentCompleted();
      subject = ToString(completed.getComponent());
      return "component " + Outcome(completed.getOutcome()) + After(completed.getDurationNs());
    }
    case schema::Payload::ROLLBACK_COMPLETED: {
      auto completed = payload.getRollbackCompleted();
      return "rollback " + Outcome(completed.getOutcome()) + After(completed.getDurationNs()) +
             ": " + ToString(completed.getSummary());
    }
    case schema::Payload::DRILL_COMPLETED: {
      auto drill = payload.getDrillCompleted();
      return fmt::format("drill {} in {} against a budget of {} ({})", Outcome(drill.getOutcome()),
                         FormatMs(drill.getDurationNs() / 1000000),
                         FormatMs(static_cast<int64_t>(drill.getBudgetMs())),
                         drill.getWithinBudget() ? "within budget" : "over budget");
    }
    default:
      return {};
  }
}

std::string DescribeNotification(schema::Payload::Reader payload, std::string& subject) {
  bool sent = payload.which() == schema::Payload::NOTIFICATION_SENT;
  auto notification = sent ? payload.getNotificationSent() : payload.getNotificationFailed();
  subject = ToString(notification.getChannel());
  if (sent) {
    return fmt::format("{} notification sent (HTTP {}, {} attempt(s))",
                       ToString(notification.getTrigger()), notification.getStatusCode(),
                       notification.getAttempts());
  }
  return fmt::format("{} notification failed after {} attempt(s): {}",
                     ToString(notification.getTrigger()), notification.getAttempts(),
                     ToString(notification.getError()));
}

std::string DescribeAnalysisEvent(schema::Payload::Reader payload, std::string& subject) {
  switch (payload.which()) {
    case schema::Payload::ACTION_ITEM_ADDED: {
      auto added = payload.getActionItemAdded();
      subject = ToString(added.getActionId());
      std::string owner =
          added.getOwner().size() > 0 ? ", owner " + ToString(added.getOwner()) : "";
      std::string due = added.getDueAtNs() != 0 ? ", due " + FormatTime(added.getDueAtNs()) : "";
      return fmt::format("{} added{}{}: {}", ToString(added.getKind()), owner, due,
                         ToString(added.getText()));
    }
    case schema::Payload::ACTION_ITEM_RESOLVED: {
      auto resolved = payload.getActionItemResolved();
      subject = ToString(resolved.getActionId());
      std::string resolution = ToString(resolved.getResolution());
      return "action item resolved" + (resolution.empty() ? "" : ": " + resolution);
    }
    case schema::Payload::MONITOR_STARTED: {
      auto started = payload.getMonitorStarted();
      std::vector<std::string> probes;
      for (auto probe : started.getProbes()) probes.push_back(ToString(probe.getName()));
      return fmt::format("monitoring started for {} with probes {}",
                         FormatMs(static_cast<int64_t>(started.getDurationMs())), JoinList(probes));
    }
    case schema::Payload::MONITOR_SAMPLE: {
      auto sample = payload.getMonitorSample();
      subject = ToString(sample.getProbe());
      std::string text =
          fmt::format("{} samples, {} failed, min {}, mean {}, max {}", sample.getSamples(),
                      sample.getFailures(), FormatValue(sample.getMinimum()),
                      FormatValue(sample.getMean()), FormatValue(sample.getMaximum()));
      if (sample.getLastError().size() > 0)
        text += "; last error: " + ToString(sample.getLastError());
      return text;
    }
    case schema::Payload::THRESHOLD_BREACHED:
    case schema::Payload::THRESHOLD_RECOVERED: {
      bool breached = payload.which() == schema::Payload::THRESHOLD_BREACHED;
      auto decision = breached ? payload.getThresholdBreached() : payload.getThresholdRecovered();
      subject = ToString(decision.getProbe());
      return fmt::format("threshold {} {}: {}", ToString(decision.getThreshold()),
                         breached ? "breached" : "recovered", ToString(decision.getDecision()));
    }
    case schema::Payload::MONITOR_COMPLETED: {
      auto completed = payload.getMonitorCompleted();
      return fmt::format("monitoring {}: {}",
                         completed.getInterrupted() ? "interrupted" : "completed",
                         ToString(completed.getSummary()));
    }
    default:
      return {};
  }
}

}  // namespace

std::string DescribeEvent(const LoadedEvent& loaded, std::string& subject) {
  subject.clear();
  schema::Payload::Reader payload = loaded.payload();
  for (std::string text :
       {DescribeStep(payload, subject), DescribeRecord(payload, subject),
        DescribeCommand(loaded.event, payload, subject), DescribeProgress(payload, subject)}) {
    if (!text.empty()) return text;
  }
  if (payload.which() == schema::Payload::NOTIFICATION_SENT ||
      payload.which() == schema::Payload::NOTIFICATION_FAILED) {
    return DescribeNotification(payload, subject);
  }
  std::string text = DescribeAnalysisEvent(payload, subject);
  if (!text.empty()) return text;
  return "event of type " + loaded.event.type + " (not described by this version)";
}

void BuildTimeline(const std::vector<LoadedEvent>& events, Analysis& analysis) {
  for (const LoadedEvent& loaded : events) {
    TimelineEntry entry;
    entry.position = loaded.position();
    entry.recorded_at_ns = loaded.event.recorded_at_ns;
    entry.offset_ms = OffsetMs(analysis.rollback, loaded.event.recorded_at_ns);
    entry.actor = loaded.event.actor;
    entry.type = loaded.event.type;
    entry.text = DescribeEvent(loaded, entry.subject);
    analysis.timeline.push_back(std::move(entry));
  }
}

}  // namespace rollbook::analyzer::internal
