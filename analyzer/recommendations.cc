// Recommendations from explicit rules. Each rule reads the events and the measured analysis and
// cites the positions of the events that triggered it. docs/rollback-procedures.md lists the
// same rules for readers of reports.
//
//   step-over-budget      a step took more than 1.5 times its budget
//   retries-same-host     2 or more retried attempts failed against the same host
//   repeated-attempts     one step failed 3 or more times
//   verification-flapped  a step's verification failed and a later attempt passed
//   notification-failed   a notification could not be delivered
//   outcome-unknown-step  a step's outcome was unknown after the executor stopped
//   rollback-over-budget  the whole rollback took longer than its budget
//   threshold-unrecovered a monitoring threshold was breached and had not recovered at the end
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <set>

#include "analyzer/analysis_internal.h"
#include "analyzer/format.h"

namespace rollbook::analyzer::internal {
namespace {

using ledger::ToString;

// A step is far over budget when it took more than this many times its budget.
constexpr double kFarOverBudget = 1.5;
constexpr size_t kRetriesPerHost = 2;
constexpr size_t kRepeatedFailures = 3;

int64_t PercentOver(int64_t duration_ms, uint64_t budget_ms) {
  return (duration_ms - static_cast<int64_t>(budget_ms)) * 100 / static_cast<int64_t>(budget_ms);
}

// Returns the positions of the step's outcome events.
std::vector<uint64_t> OutcomePositions(const std::vector<LoadedEvent>& events,
                                       const std::string& key) {
  std::vector<uint64_t> positions;
  for (const LoadedEvent& loaded : events) {
    auto payload = loaded.payload();
    if (payload.which() == schema::Payload::STEP_SUCCEEDED &&
        StepKey(payload.getStepSucceeded().getRef()) == key) {
      positions.push_back(loaded.position());
    } else if (payload.which() == schema::Payload::STEP_FAILED &&
               StepKey(payload.getStepFailed().getRef()) == key) {
      positions.push_back(loaded.position());
    }
  }
  return positions;
}

class Rules {
 public:
  Rules(const std::vector<LoadedEvent>& events, Analysis& analysis)
      : events_(events), analysis_(analysis) {}

  void StepOverBudget() {
    for (const ComponentReport& component : analysis_.components) {
      for (const StepReport& step : component.steps) {
        if (step.budget_ms == 0) continue;
        if (static_cast<double>(step.duration_ms) <=
            kFarOverBudget * static_cast<double>(step.budget_ms)) {
          continue;
        }
        std::string key = step.component + "/" + step.name;
        Add("step-over-budget", key,
            fmt::format("Step {} took {} against a budget of {} (+{}%). Find the slow part in the "
                        "timeline, then make the step faster or set a budget it can meet.",
                        key, FormatMs(step.duration_ms),
                        FormatMs(static_cast<int64_t>(step.budget_ms)),
                        PercentOver(step.duration_ms, step.budget_ms)),
            OutcomePositions(events_, key));
      }
    }
  }

  void RetriesSameHost() {
    std::map<std::string, std::vector<const FailureReport*>> by_host;
    for (const FailureReport& failure : analysis_.failures) {
      if (failure.will_retry && !failure.host.empty()) by_host[failure.host].push_back(&failure);
    }
    for (const auto& [host, failures] : by_host) {
      if (failures.size() < kRetriesPerHost) continue;
      std::set<std::string> steps;
      std::vector<uint64_t> positions;
      for (const FailureReport* failure : failures) {
        steps.insert(failure->component + "/" + failure->step);
        positions.push_back(failure->position);
      }
      Add("retries-same-host", host,
          fmt::format("{} failed attempts against host {} were retried (steps {}). Check that "
                      "host's health and rate limits before the next rollback, and give steps "
                      "that call it a longer backoff or timeout.",
                      failures.size(), host, JoinList({steps.begin(), steps.end()})),
          positions);
    }
  }

  void RepeatedAttempts() {
    std::map<std::string, std::vector<uint64_t>> by_step;
    std::vector<std::string> order;
    for (const FailureReport& failure : analysis_.failures) {
      std::string key = failure.component + "/" + failure.step;
      if (!by_step.contains(key)) order.push_back(key);
      by_step[key].push_back(failure.position);
    }
    for (const std::string& key : order) {
      const std::vector<uint64_t>& positions = by_step[key];
      if (positions.size() < kRepeatedFailures) continue;
      Add("repeated-attempts", key,
          fmt::format("Step {} failed {} times. Fix the cause named in its errors instead of "
                      "relying on retries, because each attempt adds its timeout and backoff to "
                      "the rollback.",
                      key, positions.size()),
          positions);
    }
  }

  void VerificationFlapped() {
    std::map<std::string, uint64_t> failed_at;  // "component/step" -> first failed verification
    std::set<std::string> reported;
    for (const LoadedEvent& loaded : events_) {
      auto payload = loaded.payload();
      std::string key;
      bool passed = false;
      if (payload.which() == schema::Payload::VERIFICATION_FAILED) {
        key = StepKey(payload.getVerificationFailed().getRef());
        failed_at.try_emplace(key, loaded.position());
        continue;
      }
      if (payload.which() == schema::Payload::VERIFICATION_PASSED) {
        key = StepKey(payload.getVerificationPassed().getRef());
        passed = true;
      }
      if (!passed || !failed_at.contains(key) || reported.contains(key)) continue;
      reported.insert(key);
      Add("verification-flapped", key,
          fmt::format("The verification of {} failed and a later attempt passed. The check "
                      "probably ran before the change took effect: add a wait or readiness "
                      "condition before it, so that retries do not hide a real failure.",
                      key),
          {failed_at[key], loaded.position()});
    }
  }

  void NotificationFailed() {
    std::map<std::string, std::vector<const NotificationReport*>> by_channel;
    for (const NotificationReport& notification : analysis_.notifications) {
      if (!notification.delivered) by_channel[notification.channel].push_back(&notification);
    }
    for (const auto& [channel, failures] : by_channel) {
      std::vector<uint64_t> positions;
      for (const NotificationReport* failure : failures) positions.push_back(failure->position);
      Add("notification-failed", channel,
          fmt::format("{} notification(s) to {} were not delivered (last error: {}), so people "
                      "may not have been told. Test the webhook and keep a second channel.",
                      failures.size(), channel, failures.back()->error),
          positions);
    }
  }

  void OutcomeUnknownStep() {
    for (const StepEventReport& unknown : analysis_.outcome_unknown) {
      std::string key = unknown.component + "/" + unknown.step;
      Add("outcome-unknown-step", key,
          fmt::format("The outcome of {} was unknown after the executor stopped, so the rollback "
                      "waited for an operator. Make the action idempotent, or add a check that "
                      "tells whether it ran, so that a resume can continue on its own.",
                      key),
          {unknown.position});
    }
  }

  void RollbackOverBudget() {
    const projections::RollbackState& rollback = analysis_.rollback;
    if (!analysis_.over_budget || rollback.completed_at_ns == 0) return;
    std::vector<uint64_t> positions;
    for (const LoadedEvent& loaded : events_) {
      if (loaded.event.type == "rollbackCompleted") positions.push_back(loaded.position());
    }
    Add("rollback-over-budget", rollback.id,
        fmt::format("The rollback took {} against its budget of {} (+{}%). Its critical path was "
                    "{}: shorten the slowest steps on it, or let independent components run in "
                    "parallel by removing `after:` edges they do not need.",
                    FormatMs(analysis_.duration_ms),
                    FormatMs(static_cast<int64_t>(rollback.budget_ms)),
                    PercentOver(analysis_.duration_ms, rollback.budget_ms),
                    JoinList(analysis_.critical_path)),
        positions);
  }

  void ThresholdUnrecovered() {
    std::map<std::pair<std::string, std::string>, uint64_t> breached;  // (probe, threshold)
    for (const AlertReport& alert : analysis_.monitor.alerts) {
      if (alert.breached) {
        breached[{alert.probe, alert.threshold}] = alert.position;
      } else {
        breached.erase({alert.probe, alert.threshold});
      }
    }
    for (const auto& [key, position] : breached) {
      Add("threshold-unrecovered", key.first,
          fmt::format("Probe {} breached its threshold \"{}\" and had not recovered when "
                      "monitoring ended. The rollback may not have removed the problem: "
                      "investigate before closing the incident.",
                      key.first, key.second),
          {position});
    }
  }

 private:
  void Add(std::string rule, std::string subject, std::string text,
           std::vector<uint64_t> positions) {
    std::sort(positions.begin(), positions.end());
    analysis_.recommendations.push_back(
        Recommendation{std::move(rule), std::move(subject), std::move(text), std::move(positions)});
  }

  const std::vector<LoadedEvent>& events_;
  Analysis& analysis_;
};

}  // namespace

void Recommend(const std::vector<LoadedEvent>& events, Analysis& analysis) {
  Rules rules(events, analysis);
  rules.StepOverBudget();
  rules.RetriesSameHost();
  rules.RepeatedAttempts();
  rules.VerificationFlapped();
  rules.NotificationFailed();
  rules.OutcomeUnknownStep();
  rules.RollbackOverBudget();
  rules.ThresholdUnrecovered();
}

}  // namespace rollbook::analyzer::internal
