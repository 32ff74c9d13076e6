#include "projections/components_projection.h"

#include <nlohmann/json.hpp>
#include <set>

#include "ledger/payload.h"
#include "projections/keyed_json.h"
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

constexpr std::string_view kRollbackPrefix = "rollback/";
constexpr std::string_view kComponentPrefix = "component/";
constexpr std::string_view kTargetPrefix = "target/";

// The key suffix of an (environment, name) pair. A NUL cannot occur in either part.
std::string PairSuffix(const ComponentsProjection::Key& key) {
  return key.first + '\0' + key.second;
}

}  // namespace

ComponentsProjection::ComponentRecord* ComponentsProjection::Touch(
    const ledger::RecordedEvent& event, const std::string& rollback_id,
    const std::string& component) {
  auto context = rollbacks_.find(rollback_id);
  if (context == rollbacks_.end() || context->second.dry_run || component.empty()) return nullptr;
  Key key{context->second.environment, component};
  ComponentRecord& record = components_[key];
  dirty_components_.insert(std::move(key));
  record.environment = context->second.environment;
  record.name = component;
  record.rollback_id = rollback_id;
  record.drill = context->second.drill;
  record.position = event.position;
  record.updated_at_ns = event.recorded_at_ns;
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
      std::string rollback_id = ToString(requested.getRollbackId());
      rollbacks_[rollback_id] = {ToString(requested.getEnvironment()), requested.getDrill(),
                                 requested.getDryRun()};
      dirty_rollbacks_.insert(std::move(rollback_id));
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
      Key key{component->environment, ToString(change.getTarget())};
      TargetRecord& target = targets_[key];
      dirty_targets_.insert(std::move(key));
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
  for (const auto& id : dirty_rollbacks_) {
    PutJsonEntry(writer, kRollbackPrefix, id, rollbacks_.at(id));
  }
  for (const auto& key : dirty_components_) {
    PutJsonEntry(writer, kComponentPrefix, PairSuffix(key), components_.at(key));
  }
  for (const auto& key : dirty_targets_) {
    PutJsonEntry(writer, kTargetPrefix, PairSuffix(key), targets_.at(key));
  }
  dirty_rollbacks_.clear();
  dirty_components_.clear();
  dirty_targets_.clear();
  return Status::Ok();
}

Status ComponentsProjection::Load(StateReader& reader) {
  rollbacks_.clear();
  components_.clear();
  targets_.clear();
  dirty_rollbacks_.clear();
  dirty_components_.clear();
  dirty_targets_.clear();
  ROLLBOOK_RETURN_IF_ERROR(LoadJsonEntries<RollbackContext>(
      reader, kName, kRollbackPrefix, [&](std::string_view id, RollbackContext context) {
        rollbacks_.emplace(std::string(id), std::move(context));
      }));
  ROLLBOOK_RETURN_IF_ERROR(LoadJsonEntries<ComponentRecord>(
      reader, kName, kComponentPrefix, [&](std::string_view, ComponentRecord record) {
        Key key{record.environment, record.name};
        components_.emplace(std::move(key), std::move(record));
      }));
  return LoadJsonEntries<TargetRecord>(reader, kName, kTargetPrefix,
                                       [&](std::string_view, TargetRecord record) {
                                         Key key{record.environment, record.target};
                                         targets_.emplace(std::move(key), std::move(record));
                                       });
}

std::unique_ptr<Projection> ComponentsProjection::NewDetached() const {
  return std::make_unique<ComponentsProjection>();
}

}  // namespace rollbook::projections
