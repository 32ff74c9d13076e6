#include "projections/rollbacks_projection.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "projections/rollback_codec.h"

namespace rollbook::projections {
namespace {

constexpr std::string_view kRollbackPrefix = "rb/";

}  // namespace

void RollbacksProjection::Apply(const ledger::RecordedEvent& event) {
  std::string id = fold_.Apply(event);
  if (!id.empty()) changed_.insert(std::move(id));
}

Status RollbacksProjection::Save(StateWriter& writer) {
  for (const auto& id : changed_) {
    const RollbackState* state = fold_.Find(id);
    if (state == nullptr) continue;
    writer.Put(std::string(kRollbackPrefix) + id, RollbackToStorageJson(*state).dump());
  }
  changed_.clear();
  return Status::Ok();
}

Status RollbacksProjection::Load(StateReader& reader) {
  changed_.clear();
  std::map<std::string, RollbackState> rollbacks;
  Status failure;
  ROLLBOOK_RETURN_IF_ERROR(
      reader.Scan(kRollbackPrefix, "", [&](std::string_view key, std::string_view value) {
        nlohmann::json json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
        auto state = RollbackFromStorageJson(json);
        if (!state.ok()) {
          failure = state.status().WithContext("rollbacks projection entry " + std::string(key));
          return false;
        }
        rollbacks.emplace(state->id, std::move(state).value());
        return true;
      }));
  ROLLBOOK_RETURN_IF_ERROR(failure);
  fold_.Restore(std::move(rollbacks));
  return Status::Ok();
}

nlohmann::json RollbacksProjection::ToJson() const {
  std::vector<const RollbackState*> ordered;
  for (const auto& [id, state] : fold_.rollbacks()) ordered.push_back(&state);
  std::sort(ordered.begin(), ordered.end(), [](const RollbackState* a, const RollbackState* b) {
    return a->requested_position < b->requested_position;
  });
  nlohmann::json rollbacks = nlohmann::json::array();
  for (const RollbackState* state : ordered) rollbacks.push_back(RollbackToJson(*state));
  return {{"rollbacks", std::move(rollbacks)}};
}

std::unique_ptr<Projection> RollbacksProjection::NewDetached() const {
  return std::make_unique<RollbacksProjection>();
}

}  // namespace rollbook::projections
