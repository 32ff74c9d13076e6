// Failures, retries, skips, cancellations, notes and notifications, and the gate checks: rules
// the orchestrator enforces, checked again from the events alone.
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <set>

#include "analyzer/analysis_internal.h"

namespace rollbook::analyzer::internal {
namespace {

using ledger::ToString;

template <typename Report>
Report StepEvent(const Analysis& analysis, const LoadedEvent& loaded, schema::StepRef::Reader ref) {
  Report report;
  report.position = loaded.position();
  report.offset_ms = OffsetMs(analysis.rollback, loaded.event.recorded_at_ns);
  report.component = ToString(ref.getComponent());
  report.step = ToString(ref.getStep());
  return report;
}

void AddFailure(Analysis& analysis, const LoadedEvent& loaded) {
  auto failed = loaded.payload().getStepFailed();
  auto report = StepEvent<FailureReport>(analysis, loaded, failed.getRef());
  report.attempt = failed.getRef().getAttempt();
  report.error = ToString(failed.getError());
  report.error_code = ToString(failed.getErrorCode());
  report.host = ToString(failed.getHost());
  report.will_retry = failed.getWillRetry();
  report.duration_ms = failed.getDurationNs() / 1000000;
  if (report.will_retry) ++analysis.retries;
  analysis.failures.push_back(std::move(report));
}

void AddNotification(Analysis& analysis, const LoadedEvent& loaded, bool delivered) {
  auto payload = loaded.payload();
  auto notification = delivered ? payload.getNotificationSent() : payload.getNotificationFailed();
  NotificationReport report;
  report.position = loaded.position();
  report.offset_ms = OffsetMs(analysis.rollback, loaded.event.recorded_at_ns);
  report.channel = ToString(notification.getChannel());
  report.trigger = ToString(notification.getTrigger());
  report.delivered = delivered;
  report.status_code = notification.getStatusCode();
  report.attempts = notification.getAttempts();
  report.error = ToString(notification.getError());
  analysis.notifications.push_back(std::move(report));
}

void AddNote(Analysis& analysis, const LoadedEvent& loaded) {
  auto note = loaded.payload().getAnnotation();
  NoteReport report;
  report.position = loaded.position();
  report.offset_ms = OffsetMs(analysis.rollback, loaded.event.recorded_at_ns);
  report.recorded_at_ns = loaded.event.recorded_at_ns;
  report.actor = loaded.event.actor;
  report.component = ToString(note.getComponent());
  report.text = ToString(note.getText());
  analysis.notes.push_back(std::move(report));
}

// Replays the step events and reports what breaks the gates. The state per component is what
// had happened before the current event, so the order of events decides, not the plan.
class GateChecker {
 public:
  explicit GateChecker(Analysis& analysis) : analysis_(analysis) {}

  void Apply(const LoadedEvent& loaded) {
    auto payload = loaded.payload();
    switch (payload.which()) {
      case schema::Payload::STEP_STARTED:
        StepStarted(loaded, payload.getStepStarted());
        break;
      case schema::Payload::STEP_SUCCEEDED:
        StepSucceeded(payload.getStepSucceeded().getRef());
        break;
      case schema::Payload::STEP_FAILED:
        Close(payload.getStepFailed().getRef());
        break;
      case schema::Payload::STEP_SKIPPED:
        Close(payload.getStepSkipped().getRef());
        break;
      case schema::Payload::STEP_OUTCOME_UNKNOWN:
        Close(payload.getStepOutcomeUnknown().getRef());
        break;
      case schema::Payload::VERIFICATION_PASSED:
        verified_.insert(ToString(payload.getVerificationPassed().getRef().getComponent()));
        break;
      case schema::Payload::COMPONENT_COMPLETED:
        ComponentCompleted(loaded, payload.getComponentCompleted());
        break;
      case schema::Payload::ROLLBACK_COMPLETED:
        completed_ = true;
        break;
      default:
        break;
    }
    last_position_ = loaded.position();
  }

  void Finish() {
    for (const auto& [attempt, position] : open_) {
      const auto& [key, number] = attempt;
      bool rerun = outcomes_.contains(key);
      Add("step-without-outcome", rerun ? "info" : "warning", key,
          fmt::format("step {} attempt {} started and has no recorded outcome, so the executor "
                      "stopped while it ran{}",
                      key, number,
                      rerun ? "; a later attempt recorded an outcome"
                            : "; `rollbook resume` records it as outcome-unknown unless its "
                              "action is idempotent"),
          {position});
    }
    if (!completed_) {
      Add("rollback-not-completed", "warning", analysis_.rollback.id,
          "the rollback has no rollbackCompleted event: it is still running, waits for an "
          "operator, or its executor stopped; continue it with `rollbook resume " +
              analysis_.rollback.id + "`",
          {last_position_});
    }
  }

 private:
  using Attempt = std::pair<std::string, uint32_t>;

  void StepStarted(const LoadedEvent& loaded, schema::StepStarted::Reader started) {
    std::string component = ToString(started.getRef().getComponent());
    std::string key = StepKey(started.getRef());
    std::string role = ToString(started.getRole());
    bool mutates = started.getMutates();
    const projections::StepState* planned_step =
        PlannedStep(component, ToString(started.getRef().getStep()));
    if (planned_step == nullptr) {
      Add("unplanned-step", "warning", key,
          "step " + key + " ran but is not in the rollback's recorded plan", {loaded.position()});
    } else if (role.empty()) {
      role = planned_step->role;
    }
    roles_[key] = role;
    open_[{key, started.getRef().getAttempt()}] = loaded.position();

    if (mutates && !started.getDryRun() && !backed_up_.contains(component)) {
      Add("mutation-without-backup", "error", key,
          fmt::format("step {} ({} {}) changes the system, but no backup step of component {} "
                      "had succeeded before it started in this rollback",
                      key, ToString(started.getDriver()), ToString(started.getAction()), component),
          {loaded.position()});
    }
  }

  const projections::StepState* PlannedStep(const std::string& component,
                                            const std::string& step) const {
    const projections::ComponentState* planned = analysis_.rollback.FindComponent(component);
    if (planned == nullptr) return nullptr;
    for (const projections::StepState& candidate : planned->steps) {
      if (candidate.name == step) return &candidate;
    }
    return nullptr;
  }

  void StepSucceeded(schema::StepRef::Reader ref) {
    std::string key = StepKey(ref);
    std::string component = ToString(ref.getComponent());
    if (roles_[key] == "backup") backed_up_.insert(component);
    if (roles_[key] == "verify") verified_.insert(component);
    Close(ref);
  }

  void Close(schema::StepRef::Reader ref) {
    std::string key = StepKey(ref);
    open_.erase({key, ref.getAttempt()});
    outcomes_.insert(key);
  }

  void ComponentCompleted(const LoadedEvent& loaded, schema::ComponentCompleted::Reader completed) {
    auto outcome = completed.getOutcome();
    bool claims_success =
        outcome == schema::Outcome::SUCCEEDED || outcome == schema::Outcome::PARTIALLY_SUCCEEDED;
    std::string component = ToString(completed.getComponent());
    if (!claims_success || verified_.contains(component)) return;
    Add("component-not-verified", "error", component,
        fmt::format("component {} completed as {} without a passed verification: no "
                    "verificationPassed event and no succeeded verify step came before it",
                    component, projections::OutcomeName(static_cast<int>(outcome))),
        {loaded.position()});
  }

  void Add(std::string rule, std::string severity, std::string subject, std::string message,
           std::vector<uint64_t> positions) {
    analysis_.findings.push_back(Finding{std::move(rule), std::move(severity), std::move(subject),
                                         std::move(message), std::move(positions)});
  }

  Analysis& analysis_;
  std::map<std::string, std::string> roles_;  // "component/step" -> role of its last start
  std::set<std::string> backed_up_;           // components with a succeeded backup step
  std::set<std::string> verified_;            // components with a passed verification
  std::map<Attempt, uint64_t> open_;          // started attempts without an outcome
  std::set<std::string> outcomes_;            // steps with at least one recorded outcome
  bool completed_ = false;
  uint64_t last_position_ = 0;
};

}  // namespace

void CollectStepEvents(const std::vector<LoadedEvent>& events, Analysis& analysis) {
  std::map<std::string, std::string> skip_requested_by;  // "component/step" -> operator
  for (const LoadedEvent& loaded : events) {
    auto payload = loaded.payload();
    switch (payload.which()) {
      case schema::Payload::STEP_FAILED:
        AddFailure(analysis, loaded);
        break;
      case schema::Payload::SKIP_REQUESTED: {
        auto command = payload.getSkipRequested();
        skip_requested_by[ToString(command.getComponent()) + "/" + ToString(command.getStep())] =
            loaded.event.actor;
        break;
      }
      case schema::Payload::STEP_SKIPPED: {
        auto skipped = payload.getStepSkipped();
        auto report = StepEvent<StepEventReport>(analysis, loaded, skipped.getRef());
        auto requested = skip_requested_by.find(StepKey(skipped.getRef()));
        report.actor =
            requested != skip_requested_by.end() ? requested->second : loaded.event.actor;
        report.reason = ToString(skipped.getReason());
        analysis.skipped.push_back(std::move(report));
        break;
      }
      case schema::Payload::STEP_OUTCOME_UNKNOWN: {
        auto unknown = payload.getStepOutcomeUnknown();
        auto report = StepEvent<StepEventReport>(analysis, loaded, unknown.getRef());
        report.actor = loaded.event.actor;
        report.reason = ToString(unknown.getReason());
        analysis.outcome_unknown.push_back(std::move(report));
        break;
      }
      case schema::Payload::CANCEL_REQUESTED:
        analysis.cancellations.push_back(CancellationReport{
            loaded.position(), OffsetMs(analysis.rollback, loaded.event.recorded_at_ns),
            loaded.event.actor, ToString(payload.getCancelRequested().getReason())});
        break;
      case schema::Payload::NOTIFICATION_SENT:
        AddNotification(analysis, loaded, true);
        break;
      case schema::Payload::NOTIFICATION_FAILED:
        AddNotification(analysis, loaded, false);
        break;
      case schema::Payload::ANNOTATION:
        AddNote(analysis, loaded);
        break;
      default:
        break;
    }
  }
}

void CheckGates(const std::vector<LoadedEvent>& events, Analysis& analysis) {
  GateChecker checker(analysis);
  for (const LoadedEvent& loaded : events) checker.Apply(loaded);
  checker.Finish();
  std::stable_sort(analysis.findings.begin(), analysis.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.positions < b.positions; });
}

}  // namespace rollbook::analyzer::internal
