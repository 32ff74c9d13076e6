#include "commands/rollback_run.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <nlohmann/json.hpp>

#include "commands/notifier.h"

namespace rollbook::commands {
namespace {

using projections::ComponentState;
using projections::ComponentStatus;
using projections::RollbackState;
using projections::StepState;
using projections::StepStatus;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StepRole RoleFromName(const std::string& name) {
  if (name == "backup") return StepRole::kBackup;
  if (name == "change") return StepRole::kChange;
  if (name == "verify") return StepRole::kVerify;
  return StepRole::kOther;
}

schema::Outcome ToOutcome(ComponentStatus status) {
  switch (status) {
    case ComponentStatus::kSucceeded:
      return schema::Outcome::SUCCEEDED;
    case ComponentStatus::kPartial:
      return schema::Outcome::PARTIALLY_SUCCEEDED;
    case ComponentStatus::kCancelled:
      return schema::Outcome::CANCELLED;
    case ComponentStatus::kSkipped:
      return schema::Outcome::SKIPPED;
    default:
      return schema::Outcome::FAILED;
  }
}

// Runs the steps of one component. Owns nothing shared except the writer and control.
class ComponentRunner {
 public:
  ComponentRunner(const RunEnvironment& environment, const RollbackState& rollback,
                  ComponentState& component, RollbackEventWriter& writer, RunControl& control,
                  Redactor& redactor)
      : environment_(environment),
        rollback_(rollback),
        component_(component),
        writer_(writer),
        control_(control),
        redactor_(redactor) {}

  ComponentStatus Run() {
    if (component_.status == ComponentStatus::kSucceeded) return component_.status;
    int64_t started = NowNs();
    if (!Append([&](schema::Payload::Builder p) {
          auto event = p.initComponentStarted();
          event.setRollbackId(rollback_.id);
          event.setComponent(component_.name);
        })) {
      return ComponentStatus::kFailed;
    }

    ComponentStatus status = RunSteps();
    if (status == ComponentStatus::kPending) return status;  // interrupted by a stop
    Append([&](schema::Payload::Builder p) {
      auto event = p.initComponentCompleted();
      event.setRollbackId(rollback_.id);
      event.setComponent(component_.name);
      event.setOutcome(ToOutcome(status));
      event.setDurationNs(NowNs() - started);
    });
    return status;
  }

 private:
  template <typename Fill>
  bool Append(Fill&& fill) {
    auto appended = writer_.Append(std::forward<Fill>(fill));
    if (!appended.ok()) {
      spdlog::error("rollback {}: cannot append to the ledger: {}", rollback_.id,
                    appended.status().ToString());
      ledger_failed_ = true;
      return false;
    }
    return true;
  }

  ComponentStatus RunSteps() {
    bool backup_done = false;
    bool any_skipped = false;
    for (StepState& step : component_.steps) {
      if (step.status == StepStatus::kSucceeded) {
        backup_done = backup_done || step.role == "backup";
        continue;
      }
      if (step.status == StepStatus::kSkipped) {
        any_skipped = true;
        continue;
      }
      if (control_.stopped()) return ComponentStatus::kPending;
      if (control_.cancelled()) return ComponentStatus::kCancelled;

      // A step that started before a crash and has no outcome: only idempotent steps re-run.
      if (step.status == StepStatus::kRunning && !step.idempotent) {
        Append([&](schema::Payload::Builder p) {
          auto event = p.initStepOutcomeUnknown();
          SetStepRef(event.initRef(), rollback_.id, component_.name, step.name, step.attempts);
          event.setReason("the step started but its outcome was not recorded, and " + step.driver +
                          " " + step.action + " is not idempotent");
        });
        step.status = StepStatus::kOutcomeUnknown;
      }
      if (step.status == StepStatus::kOutcomeUnknown) {
        auto decision = control_.AwaitDecision(component_.name, step.name);
        if (!decision)
          return control_.stopped() ? ComponentStatus::kPending : ComponentStatus::kCancelled;
        if (decision->kind == OperatorDecision::Kind::kSkip) {
          RecordSkip(step, *decision);
          any_skipped = true;
          continue;
        }
      }

      if (step.mutates && !backup_done) {
        FailGate(step);
        return ComponentStatus::kFailed;
      }
      if (!RunStepWithRetries(step)) {
        if (control_.stopped() && step.status != StepStatus::kFailed)
          return ComponentStatus::kPending;
        return control_.cancelled() ? ComponentStatus::kCancelled : ComponentStatus::kFailed;
      }
      if (ledger_failed_) return ComponentStatus::kFailed;
      backup_done = backup_done || step.role == "backup";
    }
    return any_skipped ? ComponentStatus::kPartial : ComponentStatus::kSucceeded;
  }

  void RecordSkip(StepState& step, const OperatorDecision& decision) {
    Append([&](schema::Payload::Builder p) {
      auto event = p.initStepSkipped();
      SetStepRef(event.initRef(), rollback_.id, component_.name, step.name, step.attempts);
      event.setReason(decision.reason.empty()
                          ? "skipped by " + decision.actor
                          : decision.reason + " (skipped by " + decision.actor + ")");
    });
    step.status = StepStatus::kSkipped;
  }

  void FailGate(StepState& step) {
    std::string error = "gate: mutating step " + component_.name + "/" + step.name +
                        " needs a successful backup step earlier in component " + component_.name +
                        " in this rollback";
    Append([&](schema::Payload::Builder p) {
      auto event = p.initStepFailed();
      SetStepRef(event.initRef(), rollback_.id, component_.name, step.name, step.attempts + 1);
      event.setError(error);
      event.setErrorCode("failed_precondition");
    });
    step.status = StepStatus::kFailed;
  }

  // Runs attempts until one succeeds, retries run out, or the rollback is cancelled.
  bool RunStepWithRetries(StepState& step) {
    const Driver* driver = environment_.drivers->Find(step.driver);
    uint32_t attempt = step.attempts;
    uint64_t backoff_ms = step.backoff_ms;
    for (uint32_t tries = 0;; ++tries) {
      ++attempt;
      step.attempts = attempt;
      StepOutcome outcome = RunAttempt(driver, step, attempt);
      if (ledger_failed_) return false;
      if (outcome.status.ok()) {
        step.status = StepStatus::kSucceeded;
        return true;
      }
      bool will_retry = tries < step.retries && !control_.cancelled() && !control_.stopped() &&
                        outcome.status.code() != StatusCode::kInvalidArgument;
      RecordFailure(step, attempt, outcome, will_retry);
      if (!will_retry) {
        step.status = StepStatus::kFailed;
        return false;
      }
      Append([&](schema::Payload::Builder p) {
        auto event = p.initStepRetrying();
        SetStepRef(event.initRef(), rollback_.id, component_.name, step.name, attempt + 1);
        event.setBackoffMs(backoff_ms);
        event.setPreviousError(redactor_.Apply(outcome.status.message()));
      });
      spdlog::warn("rollback {}: retrying {}/{} in {} ms after: {}", rollback_.id, component_.name,
                   step.name, backoff_ms, redactor_.Apply(outcome.status.message()));
      if (!control_.SleepUnlessCancelled(std::chrono::milliseconds(backoff_ms))) return false;
      backoff_ms = std::min<uint64_t>(backoff_ms * 2, 5 * 60 * 1000);
    }
  }

  StepOutcome RunAttempt(const Driver* driver, StepState& step, uint32_t attempt) {
    StepOutcome outcome;
    nlohmann::json params;
    try {
      params = nlohmann::json::parse(step.params_json.empty() ? "{}" : step.params_json);
    } catch (const nlohmann::json::exception& e) {
      outcome.status =
          InvalidArgument("step parameters are not valid JSON: " + std::string(e.what()));
    }
    StepContext context;
    context.rollback_id = rollback_.id;
    context.component = component_.name;
    context.step = step.name;
    context.action = step.action;
    context.role = RoleFromName(step.role);
    context.dry_run = rollback_.dry_run;
    context.timeout = std::chrono::milliseconds(step.timeout_ms == 0 ? 60000 : step.timeout_ms);
    context.target_time_ns = rollback_.target_time_ns;
    context.backups = environment_.backups;
    context.redactor = &redactor_;
    context.params = &params;  // secret references unresolved: safe to describe
    std::string description = driver == nullptr ? "" : redactor_.Apply(driver->Describe(context));

    int64_t started = NowNs();
    Append([&](schema::Payload::Builder p) {
      auto event = p.initStepStarted();
      SetStepRef(event.initRef(), rollback_.id, component_.name, step.name, attempt);
      event.setDriver(step.driver);
      event.setAction(step.action);
      event.setRole(step.role);
      event.setMutates(step.mutates);
      event.setIdempotent(step.idempotent);
      event.setDryRun(rollback_.dry_run);
      event.setTimeoutMs(step.timeout_ms);
    });
    step.status = StepStatus::kRunning;
    if (ledger_failed_) return outcome;

    if (driver == nullptr) {
      outcome.status = InvalidArgument("unknown driver '" + step.driver + "'");
    }
    nlohmann::json resolved;
    if (outcome.status.ok()) {
      auto secrets = ResolveSecrets(params, redactor_);
      if (secrets.ok()) {
        resolved = std::move(secrets).value();
      } else {
        outcome.status = secrets.status();
      }
    }
    if (outcome.status.ok()) {
      InMemoryBackupCatalog catalog =
          environment_.catalog ? environment_.catalog() : InMemoryBackupCatalog();
      context.params = &resolved;
      context.catalog = &catalog;
      outcome = const_cast<Driver*>(driver)->Run(context);
    }
    int64_t duration = NowNs() - started;

    Status recorded =
        writer_.AppendStepRecords(component_.name, step.name, attempt, outcome.result, redactor_);
    if (!recorded.ok()) {
      spdlog::error("rollback {}: cannot record step results: {}", rollback_.id,
                    recorded.ToString());
      ledger_failed_ = true;
      return outcome;
    }
    if (outcome.status.ok()) {
      Append([&](schema::Payload::Builder p) {
        auto event = p.initStepSucceeded();
        SetStepRef(event.initRef(), rollback_.id, component_.name, step.name, attempt);
        event.setDurationNs(duration);
        event.setSummary(redactor_.Apply(outcome.result.summary));
        SetOutput(event.initOutput(), outcome.result.output, redactor_);
      });
    } else {
      last_duration_ns_ = duration;
    }
    return outcome;
  }

  void RecordFailure(const StepState& step, uint32_t attempt, const StepOutcome& outcome,
                     bool will_retry) {
    Append([&](schema::Payload::Builder p) {
      auto event = p.initStepFailed();
      SetStepRef(event.initRef(), rollback_.id, component_.name, step.name, attempt);
      event.setDurationNs(last_duration_ns_);
      event.setError(redactor_.Apply(outcome.status.message()));
      event.setErrorCode(std::string(StatusCodeName(outcome.status.code())));
      SetOutput(event.initOutput(), outcome.result.output, redactor_);
      event.setWillRetry(will_retry);
      event.setHost(outcome.result.host);
    });
    spdlog::error("rollback {}: step {}/{} attempt {} failed: {}", rollback_.id, component_.name,
                  step.name, attempt, redactor_.Apply(outcome.status.message()));
  }

  const RunEnvironment& environment_;
  const RollbackState& rollback_;
  ComponentState& component_;
  RollbackEventWriter& writer_;
  RunControl& control_;
  Redactor& redactor_;
  bool ledger_failed_ = false;
  int64_t last_duration_ns_ = 0;
};

// Applies an operator's retry or skip to the folded state before the run starts.
void ApplyDecision(RollbackState& state, const OperatorDecision& decision,
                   RollbackEventWriter& writer, std::vector<OperatorDecision>& pending) {
  ComponentState* component = state.FindComponent(decision.component);
  if (component == nullptr) return;
  StepState* step = component->FindStep(decision.step);
  if (step == nullptr) return;
  if (step->status == StepStatus::kOutcomeUnknown) {
    pending.push_back(decision);  // the component runner asks for it
    return;
  }
  if (decision.kind == OperatorDecision::Kind::kRetry) {
    step->status = StepStatus::kPending;
  } else {
    auto appended = writer.Append([&](schema::Payload::Builder p) {
      auto event = p.initStepSkipped();
      SetStepRef(event.initRef(), state.id, component->name, step->name, step->attempts);
      event.setReason(decision.reason + " (skipped by " + decision.actor + ")");
    });
    if (appended.ok()) step->status = StepStatus::kSkipped;
  }
  // Later steps and the component itself run again from where the decision left them.
  component->status = ComponentStatus::kPending;
  bool after = false;
  for (StepState& other : component->steps) {
    if (&other == step) {
      after = true;
      continue;
    }
    if (after && other.status != StepStatus::kSucceeded) other.status = StepStatus::kPending;
  }
}

// Builds the rollback's notifier from the runbook's targets; each result becomes an event.
// A target whose URL cannot be resolved is recorded as a failed notification and left out.
std::unique_ptr<Notifier> MakeNotifier(const RollbackState& state, RollbackEventWriter& writer,
                                       Redactor& redactor) {
  nlohmann::json targets = nlohmann::json::parse(state.notifications_json, nullptr, false);
  if (!targets.is_array() || targets.empty()) return nullptr;
  auto record = [&writer, &redactor, id = state.id](const NotificationOutcome& outcome) {
    (void)writer.Append([&](schema::Payload::Builder p) {
      auto event = outcome.delivered() ? p.initNotificationSent() : p.initNotificationFailed();
      event.setRollbackId(id);
      event.setChannel(outcome.target);
      event.setTrigger(outcome.trigger);
      event.setStatusCode(static_cast<uint32_t>(outcome.http_status));
      event.setAttempts(static_cast<uint32_t>(outcome.attempts));
      event.setError(redactor.Apply(outcome.error));
    });
  };
  std::vector<NotifierTarget> resolved;
  for (const auto& target : targets) {
    NotifierTarget notifier_target;
    notifier_target.name = target.value("name", "notification");
    notifier_target.kind = target.value("kind", "webhook");
    notifier_target.triggers = target.value("on", std::vector<std::string>{});
    auto url = ResolveSecrets(target.value("url", ""), redactor);
    if (!url.ok() || !url->is_string() || url->get<std::string>().empty()) {
      std::string error = url.ok() ? "the URL is empty" : url.status().message();
      spdlog::warn("rollback {}: notification target {} left out: {}", state.id,
                   notifier_target.name, error);
      record(NotificationOutcome{notifier_target.name, "start", 0, 0, error});
      continue;
    }
    notifier_target.url = url->get<std::string>();
    resolved.push_back(std::move(notifier_target));
  }
  if (resolved.empty()) return nullptr;
  return std::make_unique<Notifier>(std::move(resolved), record);
}

void Notify(Notifier* notifier, const RollbackState& state, const std::string& trigger,
            const std::string& text, const std::string& outcome) {
  if (notifier == nullptr) return;
  notifier->Enqueue(trigger, text,
                    {{"rollback_id", state.id},
                     {"feature", state.feature},
                     {"environment", state.environment},
                     {"scope", state.scope},
                     {"outcome", outcome}});
}

schema::Outcome RollbackOutcome(const std::vector<ComponentStatus>& statuses, bool cancelled) {
  size_t succeeded = 0;
  size_t partial = 0;
  for (ComponentStatus status : statuses) {
    if (status == ComponentStatus::kSucceeded) ++succeeded;
    if (status == ComponentStatus::kPartial) ++partial;
  }
  if (cancelled) return schema::Outcome::CANCELLED;
  if (succeeded == statuses.size()) return schema::Outcome::SUCCEEDED;
  if (succeeded == 0 && partial == 0) return schema::Outcome::FAILED;
  return schema::Outcome::PARTIALLY_SUCCEEDED;
}

}  // namespace

void RunControl::Cancel() {
  cancelled_.store(true, std::memory_order_release);
  { std::lock_guard<std::mutex> lock(mutex_); }
  changed_.notify_all();
}

void RunControl::Stop() {
  stopped_.store(true, std::memory_order_release);
  { std::lock_guard<std::mutex> lock(mutex_); }
  changed_.notify_all();
}

void RunControl::Decide(OperatorDecision decision) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    decisions_.push_back(std::move(decision));
  }
  changed_.notify_all();
}

std::optional<OperatorDecision> RunControl::AwaitDecision(const std::string& component,
                                                          const std::string& step) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    for (auto it = decisions_.begin(); it != decisions_.end(); ++it) {
      if (it->component == component && it->step == step) {
        OperatorDecision decision = std::move(*it);
        decisions_.erase(it);
        return decision;
      }
    }
    if (cancelled() || stopped()) return std::nullopt;
    changed_.wait(lock);
  }
}

bool RunControl::SleepUnlessCancelled(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, duration, [&] { return cancelled() || stopped(); });
  return !cancelled() && !stopped();
}

void RunRollback(const RunEnvironment& environment, RollbackState state, RunControl& control,
                 std::optional<OperatorDecision> decision) {
  RollbackEventWriter writer(*environment.ledger, state.id, state.requested_position,
                             environment.executor_actor);
  bool first_run = state.started_at_ns == 0;
  std::vector<OperatorDecision> waiting;
  if (decision) ApplyDecision(state, *decision, writer, waiting);
  for (auto& pending : waiting) control.Decide(pending);

  auto started = writer.Append([&](schema::Payload::Builder p) {
    auto event = p.initRollbackStarted();
    event.setRollbackId(state.id);
    event.setExecutor(environment.executor_description);
  });
  if (!started.ok()) {
    spdlog::error("rollback {}: cannot start: {}", state.id, started.status().ToString());
    return;
  }
  spdlog::info("rollback {} {} ({} components, scope {}, environment {})", state.id,
               first_run ? "started" : "resumed", state.components.size(), state.scope,
               state.environment);
  // Schedule components as their dependencies finish; independent ones run in parallel.
  Redactor redactor;
  std::unique_ptr<Notifier> notifier =
      state.dry_run ? nullptr : MakeNotifier(state, writer, redactor);
  if (first_run) {
    Notify(notifier.get(), state, "start",
           "Rollback " + state.id + " of " + state.feature + " in " + state.environment +
               " started by " + state.actor + ": " + state.reason,
           "running");
  }
  std::map<std::string, ComponentStatus> finished;
  std::map<std::string, std::future<ComponentStatus>> running;
  for (const auto& component : state.components) {
    if (component.status == ComponentStatus::kSucceeded)
      finished[component.name] = component.status;
  }
  while (finished.size() < state.components.size()) {
    bool launched = false;
    for (ComponentState& component : state.components) {
      if (finished.count(component.name) || running.count(component.name)) continue;
      bool ready = true;
      bool blocked = false;
      for (const std::string& dependency : component.after) {
        auto done = finished.find(dependency);
        if (done == finished.end()) {
          if (state.FindComponent(dependency) != nullptr) ready = false;
        } else if (done->second != ComponentStatus::kSucceeded) {
          blocked = true;
        }
      }
      if (!ready || control.stopped()) continue;
      if (blocked || control.cancelled()) {
        ComponentStatus status =
            control.cancelled() ? ComponentStatus::kCancelled : ComponentStatus::kSkipped;
        (void)writer.Append([&](schema::Payload::Builder p) {
          auto event = p.initComponentCompleted();
          event.setRollbackId(state.id);
          event.setComponent(component.name);
          event.setOutcome(ToOutcome(status));
        });
        finished[component.name] = status;
        launched = true;
        continue;
      }
      running[component.name] = std::async(std::launch::async, [&, component_ptr = &component] {
        return ComponentRunner(environment, state, *component_ptr, writer, control, redactor).Run();
      });
      launched = true;
    }
    if (launched) continue;
    if (running.empty())
      break;  // all done, stopped, or a dependency outside the plan  // nothing can make progress:
              // a dependency outside the plan
    // Wait for any running component to finish.
    for (;;) {
      auto done = std::find_if(running.begin(), running.end(), [](auto& entry) {
        return entry.second.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
      });
      if (done != running.end()) {
        finished[done->first] = done->second.get();
        running.erase(done);
        break;
      }
      running.begin()->second.wait_for(std::chrono::milliseconds(20));
    }
  }

  bool interrupted =
      control.stopped() && std::any_of(finished.begin(), finished.end(), [](auto& entry) {
        return entry.second == ComponentStatus::kPending;
      });
  if (interrupted || (control.stopped() && finished.size() < state.components.size())) {
    spdlog::warn(
        "rollback {} interrupted by shutdown; it stays active: resume it with `rollbook resume {}`",
        state.id, state.id);
    return;
  }

  std::vector<ComponentStatus> statuses;
  std::string summary;
  for (const auto& component : state.components) {
    ComponentStatus status =
        finished.count(component.name) ? finished[component.name] : ComponentStatus::kSkipped;
    statuses.push_back(status);
    summary += (summary.empty() ? "" : ", ") + component.name + " " +
               std::string(projections::ComponentStatusName(status));
  }
  schema::Outcome outcome = RollbackOutcome(statuses, control.cancelled());
  int64_t duration = NowNs() - state.requested_at_ns;
  auto completed = writer.Append([&](schema::Payload::Builder p) {
    auto event = p.initRollbackCompleted();
    event.setRollbackId(state.id);
    event.setOutcome(outcome);
    event.setDurationNs(duration);
    event.setSummary(summary);
  });
  if (!completed.ok()) {
    spdlog::error("rollback {}: cannot record completion: {}", state.id,
                  completed.status().ToString());
  }
  std::string outcome_name(projections::OutcomeName(static_cast<int>(outcome)));
  spdlog::info("rollback {} finished: {} ({})", state.id, outcome_name, summary);
  Notify(notifier.get(), state, outcome == schema::Outcome::SUCCEEDED ? "completion" : "failure",
         "Rollback " + state.id + " of " + state.feature + " in " + state.environment + " " +
             outcome_name + ": " + summary,
         outcome_name);
  if (state.drill) {
    (void)writer.Append([&](schema::Payload::Builder p) {
      auto event = p.initDrillCompleted();
      event.setRollbackId(state.id);
      event.setScope(state.scope);
      event.setEnvironment(state.environment);
      event.setDurationNs(duration);
      event.setBudgetMs(state.budget_ms);
      event.setWithinBudget(state.budget_ms == 0 ||
                            duration / 1000000 <= static_cast<int64_t>(state.budget_ms));
      event.setOutcome(outcome);
    });
  }
}

}  // namespace rollbook::commands
