// Appends the events of a rollback to a real ledger, one verb per event, for projection and
// HTTP tests:
//   RollbackScript(ledger, "rb-1", "production").Component("flags", {{"flip", "flagd"}})
//       .Request().Start().StartComponent("flags").StepSucceeded("flags", "flip", 40)
//       .CompleteComponent("flags", schema::Outcome::SUCCEEDED, 50)
//       .Complete(schema::Outcome::SUCCEEDED, 60);
// Every event goes to the stream named after the rollback, with the rollback id as its
// correlation id. A failed append fails the current test.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/payload.h"

namespace rollbook::testing {

class RollbackScript {
 public:
  struct Step {
    std::string name;
    std::string driver;
  };

  RollbackScript(ledger::Ledger& ledger, std::string id, std::string environment,
                 std::string actor = "alice")
      : ledger_(ledger),
        id_(std::move(id)),
        environment_(std::move(environment)),
        actor_(std::move(actor)) {}

  RollbackScript& Drill() {
    drill_ = true;
    return *this;
  }
  RollbackScript& DryRun() {
    dry_run_ = true;
    return *this;
  }
  RollbackScript& Component(std::string name, std::vector<Step> steps) {
    plan_.emplace_back(std::move(name), std::move(steps));
    return *this;
  }

  RollbackScript& Request() {
    return Append([&](schema::Payload::Builder payload) {
      auto requested = payload.initRollbackRequested();
      requested.setRollbackId(id_);
      requested.setFeature("checkout");
      requested.setEnvironment(environment_);
      requested.setScope("all");
      requested.setMode("restore");
      requested.setReason("error rate above 5%");
      requested.setDrill(drill_);
      requested.setDryRun(dry_run_);
      auto plan = requested.initPlan(static_cast<unsigned>(plan_.size()));
      for (unsigned c = 0; c < plan_.size(); ++c) {
        plan[c].setName(plan_[c].first);
        auto steps = plan[c].initSteps(static_cast<unsigned>(plan_[c].second.size()));
        for (unsigned s = 0; s < plan_[c].second.size(); ++s) {
          steps[s].setName(plan_[c].second[s].name);
          steps[s].setDriver(plan_[c].second[s].driver);
          steps[s].setRole("change");
          steps[s].setMutates(true);
        }
      }
    });
  }

  RollbackScript& Start() {
    return Append([&](schema::Payload::Builder payload) {
      auto started = payload.initRollbackStarted();
      started.setRollbackId(id_);
      started.setExecutor("test");
    });
  }

  RollbackScript& StartComponent(const std::string& component) {
    return Append([&](schema::Payload::Builder payload) {
      auto started = payload.initComponentStarted();
      started.setRollbackId(id_);
      started.setComponent(component);
    });
  }

  RollbackScript& StepStarted(const std::string& component, const std::string& step,
                              uint32_t attempt = 1) {
    return Append([&](schema::Payload::Builder payload) {
      auto started = payload.initStepStarted();
      FillRef(started.initRef(), component, step, attempt);
      started.setDriver(DriverOf(component, step));
    });
  }

  RollbackScript& StepSucceeded(const std::string& component, const std::string& step,
                                int64_t duration_ms, uint32_t attempt = 1) {
    return Append([&](schema::Payload::Builder payload) {
      auto succeeded = payload.initStepSucceeded();
      FillRef(succeeded.initRef(), component, step, attempt);
      succeeded.setDurationNs(duration_ms * 1000000);
      succeeded.setSummary("done");
    });
  }

  RollbackScript& StepFailed(const std::string& component, const std::string& step, bool will_retry,
                             uint32_t attempt = 1) {
    return Append([&](schema::Payload::Builder payload) {
      auto failed = payload.initStepFailed();
      FillRef(failed.initRef(), component, step, attempt);
      failed.setDurationNs(5000000);
      failed.setError("connection refused");
      failed.setErrorCode("unavailable");
      failed.setWillRetry(will_retry);
    });
  }

  RollbackScript& ChangeApplied(const std::string& component, const std::string& step,
                                const std::string& target, const std::string& before,
                                const std::string& after) {
    return Append([&](schema::Payload::Builder payload) {
      auto change = payload.initChangeApplied();
      FillRef(change.initRef(), component, step, 1);
      change.setTarget(target);
      change.setBefore(before);
      change.setAfter(after);
      change.setSummary(target + ": " + before + " -> " + after);
    });
  }

  RollbackScript& CompleteComponent(const std::string& component, schema::Outcome outcome,
                                    int64_t duration_ms) {
    return Append([&](schema::Payload::Builder payload) {
      auto completed = payload.initComponentCompleted();
      completed.setRollbackId(id_);
      completed.setComponent(component);
      completed.setOutcome(outcome);
      completed.setDurationNs(duration_ms * 1000000);
    });
  }

  RollbackScript& Complete(schema::Outcome outcome, int64_t duration_ms) {
    return Append([&](schema::Payload::Builder payload) {
      auto completed = payload.initRollbackCompleted();
      completed.setRollbackId(id_);
      completed.setOutcome(outcome);
      completed.setDurationNs(duration_ms * 1000000);
      completed.setSummary("finished");
    });
  }

  RollbackScript& Note(const std::string& text, const std::string& component = "") {
    return Append([&](schema::Payload::Builder payload) {
      auto note = payload.initAnnotation();
      note.setText(text);
      note.setComponent(component);
    });
  }

  // Runs a whole one-step-per-component rollback that ends with `outcome`.
  RollbackScript& RunToCompletion(schema::Outcome outcome, int64_t duration_ms) {
    Request().Start();
    for (const auto& [component, steps] : plan_) {
      StartComponent(component);
      for (const auto& step : steps) {
        StepStarted(component, step.name);
        if (outcome == schema::Outcome::SUCCEEDED) {
          ChangeApplied(component, step.name, component + "/" + step.name, "on", "off");
          StepSucceeded(component, step.name, duration_ms / 4);
        } else {
          StepFailed(component, step.name, /*will_retry=*/false);
        }
      }
      CompleteComponent(component, outcome, duration_ms / 2);
    }
    return Complete(outcome, duration_ms);
  }

  uint64_t last_position() const { return last_position_; }

 private:
  template <typename Fill>
  RollbackScript& Append(Fill&& fill) {
    ledger::AppendRequest request;
    request.stream = id_;
    request.actor = actor_;
    request.correlation_id = id_;
    request.events.push_back(ledger::MakeEvent(std::forward<Fill>(fill)));
    auto appended = ledger_.Append(request);
    EXPECT_TRUE(appended.ok()) << appended.status().ToString();
    if (appended.ok()) last_position_ = appended->last_position;
    return *this;
  }

  void FillRef(schema::StepRef::Builder ref, const std::string& component, const std::string& step,
               uint32_t attempt) {
    ref.setRollbackId(id_);
    ref.setComponent(component);
    ref.setStep(step);
    ref.setAttempt(attempt);
  }

  std::string DriverOf(const std::string& component, const std::string& step) const {
    for (const auto& [name, steps] : plan_) {
      for (const auto& candidate : steps) {
        if (name == component && candidate.name == step) return candidate.driver;
      }
    }
    return "";
  }

  ledger::Ledger& ledger_;
  std::string id_;
  std::string environment_;
  std::string actor_;
  bool drill_ = false;
  bool dry_run_ = false;
  std::vector<std::pair<std::string, std::vector<Step>>> plan_;
  uint64_t last_position_ = 0;
};

}  // namespace rollbook::testing
