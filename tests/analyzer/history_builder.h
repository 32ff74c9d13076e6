// Writes known rollback histories into a real ledger for analyzer tests, one verb per event:
//   HistoryBuilder rollback(ledger, clock, "rb-1");
//   rollback.Component("flags", {}, 60000, {{"backup", "flagd", "backup", "backup"}, ...})
//       .Request().At(10).Start().At(20).ComponentStarted("flags") ...
// The ledger must read its time from `clock` (ledger::Options::wall_clock_ns), so every event
// gets the time the test chose with At() and analyses are identical on every run. Any history
// can be written, also ones the orchestrator would never produce. A failed append fails the test.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/payload.h"

namespace rollbook::testing {

// 2026-12-04T10:00:00Z, the request time of every built rollback unless At() moves it.
inline constexpr int64_t kHistoryEpochNs = 1796378400LL * 1000000000LL;

class HistoryBuilder {
 public:
  struct Step {
    std::string name;
    std::string driver;
    std::string action;
    std::string role;  // "backup", "change", "verify" or "other"
    uint64_t budget_ms = 0;
  };

  HistoryBuilder(ledger::Ledger& ledger, std::atomic<int64_t>& clock, std::string id,
                 int64_t start_ns = kHistoryEpochNs)
      : ledger_(ledger), clock_(clock), id_(std::move(id)), start_ns_(start_ns) {}

  HistoryBuilder& Feature(std::string feature, std::string environment) {
    feature_ = std::move(feature);
    environment_ = std::move(environment);
    return *this;
  }
  HistoryBuilder& Scope(std::string scope) {
    scope_ = std::move(scope);
    return *this;
  }
  HistoryBuilder& Budget(uint64_t budget_ms) {
    budget_ms_ = budget_ms;
    return *this;
  }
  HistoryBuilder& Drill() {
    drill_ = true;
    return *this;
  }
  HistoryBuilder& Component(std::string name, std::vector<std::string> after, uint64_t budget_ms,
                            std::vector<Step> steps) {
    plan_.push_back({std::move(name), std::move(after), budget_ms, std::move(steps)});
    return *this;
  }

  // Sets the time of the next events to the request time plus `ms` milliseconds.
  HistoryBuilder& At(int64_t ms) {
    clock_ = start_ns_ + ms * 1000000;
    return *this;
  }

  HistoryBuilder& Request(const std::string& actor = "alice") {
    return Append(actor, [&](schema::Payload::Builder payload) {
      auto requested = payload.initRollbackRequested();
      requested.setRollbackId(id_);
      requested.setFeature(feature_);
      requested.setEnvironment(environment_);
      requested.setScope(scope_);
      requested.setReason("checkout error rate above 5%");
      requested.setDrill(drill_);
      requested.setBudgetMs(budget_ms_);
      requested.setRunbookPath("/srv/runbooks/checkout.yaml");
      requested.setRunbookSha256("9f2c");
      auto plan = requested.initPlan(static_cast<unsigned>(plan_.size()));
      for (unsigned c = 0; c < plan_.size(); ++c) {
        plan[c].setName(plan_[c].name);
        auto after = plan[c].initAfter(static_cast<unsigned>(plan_[c].after.size()));
        for (unsigned a = 0; a < plan_[c].after.size(); ++a) after.set(a, plan_[c].after[a]);
        plan[c].setBudgetMs(plan_[c].budget_ms);
        auto steps = plan[c].initSteps(static_cast<unsigned>(plan_[c].steps.size()));
        for (unsigned s = 0; s < plan_[c].steps.size(); ++s) {
          const Step& step = plan_[c].steps[s];
          steps[s].setName(step.name);
          steps[s].setDriver(step.driver);
          steps[s].setAction(step.action);
          steps[s].setRole(step.role);
          steps[s].setMutates(step.role == "change");
          steps[s].setBudgetMs(step.budget_ms);
        }
      }
    });
  }

  HistoryBuilder& Start() {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto started = payload.initRollbackStarted();
      started.setRollbackId(id_);
      started.setExecutor("pid 100 on test");
    });
  }

  HistoryBuilder& ComponentStarted(const std::string& component) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto started = payload.initComponentStarted();
      started.setRollbackId(id_);
      started.setComponent(component);
    });
  }

  HistoryBuilder& StepStarted(const std::string& component, const std::string& step,
                              uint32_t attempt = 1) {
    const Step& planned = Planned(component, step);
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto started = payload.initStepStarted();
      Ref(started.initRef(), component, step, attempt);
      started.setDriver(planned.driver);
      started.setAction(planned.action);
      started.setRole(planned.role);
      started.setMutates(planned.role == "change");
    });
  }

  HistoryBuilder& StepSucceeded(const std::string& component, const std::string& step,
                                int64_t duration_ms, uint32_t attempt = 1) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto succeeded = payload.initStepSucceeded();
      Ref(succeeded.initRef(), component, step, attempt);
      succeeded.setDurationNs(duration_ms * 1000000);
      succeeded.setSummary(step + " done");
    });
  }

  HistoryBuilder& StepFailed(const std::string& component, const std::string& step,
                             uint32_t attempt, bool will_retry, const std::string& host = "",
                             const std::string& error = "connection refused") {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto failed = payload.initStepFailed();
      Ref(failed.initRef(), component, step, attempt);
      failed.setDurationNs(40 * 1000000);
      failed.setError(error);
      failed.setErrorCode("unavailable");
      failed.setWillRetry(will_retry);
      failed.setHost(host);
    });
  }

  HistoryBuilder& StepRetrying(const std::string& component, const std::string& step,
                               uint32_t next_attempt) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto retrying = payload.initStepRetrying();
      Ref(retrying.initRef(), component, step, next_attempt);
      retrying.setBackoffMs(100);
      retrying.setPreviousError("connection refused");
    });
  }

  HistoryBuilder& StepOutcomeUnknown(const std::string& component, const std::string& step,
                                     uint32_t attempt = 1) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto unknown = payload.initStepOutcomeUnknown();
      Ref(unknown.initRef(), component, step, attempt);
      unknown.setReason("the step started but its outcome was not recorded");
    });
  }

  HistoryBuilder& StepSkipped(const std::string& component, const std::string& step,
                              const std::string& reason) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto skipped = payload.initStepSkipped();
      Ref(skipped.initRef(), component, step, 1);
      skipped.setReason(reason);
    });
  }

  HistoryBuilder& Backup(const std::string& component, const std::string& step) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto backup = payload.initBackupCreated();
      backup.setBackupId("bk-" + component);
      backup.setSha256("00");
      backup.setSizeBytes(128);
      backup.setDriver(Planned(component, step).driver);
      backup.setOrigin(component + ".json");
      backup.setRollbackId(id_);
      backup.setComponent(component);
      backup.setStep(step);
      backup.setFormat("file");
    });
  }

  HistoryBuilder& Change(const std::string& component, const std::string& step) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto change = payload.initChangeApplied();
      Ref(change.initRef(), component, step, 1);
      change.setTarget(component);
      change.setBefore("on");
      change.setAfter("off");
    });
  }

  HistoryBuilder& Verification(const std::string& component, const std::string& step, bool passed,
                               uint32_t attempt = 1) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto check = passed ? payload.initVerificationPassed() : payload.initVerificationFailed();
      Ref(check.initRef(), component, step, attempt);
      check.setCheck(component + " is off");
      check.setExpected("off");
      check.setActual(passed ? "off" : "on");
    });
  }

  HistoryBuilder& ComponentCompleted(const std::string& component, schema::Outcome outcome) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto completed = payload.initComponentCompleted();
      completed.setRollbackId(id_);
      completed.setComponent(component);
      completed.setOutcome(outcome);
    });
  }

  HistoryBuilder& Completed(schema::Outcome outcome, const std::string& summary) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto completed = payload.initRollbackCompleted();
      completed.setRollbackId(id_);
      completed.setOutcome(outcome);
      completed.setSummary(summary);
    });
  }

  HistoryBuilder& Note(const std::string& actor, const std::string& text) {
    return Append(
        actor, [&](schema::Payload::Builder payload) { payload.initAnnotation().setText(text); });
  }

  HistoryBuilder& Cancel(const std::string& actor, const std::string& reason) {
    return Append(actor, [&](schema::Payload::Builder payload) {
      auto cancel = payload.initCancelRequested();
      cancel.setRollbackId(id_);
      cancel.setReason(reason);
    });
  }

  HistoryBuilder& Notification(const std::string& channel, const std::string& trigger,
                               const std::string& error) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto notification =
          error.empty() ? payload.initNotificationSent() : payload.initNotificationFailed();
      notification.setRollbackId(id_);
      notification.setChannel(channel);
      notification.setTrigger(trigger);
      notification.setStatusCode(error.empty() ? 200 : 0);
      notification.setAttempts(error.empty() ? 1 : 5);
      notification.setError(error);
    });
  }

  HistoryBuilder& Threshold(const std::string& probe, bool breached, double value) {
    return Append("rollbook", [&](schema::Payload::Builder payload) {
      auto decision = breached ? payload.initThresholdBreached() : payload.initThresholdRecovered();
      decision.setRollbackId(id_);
      decision.setProbe(probe);
      decision.setThreshold("maximum 250");
      decision.setValue(value);
      decision.setDecision(breached ? "latency_ms above maximum 250"
                                    : "latency_ms within maximum 250");
    });
  }

  // Runs one component through backup, change and verify, each step taking `step_ms`.
  HistoryBuilder& RunComponent(const std::string& component, int64_t at_ms, int64_t step_ms) {
    At(at_ms).ComponentStarted(component);
    int64_t t = at_ms;
    for (const Step& step : PlannedComponent(component).steps) {
      At(t).StepStarted(component, step.name);
      t += step_ms;
      At(t);
      if (step.role == "backup") Backup(component, step.name);
      if (step.role == "change") Change(component, step.name);
      if (step.role == "verify") Verification(component, step.name, true);
      StepSucceeded(component, step.name, step_ms);
    }
    return At(t).ComponentCompleted(component, schema::Outcome::SUCCEEDED);
  }

  uint64_t last_position() const { return last_position_; }

 private:
  struct PlannedComponentSpec {
    std::string name;
    std::vector<std::string> after;
    uint64_t budget_ms = 0;
    std::vector<Step> steps;
  };

  template <typename Fill>
  HistoryBuilder& Append(const std::string& actor, Fill&& fill) {
    ledger::AppendRequest request;
    request.stream = id_;
    request.actor = actor;
    request.correlation_id = id_;
    request.events.push_back(ledger::MakeEvent(std::forward<Fill>(fill)));
    auto appended = ledger_.Append(request);
    EXPECT_TRUE(appended.ok()) << appended.status().ToString();
    if (appended.ok()) last_position_ = appended->last_position;
    return *this;
  }

  void Ref(schema::StepRef::Builder ref, const std::string& component, const std::string& step,
           uint32_t attempt) {
    ref.setRollbackId(id_);
    ref.setComponent(component);
    ref.setStep(step);
    ref.setAttempt(attempt);
  }

  const PlannedComponentSpec& PlannedComponent(const std::string& component) const {
    for (const auto& candidate : plan_) {
      if (candidate.name == component) return candidate;
    }
    static const PlannedComponentSpec kMissing;
    return kMissing;
  }

  const Step& Planned(const std::string& component, const std::string& step) const {
    for (const Step& candidate : PlannedComponent(component).steps) {
      if (candidate.name == step) return candidate;
    }
    static const Step kUnplanned{"", "exec", "run", "change", 0};
    return kUnplanned;
  }

  ledger::Ledger& ledger_;
  std::atomic<int64_t>& clock_;
  std::string id_;
  int64_t start_ns_;
  std::string feature_ = "checkout";
  std::string environment_ = "production";
  std::string scope_ = "full";
  uint64_t budget_ms_ = 0;
  bool drill_ = false;
  std::vector<PlannedComponentSpec> plan_;
  uint64_t last_position_ = 0;
};

}  // namespace rollbook::testing
