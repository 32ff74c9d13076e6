#include "projections/components_projection.h"

#include <nlohmann/json.hpp>
#include <set>

#include "ledger/payload.h"
#include "projections/rollback_state.h"

namespace rollbook::projections {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ComponentsProjection::RollbackContext, environment, drill,
                                   dry_run)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ComponentsProjection::ComponentRecord, environment, name, status,
                                   rollback_id, last_step, drill, position, updated_at_ns)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ComponentsProjection::TargetRecord, environment, target, value,
                                   previous, summary, component, step, rollback_id, drill, position,
                                   updated_at_ns)

namespace {

using ledger::ToString;

constexpr std::string_view kStateKey = "state";

}  // namespace

ComponentsProjection::ComponentRecord* ComponentsProjection::Touch(
    const ledger::RecordedEvent& event, const std::string& rollback_id,
    const std::string& component) {
  auto context = rollbacks_.find(rollback_id);
  if (context == rollbacks_.end() || context->second.dry_run || component.empty()) return nullptr;
  ComponentRecord& record = components_[{context->second.environment, component}];
  record.environment = context->second.environment;
  record.name = component;
  record.rollback_id = rollback_id;
  record.drill = context->second.drill;
  record.position = event.position;
  record.updated_at_ns = event.recorded_at_ns;
  changed_ = true;
  return &record;
}

void ComponentsProjection::Apply(const ledger::RecordedEvent& event) {
  static const std::set<std::string_view> kRelevant = {"rollbackRequested", "componentStarted",
                                                       "stepSucceeded", "componentCompleted",
                                                       "changeApplied"};
  if (kRelevant.count(event.type) == 0) return;
  auto view = ledger::EventView::Decode(event);
  if (!view.ok()) return;
  auto payload = view->payload();

  switch (payload.which()) {
    case schema::Payload::ROLLBACK_REQUESTED: {
      auto requested = payload.getRollbackRequested();
      rollbacks_[ToString(requested.getRollbackId())] = {
          ToString(requested.getEnvironment()), requested.getDrill(), requested.getDryRun()};
      changed_ = true;
      break;
    }
    case schema::Payload::COMPONENT_STARTED: {
      auto started = payload.getComponentStarted();
      ComponentRecord* record =
          Touch(event, ToString(started.getRollbackId()), ToString(started.getComponent()));
      if (record != nullptr) record->status = "running";
      break;
    }
    case schema::Payload::STEP_SUCCEEDED: {
      auto ref = payload.getStepSucceeded().getRef();
      ComponentRecord* record =
          Touch(event, ToString(ref.getRollbackId()), ToString(ref.getComponent()));
      if (record != nullptr) record->last_step = ToString(ref.getStep());
      break;
    }
    case schema::Payload::COMPONENT_COMPLETED: {
      auto completed = payload.getComponentCompleted();
      ComponentRecord* record =
          Touch(event, ToString(completed.getRollbackId()), ToString(completed.getComponent()));
      if (record != nullptr) record->status = OutcomeName(static_cast<int>(completed.getOutcome()));
      break;
    }
    case schema::Payload::CHANGE_APPLIED: {
      auto change = payload.getChangeApplied();
      auto ref = change.getRef();
      std::string rollback_id = ToString(ref.getRollbackId());
      ComponentRecord* component = Touch(event, rollback_id, ToString(ref.getComponent()));
      if (component == nullptr) break;
      TargetRecord& target = targets_[{component->environment, ToString(change.getTarget())}];
      target = TargetRecord{component->environment,
                            ToString(change.getTarget()),
                            ToString(change.getAfter()),
                            ToString(change.getBefore()),
                            ToString(change.getSummary()),
                            component->name,
                            ToString(ref.getStep()),
                            rollback_id,
                            component->drill,
                            event.position,
                            event.recorded_at_ns};
      break;
    }
    default:
      break;
  }
}

nlohmann::json ComponentsProjection::ToJson() const {
  nlohmann::json components = nlohmann::json::array();
  for (const auto& [key, record] : components_) components.push_back(record);
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& [key, record] : targets_) targets.push_back(record);
  return {{"components", std::move(components)}, {"targets", std::move(targets)}};
}

Status ComponentsProjection::Save(StateWriter& writer) {
  if (!changed_) return Status::Ok();
  nlohmann::json state = ToJson();
  state["rollbacks"] = rollbacks_;
  writer.Put(kStateKey, state.dump());
  changed_ = false;
  return Status::Ok();
}

Status ComponentsProjection::Load(StateReader& reader) {
  rollbacks_.clear();
  components_.clear();
  targets_.clear();
  changed_ = false;
  auto stored = reader.Get(kStateKey);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return Status::Ok();
  try {
    nlohmann::json state = nlohmann::json::parse(**stored);
    rollbacks_ = state.at("rollbacks").get<std::map<std::string, RollbackContext>>();
    for (const auto& item : state.at("components")) {
      auto record = item.get<ComponentRecord>();
      components_[{record.environment, record.name}] = std::move(record);
    }
    for (const auto& item : state.at("targets")) {
      auto record = item.get<TargetRecord>();
      targets_[{record.environment, record.target}] = std::move(record);
    }
  } catch (const nlohmann::json::exception& e) {
    return Corruption("components projection state is not valid: " + std::string(e.what()));
  }
  return Status::Ok();
}

std::unique_ptr<Projection> ComponentsProjection::NewDetached() const {
  return std::make_unique<ComponentsProjection>();
}

}  // namespace rollbook::projections
