#include "commands/orchestrator.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "commands/rollback_run.h"
#include "commands/runbook.h"
#include "ledger/payload.h"
#include "ledger/time_format.h"

namespace rollbook::commands {
namespace {

using ledger::ToString;
using nlohmann::json;

std::string StringArg(const json& args, const char* name, const std::string& fallback = "") {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return fallback;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

bool BoolArg(const json& args, const char* name) {
  auto it = args.find(name);
  return it != args.end() && it->is_boolean() && it->get<bool>();
}

Status MissingArg(const std::string& command, const char* name) {
  return InvalidArgument("command '" + command + "' needs the argument '" + name + "'");
}

std::string HostDescription() {
  char hostname[256] = {};
  ::gethostname(hostname, sizeof(hostname) - 1);
  return "pid " + std::to_string(::getpid()) + " on " + hostname;
}

json Positions(const ledger::AppendResult& result) {
  return json::array({result.first_position, result.last_position});
}

void FillPlan(schema::RollbackRequested::Builder requested, const Plan& plan) {
  auto components = requested.initPlan(static_cast<unsigned>(plan.components.size()));
  for (size_t c = 0; c < plan.components.size(); ++c) {
    const PlannedComponentSpec& spec = plan.components[c];
    auto component = components[c];
    component.setName(spec.name);
    auto after = component.initAfter(static_cast<unsigned>(spec.after.size()));
    for (size_t a = 0; a < spec.after.size(); ++a) after.set(a, spec.after[a]);
    component.setBudgetMs(spec.budget_ms);
    auto steps = component.initSteps(static_cast<unsigned>(spec.steps.size()));
    for (size_t s = 0; s < spec.steps.size(); ++s) {
      const StepSpec& step = spec.steps[s];
      auto planned = steps[s];
      planned.setName(step.name);
      planned.setDriver(step.driver);
      planned.setAction(step.action);
      planned.setRole(std::string(StepRoleName(step.role)));
      planned.setMutates(step.mutates);
      planned.setIdempotent(step.idempotent);
      planned.setTimeoutMs(step.timeout_ms);
      planned.setRetries(step.retries);
      planned.setBackoffMs(step.backoff_ms);
      planned.setBudgetMs(step.budget_ms);
      planned.setParamsJson(step.params_json);
    }
  }
}

std::string NotificationsJson(const Plan& plan) {
  json targets = json::array();
  for (const auto& target : plan.notifications) {
    targets.push_back(
        {{"name", target.name}, {"kind", target.kind}, {"url", target.url}, {"on", target.on}});
  }
  return targets.dump();
}

}  // namespace

struct Orchestrator::RunningRollback {
  RunControl control;
  std::thread thread;
  std::atomic<bool> done{false};
};

Orchestrator::Orchestrator(ledger::Ledger& ledger, OrchestratorOptions options)
    : ledger_(ledger),
      options_(std::move(options)),
      backups_(options_.backup_dir.empty() ? ledger.directory() + "/backups" : options_.backup_dir),
      executor_description_(HostDescription()) {
  if (options_.drivers == nullptr) options_.drivers = &DriverRegistry::BuiltIn();
}

Orchestrator::~Orchestrator() { Stop(); }

Status Orchestrator::Start() {
  launch_after_ = ledger_.HeadPosition();
  subscription_ = ledger_.Subscribe(0);
  follower_ = std::thread([this] { Follow(); });
  if (!WaitApplied(launch_after_, std::chrono::minutes(10))) {
    return Status(StatusCode::kTimeout, "the executor did not catch up with the ledger");
  }
  if (options_.resume_unfinished) {
    std::vector<std::string> unfinished;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [id, state] : fold_.rollbacks()) {
        if (state.Active()) unfinished.push_back(id);
      }
    }
    for (const auto& id : unfinished) {
      spdlog::info("resuming unfinished rollback {}", id);
      Launch(id, std::nullopt);
    }
  }
  spdlog::info("executor following ledger {} from position {}", ledger_.directory(), launch_after_);
  return Status::Ok();
}

void Orchestrator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  // Running rollbacks stop at their next event boundary. Only the follower joins run threads,
  // so it keeps reading their events and reaping them until none is left, and then exits.
  bool all_done = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, run] : runs_) {
      run->control.Stop();
      all_done = all_done && run->done;
    }
  }
  // With nothing left to write events, closing the subscription wakes the follower at once
  // instead of at the end of its wait. It first folds what the runs wrote last, so that
  // Snapshot() stays complete after Stop().
  if (all_done && subscription_) {
    WaitApplied(ledger_.HeadPosition(), std::chrono::seconds(2));
    subscription_->Close();
  }
  if (follower_.joinable()) follower_.join();
  if (subscription_) subscription_->Close();
  spdlog::info("executor stopped");
}

void Orchestrator::Follow() {
  for (;;) {
    // While stopping, wait briefly: a run thread that ends after its last event wakes no waiter.
    std::chrono::milliseconds wait{200};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ && runs_.empty()) break;
      if (stopping_) wait = std::chrono::milliseconds(5);
    }
    auto next = subscription_->Next(wait);
    ReapFinishedRuns();
    if (!next.ok()) {
      spdlog::error("executor cannot read the ledger: {}", next.status().ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (!next->has_value()) continue;
    const ledger::RecordedEvent& event = **next;
    std::string rollback_id;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      rollback_id = fold_.Apply(event);
    }
    if (!rollback_id.empty() && event.position > launch_after_) React(event, rollback_id);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      applied_position_ = event.position;
    }
    applied_changed_.notify_all();
  }
}

void Orchestrator::React(const ledger::RecordedEvent& event, const std::string& rollback_id) {
  std::shared_ptr<RunningRollback> run;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    auto it = runs_.find(rollback_id);
    if (it != runs_.end() && !it->second->done) run = it->second;
  }
  if (event.type == "rollbackRequested") {
    Launch(rollback_id, std::nullopt);
  } else if (event.type == "cancelRequested") {
    // A rollback that runs nowhere (its process died) completes here as cancelled.
    if (run) {
      run->control.Cancel();
    } else {
      Launch(rollback_id, std::nullopt);
    }
  } else if (event.type == "resumeRequested") {
    if (!run) Launch(rollback_id, std::nullopt);
  } else if (event.type == "retryRequested" || event.type == "skipRequested") {
    auto view = ledger::EventView::Decode(event);
    if (!view.ok()) return;
    auto command = event.type == "retryRequested" ? view->payload().getRetryRequested()
                                                  : view->payload().getSkipRequested();
    OperatorDecision decision;
    decision.kind = event.type == "retryRequested" ? OperatorDecision::Kind::kRetry
                                                   : OperatorDecision::Kind::kSkip;
    decision.component = ToString(command.getComponent());
    decision.step = ToString(command.getStep());
    decision.reason = ToString(command.getReason());
    decision.actor = event.actor;
    if (run) {
      run->control.Decide(decision);
    } else {
      Launch(rollback_id, decision);
    }
  }
}

void Orchestrator::Launch(const std::string& rollback_id,
                          std::optional<OperatorDecision> decision) {
  std::lock_guard<std::mutex> lock(mutex_);
  const projections::RollbackState* state = fold_.Find(rollback_id);
  if (state == nullptr || stopping_) return;
  auto existing = runs_.find(rollback_id);
  if (existing != runs_.end() && !existing->second->done) return;
  if (existing != runs_.end()) {
    if (existing->second->thread.joinable()) existing->second->thread.join();
    runs_.erase(existing);
  }

  auto run = std::make_shared<RunningRollback>();
  RunEnvironment environment;
  environment.ledger = &ledger_;
  environment.drivers = options_.drivers;
  environment.backups = &backups_;
  environment.executor_actor = options_.executor_actor;
  environment.executor_description = executor_description_;
  environment.catalog = [this] {
    // The run's own backups were appended before this call; let the fold catch up with them.
    WaitApplied(ledger_.HeadPosition(), std::chrono::seconds(10));
    InMemoryBackupCatalog catalog;
    std::lock_guard<std::mutex> catalog_lock(mutex_);
    for (const auto& [id, rollback] : fold_.rollbacks()) {
      for (const auto& backup : rollback.backups) {
        catalog.Add(BackupRecord{backup.backup_id, backup.sha256, backup.size_bytes, backup.driver,
                                 backup.origin, backup.format, backup.taken_at_ns, id,
                                 backup.component, backup.step});
      }
    }
    return catalog;
  };
  if (!state->Active() && !decision) return;
  run->thread = std::thread([environment, snapshot = *state, run, decision]() mutable {
    RunRollback(environment, std::move(snapshot), run->control, std::move(decision));
    run->done = true;
  });
  if (state->cancel_requested) run->control.Cancel();
  runs_[rollback_id] = run;
}

void Orchestrator::ReapFinishedRuns() {
  std::vector<std::shared_ptr<RunningRollback>> finished;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = runs_.begin(); it != runs_.end();) {
      if (it->second->done) {
        finished.push_back(it->second);
        it = runs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& run : finished) {
    if (run->thread.joinable()) run->thread.join();
  }
  if (!finished.empty()) applied_changed_.notify_all();
}

bool Orchestrator::WaitApplied(uint64_t position, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return applied_changed_.wait_for(lock, timeout, [&] { return applied_position_ >= position; });
}

std::optional<projections::RollbackState> Orchestrator::Snapshot(const std::string& rollback_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const projections::RollbackState* state = fold_.Find(rollback_id);
  if (state == nullptr) return std::nullopt;
  return *state;
}

std::optional<projections::RollbackState> Orchestrator::WaitForRollback(
    const std::string& rollback_id, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  applied_changed_.wait_for(lock, timeout, [&] {
    const projections::RollbackState* state = fold_.Find(rollback_id);
    bool running = runs_.count(rollback_id) && !runs_.at(rollback_id)->done;
    return state != nullptr && !running && !state->Active();
  });
  const projections::RollbackState* state = fold_.Find(rollback_id);
  if (state == nullptr) return std::nullopt;
  return *state;
}

Result<nlohmann::json> Orchestrator::Execute(const CommandRequest& request) {
  static const json kEmpty = json::object();
  CommandRequest normalized = request;
  if (normalized.args == nullptr) normalized.args = &kEmpty;
  if (!normalized.args->is_object()) {
    return InvalidArgument("command arguments must be a JSON object");
  }
  if (normalized.actor.empty()) normalized.actor = "unknown";
  const std::string& command = normalized.command;
  if (command == "start") return StartRollback(normalized);
  if (command == "cancel") return CancelRollback(normalized);
  if (command == "retry") return RequestStepDecision(normalized, /*skip=*/false);
  if (command == "skip") return RequestStepDecision(normalized, /*skip=*/true);
  if (command == "resume") return ResumeRollback(normalized);
  if (command == "note") return AppendNote(normalized);
  if (auto extra = options_.extra_commands.find(command); extra != options_.extra_commands.end()) {
    return extra->second(normalized);
  }
  std::string known = "start, cancel, retry, skip, resume, note";
  for (const auto& [name, ignored] : options_.extra_commands) known += ", " + name;
  return InvalidArgument("unknown command '" + command + "'; known commands: " + known);
}

Result<ledger::AppendResult> Orchestrator::AppendCommand(const std::string& stream,
                                                         const std::string& correlation_id,
                                                         const CommandRequest& request,
                                                         ledger::NewEvent event,
                                                         ledger::ExpectedVersion expected) {
  ledger::AppendRequest append;
  append.stream = stream;
  append.expected = expected;
  append.actor = request.actor;
  append.correlation_id = correlation_id;
  append.command_id = request.idempotency_key;
  append.events.push_back(std::move(event));
  auto result = ledger_.Append(append);
  if (result.ok()) WaitApplied(result->last_position, std::chrono::seconds(30));
  return result;
}

Result<nlohmann::json> Orchestrator::StartRollback(const CommandRequest& request) {
  const json& args = *request.args;
  std::string reason = StringArg(args, "reason");
  if (reason.empty()) return MissingArg("start", "reason");
  std::string runbook_path =
      ResolveRunbookPath(StringArg(args, "runbook", options_.default_runbook));
  auto runbook = LoadRunbook(runbook_path, *options_.drivers);
  if (!runbook.ok()) return runbook.status();
  std::string environment = StringArg(args, "environment");
  if (environment.empty()) {
    environment =
        runbook->environments.size() == 1 ? runbook->environments.begin()->first : "production";
  }
  if (auto overrides = args.find("set"); overrides != args.end() && overrides->is_object()) {
    std::map<std::string, std::string> values;
    for (const auto& [name, value] : overrides->items()) {
      values[name] = value.is_string() ? value.get<std::string>() : value.dump();
    }
    ROLLBOOK_RETURN_IF_ERROR(ApplyVariableOverrides(*runbook, environment, values));
  }
  auto plan =
      BuildPlan(*runbook, StringArg(args, "scope", "full"), environment, StringArg(args, "mode"));
  if (!plan.ok()) return plan.status();
  int64_t target_time_ns = 0;
  if (std::string target = StringArg(args, "target_time"); !target.empty()) {
    auto parsed = ledger::ParseTimestamp(target);
    if (!parsed.ok()) return parsed.status().WithContext("--target-time");
    target_time_ns = *parsed;
  }
  bool dry_run = BoolArg(args, "dry_run");
  bool drill = BoolArg(args, "drill");

  std::lock_guard<std::mutex> start_lock(start_mutex_);
  WaitApplied(ledger_.HeadPosition(), std::chrono::seconds(30));
  std::string active;
  uint64_t number = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    active = fold_.ActiveFor(plan->feature, plan->environment);
    number = fold_.highest_number() + 1;
  }

  if (!active.empty() && !dry_run) {
    auto rejected = AppendCommand(
        "rejections", active, request, ledger::MakeEvent([&](schema::Payload::Builder payload) {
          auto event = payload.initRollbackRejected();
          event.setFeature(plan->feature);
          event.setEnvironment(plan->environment);
          event.setScope(plan->scope);
          event.setReason(reason);
          event.setRejection("rollback " + active +
                             " is still active for this feature and environment");
          event.setActiveRollbackId(active);
        }),
        ledger::ExpectedVersion::Any());
    if (!rejected.ok()) return rejected.status();
    return Conflict("rollback " + active + " of " + plan->feature + " in " + plan->environment +
                    " is still active; follow it with `rollbook status " + active +
                    "` or cancel it with `rollbook cancel " + active +
                    "` (this attempt was recorded)");
  }

  std::string rollback_id = "rb-" + std::to_string(number);
  auto appended = AppendCommand(rollback_id, rollback_id, request,
                                ledger::MakeEvent([&](schema::Payload::Builder payload) {
                                  auto event = payload.initRollbackRequested();
                                  event.setRollbackId(rollback_id);
                                  event.setFeature(plan->feature);
                                  event.setEnvironment(plan->environment);
                                  event.setScope(plan->scope);
                                  event.setMode(plan->mode);
                                  event.setReason(reason);
                                  event.setTargetTimeNs(target_time_ns);
                                  event.setDryRun(dry_run);
                                  event.setDrill(drill);
                                  event.setRunbookPath(runbook->path);
                                  event.setRunbookSha256(runbook->sha256);
                                  event.setBudgetMs(plan->budget_ms);
                                  event.setNotificationsJson(NotificationsJson(*plan));
                                  event.setMonitorJson(runbook->monitor_json);
                                  FillPlan(event, *plan);
                                }),
                                ledger::ExpectedVersion::NoStream());
  if (!appended.ok()) return appended.status();
  if (appended->duplicate) {
    auto original = ledger_.ReadEvent(appended->first_position);
    if (original.ok()) rollback_id = original->correlation_id;
  }
  spdlog::info("rollback {} requested by {}: {} of {} in {}", rollback_id, request.actor,
               plan->scope, plan->feature, plan->environment);
  return json{{"rollback_id", rollback_id},
              {"positions", Positions(*appended)},
              {"duplicate", appended->duplicate}};
}

Result<nlohmann::json> Orchestrator::CancelRollback(const CommandRequest& request) {
  std::string rollback_id = StringArg(*request.args, "rollback_id");
  if (rollback_id.empty()) return MissingArg("cancel", "rollback_id");
  auto state = Snapshot(rollback_id);
  if (!state) return NotFound("no rollback " + rollback_id + "; list them with `rollbook status`");
  if (!state->Active()) {
    return Conflict("rollback " + rollback_id + " already completed (" +
                    std::string(projections::OutcomeName(state->outcome)) + "); nothing to cancel");
  }
  auto appended = AppendCommand(rollback_id, rollback_id, request,
                                ledger::MakeEvent([&](schema::Payload::Builder payload) {
                                  auto event = payload.initCancelRequested();
                                  event.setRollbackId(rollback_id);
                                  event.setReason(StringArg(*request.args, "reason"));
                                }),
                                ledger::ExpectedVersion::Any());
  if (!appended.ok()) return appended.status();
  return json{{"rollback_id", rollback_id}, {"positions", Positions(*appended)}};
}

Result<nlohmann::json> Orchestrator::RequestStepDecision(const CommandRequest& request, bool skip) {
  const char* command = skip ? "skip" : "retry";
  std::string rollback_id = StringArg(*request.args, "rollback_id");
  std::string step_arg = StringArg(*request.args, "step");
  std::string reason = StringArg(*request.args, "reason");
  if (rollback_id.empty()) return MissingArg(command, "rollback_id");
  if (step_arg.empty()) return MissingArg(command, "step");
  if (skip && reason.empty()) return MissingArg(command, "reason");
  auto state = Snapshot(rollback_id);
  if (!state) return NotFound("no rollback " + rollback_id + "; list them with `rollbook status`");

  // The step is named "component/step", or by its name alone when that is unique.
  std::string component_name;
  std::string step_name = step_arg;
  if (auto slash = step_arg.find('/'); slash != std::string::npos) {
    component_name = step_arg.substr(0, slash);
    step_name = step_arg.substr(slash + 1);
  }
  const projections::StepState* step = nullptr;
  int matches = 0;
  for (const auto& component : state->components) {
    if (!component_name.empty() && component.name != component_name) continue;
    for (const auto& candidate : component.steps) {
      if (candidate.name != step_name) continue;
      step = &candidate;
      component_name = component.name;
      ++matches;
    }
  }
  if (matches == 0) return NotFound("rollback " + rollback_id + " has no step '" + step_arg + "'");
  if (matches > 1) {
    return InvalidArgument("step name '" + step_arg +
                           "' is in several components; name it as component/step");
  }
  using projections::StepStatus;
  bool allowed = step->status == StepStatus::kFailed ||
                 step->status == StepStatus::kOutcomeUnknown ||
                 (!skip && step->status == StepStatus::kSkipped);
  if (!allowed) {
    return Conflict("step " + component_name + "/" + step_name + " is " +
                    std::string(projections::StepStatusName(step->status)) + "; " + command +
                    " applies to a failed or outcome-unknown step");
  }
  auto appended = AppendCommand(
      rollback_id, rollback_id, request, ledger::MakeEvent([&](schema::Payload::Builder payload) {
        auto event = skip ? payload.initSkipRequested() : payload.initRetryRequested();
        event.setRollbackId(rollback_id);
        event.setComponent(component_name);
        event.setStep(step_name);
        event.setReason(reason);
      }),
      ledger::ExpectedVersion::Any());
  if (!appended.ok()) return appended.status();
  return json{{"rollback_id", rollback_id}, {"positions", Positions(*appended)}};
}

Result<nlohmann::json> Orchestrator::ResumeRollback(const CommandRequest& request) {
  std::string rollback_id = StringArg(*request.args, "rollback_id");
  if (rollback_id.empty()) return MissingArg("resume", "rollback_id");
  auto state = Snapshot(rollback_id);
  if (!state) return NotFound("no rollback " + rollback_id + "; list them with `rollbook status`");
  if (!state->Active()) {
    return Conflict("rollback " + rollback_id + " already completed; use `rollbook retry " +
                    rollback_id + " STEP` to run a failed step again");
  }
  auto appended = AppendCommand(rollback_id, rollback_id, request,
                                ledger::MakeEvent([&](schema::Payload::Builder payload) {
                                  payload.initResumeRequested().setRollbackId(rollback_id);
                                }),
                                ledger::ExpectedVersion::Any());
  if (!appended.ok()) return appended.status();
  return json{{"rollback_id", rollback_id}, {"positions", Positions(*appended)}};
}

Result<nlohmann::json> Orchestrator::AppendNote(const CommandRequest& request) {
  std::string text = StringArg(*request.args, "text");
  if (text.empty()) return MissingArg("note", "text");
  std::string rollback_id = StringArg(*request.args, "rollback_id");
  std::string stream =
      StringArg(*request.args, "stream", rollback_id.empty() ? "notes" : rollback_id);
  if (!rollback_id.empty() && !Snapshot(rollback_id)) {
    return NotFound("no rollback " + rollback_id + "; list them with `rollbook status`");
  }
  auto appended = AppendCommand(stream, rollback_id, request,
                                ledger::MakeEvent([&](schema::Payload::Builder payload) {
                                  auto note = payload.initAnnotation();
                                  note.setText(text);
                                  note.setComponent(StringArg(*request.args, "component"));
                                }),
                                ledger::ExpectedVersion::Any());
  if (!appended.ok()) return appended.status();
  // The same fields as `rollbook note --json` prints when it appends itself, and the positions.
  return json{{"position", appended->last_position},
              {"stream", stream},
              {"streamVersion", appended->last_stream_version},
              {"duplicate", appended->duplicate},
              {"positions", Positions(*appended)}};
}

}  // namespace rollbook::commands
