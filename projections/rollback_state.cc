#include "projections/rollback_state.h"

#include <nlohmann/json.hpp>

#include "ledger/payload.h"

namespace rollbook::projections {
namespace {

using ledger::ToString;

ComponentStatus ComponentStatusFromOutcome(schema::Outcome outcome) {
  switch (outcome) {
    case schema::Outcome::SUCCEEDED: return ComponentStatus::kSucceeded;
    case schema::Outcome::FAILED: return ComponentStatus::kFailed;
    case schema::Outcome::PARTIALLY_SUCCEEDED: return ComponentStatus::kPartial;
    case schema::Outcome::CANCELLED: return ComponentStatus::kCancelled;
    case schema::Outcome::SKIPPED: return ComponentStatus::kSkipped;
    default: return ComponentStatus::kFailed;
  }
}

void LoadPlan(RollbackState& state, schema::RollbackRequested::Reader requested) {
  for (auto planned : requested.getPlan()) {
    ComponentState component;
    component.name = ToString(planned.getName());
    for (auto after : planned.getAfter()) component.after.push_back(ToString(after));
    component.budget_ms = planned.getBudgetMs();
    for (auto planned_step : planned.getSteps()) {
      StepState step;
      step.name = ToString(planned_step.getName());
      step.driver = ToString(planned_step.getDriver());
      step.action = ToString(planned_step.getAction());
      step.role = ToString(planned_step.getRole());
      step.mutates = planned_step.getMutates();
      step.idempotent = planned_step.getIdempotent();
      step.timeout_ms = planned_step.getTimeoutMs();
      step.retries = planned_step.getRetries();
      step.backoff_ms = planned_step.getBackoffMs();
      step.budget_ms = planned_step.getBudgetMs();
      step.params_json = ToString(planned_step.getParamsJson());
      component.steps.push_back(std::move(step));
    }
    state.components.push_back(std::move(component));
  }
}

// Applies a step event to the step it names; returns the step, or nullptr if unknown.
StepState* StepOf(RollbackState& state, schema::StepRef::Reader ref) {
  ComponentState* component = state.FindComponent(ToString(ref.getComponent()));
  if (component == nullptr) return nullptr;
  StepState* step = component->FindStep(ToString(ref.getStep()));
  if (step != nullptr && ref.getAttempt() > step->attempts) step->attempts = ref.getAttempt();
  return step;
}

void ApplyStepEvent(RollbackState& state, const ledger::RecordedEvent& event,
                    schema::Payload::Reader payload) {
  StepState* step = nullptr;
  int64_t at = event.recorded_at_ns;
  switch (payload.which()) {
    case schema::Payload::STEP_STARTED: {
      auto started = payload.getStepStarted();
      step = StepOf(state, started.getRef());
      if (step == nullptr) return;
      step->status = StepStatus::kRunning;
      if (step->started_at_ns == 0) step->started_at_ns = at;
      if (state.status == RollbackStatus::kWaiting) state.status = RollbackStatus::kRunning;
      break;
    }
    case schema::Payload::STEP_SUCCEEDED: {
      auto succeeded = payload.getStepSucceeded();
      step = StepOf(state, succeeded.getRef());
      if (step == nullptr) return;
      step->status = StepStatus::kSucceeded;
      step->duration_ns += succeeded.getDurationNs();
      step->summary = ToString(succeeded.getSummary());
      step->last_error.clear();
      break;
    }
    case schema::Payload::STEP_FAILED: {
      auto failed = payload.getStepFailed();
      step = StepOf(state, failed.getRef());
      if (step == nullptr) return;
      step->status = failed.getWillRetry() ? StepStatus::kRetrying : StepStatus::kFailed;
      step->duration_ns += failed.getDurationNs();
      step->last_error = ToString(failed.getError());
      break;
    }
    case schema::Payload::STEP_RETRYING: {
      step = StepOf(state, payload.getStepRetrying().getRef());
      if (step == nullptr) return;
      step->status = StepStatus::kRetrying;
      break;
    }
    case schema::Payload::STEP_SKIPPED: {
      auto skipped = payload.getStepSkipped();
      step = StepOf(state, skipped.getRef());
      if (step == nullptr) return;
      step->status = StepStatus::kSkipped;
      step->summary = "skipped: " + ToString(skipped.getReason());
      break;
    }
    case schema::Payload::STEP_OUTCOME_UNKNOWN: {
      auto unknown = payload.getStepOutcomeUnknown();
      step = StepOf(state, unknown.getRef());
      if (step == nullptr) return;
      step->status = StepStatus::kOutcomeUnknown;
      step->last_error = ToString(unknown.getReason());
      state.status = RollbackStatus::kWaiting;
      break;
    }
    case schema::Payload::VERIFICATION_FAILED: {
      auto verification = payload.getVerificationFailed();
      step = StepOf(state, verification.getRef());
      if (step == nullptr) return;
      step->last_error = "verification failed: expected " + ToString(verification.getExpected()) +
                         ", got " + ToString(verification.getActual());
      break;
    }
    default:
      return;
  }
  step->finished_at_ns = at;
  step->last_position = event.position;
}

}  // namespace

std::string_view StepStatusName(StepStatus status) {
  switch (status) {
    case StepStatus::kPending: return "pending";
    case StepStatus::kRunning: return "running";
    case StepStatus::kSucceeded: return "succeeded";
    case StepStatus::kFailed: return "failed";
    case StepStatus::kRetrying: return "retrying";
    case StepStatus::kSkipped: return "skipped";
    case StepStatus::kOutcomeUnknown: return "outcome-unknown";
  }
  return "unknown";
}

std::string_view ComponentStatusName(ComponentStatus status) {
  switch (status) {
    case ComponentStatus::kPending: return "pending";
    case ComponentStatus::kRunning: return "running";
    case ComponentStatus::kSucceeded: return "succeeded";
    case ComponentStatus::kFailed: return "failed";
    case ComponentStatus::kSkipped: return "skipped";
    case ComponentStatus::kCancelled: return "cancelled";
    case ComponentStatus::kPartial: return "partially-succeeded";
  }
  return "unknown";
}

std::string_view RollbackStatusName(RollbackStatus status) {
  switch (status) {
    case RollbackStatus::kRequested: return "requested";
    case RollbackStatus::kRunning: return "running";
    case RollbackStatus::kWaiting: return "waiting-for-operator";
    case RollbackStatus::kCompleted: return "completed";
  }
  return "unknown";
}

std::string_view OutcomeName(int outcome) {
  switch (static_cast<schema::Outcome>(outcome)) {
    case schema::Outcome::UNKNOWN: return "unknown";
    case schema::Outcome::SUCCEEDED: return "succeeded";
    case schema::Outcome::FAILED: return "failed";
    case schema::Outcome::PARTIALLY_SUCCEEDED: return "partiallySucceeded";
    case schema::Outcome::CANCELLED: return "cancelled";
    case schema::Outcome::SKIPPED: return "skipped";
  }
  return "unknown";
}

StepState* ComponentState::FindStep(const std::string& step) {
  for (auto& candidate : steps) {
    if (candidate.name == step) return &candidate;
  }
  return nullptr;
}

ComponentState* RollbackState::FindComponent(const std::string& component) {
  for (auto& candidate : components) {
    if (candidate.name == component) return &candidate;
  }
  return nullptr;
}

const ComponentState* RollbackState::FindComponent(const std::string& component) const {
  return const_cast<RollbackState*>(this)->FindComponent(component);
}

uint64_t RollbackNumber(const std::string& id) {
  if (id.size() < 4 || id.compare(0, 3, "rb-") != 0) return 0;
  uint64_t number = 0;
  for (size_t i = 3; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    number = number * 10 + static_cast<uint64_t>(id[i] - '0');
  }
  return number;
}

const RollbackState* RollbackFold::Find(const std::string& id) const {
  auto it = rollbacks_.find(id);
  return it == rollbacks_.end() ? nullptr : &it->second;
}

void RollbackFold::Restore(std::map<std::string, RollbackState> rollbacks) {
  rollbacks_ = std::move(rollbacks);
  highest_number_ = 0;
  for (const auto& [id, state] : rollbacks_) {
    highest_number_ = std::max(highest_number_, RollbackNumber(id));
  }
}

std::string RollbackFold::ActiveFor(const std::string& feature,
                                    const std::string& environment) const {
  for (const auto& [id, state] : rollbacks_) {
    if (state.Active() && state.feature == feature && state.environment == environment) return id;
  }
  return {};
}

std::string RollbackFold::Apply(const ledger::RecordedEvent& event) {
  if (event.correlation_id.empty()) return {};
  bool is_request = event.type == "rollbackRequested";
  auto found = rollbacks_.find(event.correlation_id);
  if (found == rollbacks_.end() && !is_request) return {};
  auto view = ledger::EventView::Decode(event);
  if (!view.ok()) return {};
  auto payload = view->payload();

  if (is_request) {
    auto requested = payload.getRollbackRequested();
    RollbackState state;
    state.id = ToString(requested.getRollbackId());
    state.feature = ToString(requested.getFeature());
    state.environment = ToString(requested.getEnvironment());
    state.scope = ToString(requested.getScope());
    state.mode = ToString(requested.getMode());
    state.reason = ToString(requested.getReason());
    state.actor = event.actor;
    state.target_time_ns = requested.getTargetTimeNs();
    state.dry_run = requested.getDryRun();
    state.drill = requested.getDrill();
    state.runbook_path = ToString(requested.getRunbookPath());
    state.runbook_sha256 = ToString(requested.getRunbookSha256());
    state.budget_ms = requested.getBudgetMs();
    state.notifications_json = ToString(requested.getNotificationsJson());
    state.monitor_json = ToString(requested.getMonitorJson());
    state.requested_at_ns = event.recorded_at_ns;
    state.requested_position = event.position;
    LoadPlan(state, requested);
    highest_number_ = std::max(highest_number_, RollbackNumber(state.id));
    found = rollbacks_.insert_or_assign(state.id, std::move(state)).first;
  }

  RollbackState& state = found->second;
  state.last_position = event.position;
  ++state.event_count;
  switch (payload.which()) {
    case schema::Payload::ROLLBACK_STARTED:
      state.status = RollbackStatus::kRunning;
      if (state.started_at_ns == 0) state.started_at_ns = event.recorded_at_ns;
      break;
    case schema::Payload::COMPONENT_STARTED: {
      ComponentState* component =
          state.FindComponent(ToString(payload.getComponentStarted().getComponent()));
      if (component == nullptr) break;
      component->status = ComponentStatus::kRunning;
      if (component->started_at_ns == 0) component->started_at_ns = event.recorded_at_ns;
      break;
    }
    case schema::Payload::COMPONENT_COMPLETED: {
      auto completed = payload.getComponentCompleted();
      ComponentState* component = state.FindComponent(ToString(completed.getComponent()));
      if (component == nullptr) break;
      component->status = ComponentStatusFromOutcome(completed.getOutcome());
      component->finished_at_ns = event.recorded_at_ns;
      break;
    }
    case schema::Payload::ROLLBACK_COMPLETED: {
      auto completed = payload.getRollbackCompleted();
      state.status = RollbackStatus::kCompleted;
      state.outcome = static_cast<int>(completed.getOutcome());
      state.completed_at_ns = event.recorded_at_ns;
      state.duration_ns = state.completed_at_ns - state.requested_at_ns;
      state.summary = ToString(completed.getSummary());
      break;
    }
    case schema::Payload::CANCEL_REQUESTED:
      state.cancel_requested = true;
      state.cancel_reason = ToString(payload.getCancelRequested().getReason());
      break;
    case schema::Payload::BACKUP_CREATED: {
      auto backup = payload.getBackupCreated();
      state.backups.push_back(BackupSummary{
          ToString(backup.getBackupId()), ToString(backup.getSha256()), backup.getSizeBytes(),
          ToString(backup.getDriver()), ToString(backup.getOrigin()), ToString(backup.getFormat()),
          ToString(backup.getComponent()), ToString(backup.getStep()), backup.getTakenAtNs(),
          event.position});
      break;
    }
    case schema::Payload::ANNOTATION:
      state.notes.push_back(ToString(payload.getAnnotation().getText()));
      break;
    default:
      ApplyStepEvent(state, event, payload);
      break;
  }
  return state.id;
}

nlohmann::json RollbackToJson(const RollbackState& state) {
  nlohmann::json components = nlohmann::json::array();
  for (const auto& component : state.components) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& step : component.steps) {
      steps.push_back({{"name", step.name},
                       {"driver", step.driver},
                       {"action", step.action},
                       {"role", step.role},
                       {"mutates", step.mutates},
                       {"status", StepStatusName(step.status)},
                       {"attempts", step.attempts},
                       {"started_at_ns", step.started_at_ns},
                       {"finished_at_ns", step.finished_at_ns},
                       {"duration_ms", step.duration_ns / 1000000},
                       {"budget_ms", step.budget_ms},
                       {"summary", step.summary},
                       {"last_error", step.last_error}});
    }
    components.push_back({{"name", component.name},
                          {"after", component.after},
                          {"status", ComponentStatusName(component.status)},
                          {"budget_ms", component.budget_ms},
                          {"started_at_ns", component.started_at_ns},
                          {"finished_at_ns", component.finished_at_ns},
                          {"steps", steps}});
  }
  nlohmann::json backups = nlohmann::json::array();
  for (const auto& backup : state.backups) {
    backups.push_back({{"backup_id", backup.backup_id},
                       {"sha256", backup.sha256},
                       {"size_bytes", backup.size_bytes},
                       {"driver", backup.driver},
                       {"origin", backup.origin},
                       {"format", backup.format},
                       {"component", backup.component},
                       {"step", backup.step},
                       {"taken_at_ns", backup.taken_at_ns},
                       {"position", backup.position}});
  }
  return {{"id", state.id},
          {"feature", state.feature},
          {"environment", state.environment},
          {"scope", state.scope},
          {"mode", state.mode},
          {"reason", state.reason},
          {"actor", state.actor},
          {"dry_run", state.dry_run},
          {"drill", state.drill},
          {"status", RollbackStatusName(state.status)},
          {"outcome", OutcomeName(state.outcome)},
          {"requested_at_ns", state.requested_at_ns},
          {"started_at_ns", state.started_at_ns},
          {"completed_at_ns", state.completed_at_ns},
          {"duration_ms", state.duration_ns / 1000000},
          {"budget_ms", state.budget_ms},
          {"cancel_requested", state.cancel_requested},
          {"summary", state.summary},
          {"requested_position", state.requested_position},
          {"last_position", state.last_position},
          {"event_count", state.event_count},
          {"notes", state.notes},
          {"components", components},
          {"backups", backups}};
}

}  // namespace rollbook::projections
