// Endpoints that read projections: rollbacks, components, and the projections themselves.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "ledger/ledger.h"
#include "projections/components_projection.h"
#include "projections/event_query.h"
#include "projections/rollbacks_projection.h"
#include "projections/runner.h"
#include "tools/server/api_internal.h"
#include "tools/server/background_jobs.h"

namespace rollbook::server {
namespace {

constexpr uint64_t kDefaultPageSize = 100;
constexpr uint64_t kMaxPageSize = 1000;
constexpr uint64_t kMaxPosition = uint64_t{1} << 62;

HttpResponse NoProjections() {
  return ErrorResponse(503, "unavailable", "this server runs no projections");
}

// Calls `read` with the named projection cast to T, under the runner's read lock.
template <typename T, typename Read>
Status ReadProjection(ApiCall& call, std::string_view name, Read&& read) {
  if (call.dependencies.runner == nullptr) {
    return Status(StatusCode::kUnavailable, "this server runs no projections");
  }
  return call.dependencies.runner->Read(
      name, [&](const projections::Projection& projection, projections::StateReader&) {
        const T* typed = dynamic_cast<const T*>(&projection);
        if (typed == nullptr)
          return Internal("projection " + std::string(name) + " has another type");
        return read(*typed);
      });
}

uint64_t AppliedPosition(ApiCall& call, std::string_view name) {
  for (const auto& status : call.dependencies.runner->Statuses()) {
    if (status.name == name) return status.applied_position;
  }
  return 0;
}

bool MatchesRollback(const projections::RollbackState& state, const QueryParams& query) {
  auto status = query.Get("status");
  if (status) {
    bool active = *status == "active" && state.Active();
    if (!active && projections::RollbackStatusName(state.status) != *status) return false;
  }
  auto environment = query.Get("environment");
  if (environment && state.environment != *environment) return false;
  auto feature = query.Get("feature");
  if (feature && state.feature != *feature) return false;
  return true;
}

// The list view leaves out the per-component detail that GET /v1/rollbacks/{id} returns.
nlohmann::json RollbackSummary(const projections::RollbackState& state) {
  nlohmann::json json = projections::RollbackToJson(state);
  json["component_count"] = state.components.size();
  json.erase("components");
  json.erase("backups");
  json.erase("notes");
  return json;
}

}  // namespace

HttpResponse ListRollbacks(ApiCall& call) {
  Status known = call.query.CheckKnown({"status", "environment", "feature", "limit"});
  if (!known.ok()) return ErrorResponse(known);
  auto status = call.query.Get("status");
  if (status && *status != "active" && *status != "requested" && *status != "running" &&
      *status != "waiting-for-operator" && *status != "completed") {
    return ErrorResponse(400, "invalid_argument",
                         "invalid value '" + *status +
                             "' for parameter 'status': use active, requested, running, "
                             "waiting-for-operator or completed");
  }
  auto limit = call.query.GetUnsigned("limit", kDefaultPageSize, 1, kMaxPageSize);
  if (!limit.ok()) return ErrorResponse(limit.status());

  nlohmann::json rollbacks = nlohmann::json::array();
  size_t total = 0;
  Status read = ReadProjection<projections::RollbacksProjection>(
      call, projections::RollbacksProjection::kName, [&](const auto& projection) {
        std::vector<const projections::RollbackState*> matching;
        for (const auto& [id, state] : projection.fold().rollbacks()) {
          if (MatchesRollback(state, call.query)) matching.push_back(&state);
        }
        std::sort(matching.begin(), matching.end(), [](const auto* a, const auto* b) {
          return a->requested_position > b->requested_position;  // newest first
        });
        total = matching.size();
        for (size_t i = 0; i < matching.size() && i < *limit; ++i) {
          rollbacks.push_back(RollbackSummary(*matching[i]));
        }
        return Status::Ok();
      });
  if (!read.ok()) return ErrorResponse(read);
  return JsonResponse(
      {{"rollbacks", rollbacks},
       {"total", total},
       {"position", AppliedPosition(call, projections::RollbacksProjection::kName)}});
}

HttpResponse GetRollback(ApiCall& call) {
  Status known = call.query.CheckKnown({});
  if (!known.ok()) return ErrorResponse(known);
  const std::string& id = call.path_params["id"];
  nlohmann::json rollback;
  Status read = ReadProjection<projections::RollbacksProjection>(
      call, projections::RollbacksProjection::kName, [&](const auto& projection) {
        const projections::RollbackState* state = projection.fold().Find(id);
        if (state == nullptr) return NotFound("no rollback with id '" + id + "'");
        rollback = projections::RollbackToJson(*state);
        return Status::Ok();
      });
  if (!read.ok()) return ErrorResponse(read);
  return JsonResponse(rollback);
}

HttpResponse GetRollbackTimeline(ApiCall& call) {
  Status known = call.query.CheckKnown({"after", "cursor", "limit"});
  if (!known.ok()) return ErrorResponse(known);
  projections::EventFilter filter;
  filter.rollback_id = call.path_params["id"];
  Status exists = ReadProjection<projections::RollbacksProjection>(
      call, projections::RollbacksProjection::kName, [&](const auto& projection) {
        if (projection.fold().Find(filter.rollback_id) != nullptr) return Status::Ok();
        return NotFound("no rollback with id '" + filter.rollback_id + "'");
      });
  if (!exists.ok()) return ErrorResponse(exists);

  auto after = ReadStart(call.query, &filter);
  if (!after.ok()) return ErrorResponse(after.status());
  auto limit = call.query.GetUnsigned("limit", kDefaultPageSize, 1, kMaxPageSize);
  if (!limit.ok()) return ErrorResponse(limit.status());
  return EventPageResponse(call, filter, *after, *limit, {{"rollback_id", filter.rollback_id}});
}

HttpResponse ListComponents(ApiCall& call) {
  Status known = call.query.CheckKnown({"environment", "component"});
  if (!known.ok()) return ErrorResponse(known);
  auto environment = call.query.Get("environment");
  auto component = call.query.Get("component");
  nlohmann::json components = nlohmann::json::array();
  nlohmann::json targets = nlohmann::json::array();
  Status read = ReadProjection<projections::ComponentsProjection>(
      call, projections::ComponentsProjection::kName, [&](const auto& projection) {
        nlohmann::json state = projection.ToJson();
        for (auto& record : state["components"]) {
          if (environment && record["environment"] != *environment) continue;
          if (component && record["name"] != *component) continue;
          components.push_back(std::move(record));
        }
        for (auto& record : state["targets"]) {
          if (environment && record["environment"] != *environment) continue;
          if (component && record["component"] != *component) continue;
          targets.push_back(std::move(record));
        }
        return Status::Ok();
      });
  if (!read.ok()) return ErrorResponse(read);
  return JsonResponse(
      {{"components", components},
       {"targets", targets},
       {"position", AppliedPosition(call, projections::ComponentsProjection::kName)}});
}

nlohmann::json ProjectionStatusesJson(ApiDependencies& dependencies) {
  nlohmann::json list = nlohmann::json::array();
  if (dependencies.runner == nullptr) return list;
  uint64_t head = dependencies.ledger->HeadPosition();
  for (const auto& status : dependencies.runner->Statuses()) {
    list.push_back({{"name", status.name},
                    {"applied_position", status.applied_position},
                    {"committed_position", status.committed_position},
                    {"lag", head > status.applied_position ? head - status.applied_position : 0},
                    {"caught_up", status.caught_up},
                    {"rebuilding", status.rebuilding},
                    {"last_error", status.last_error}});
  }
  return list;
}

HttpResponse ListProjections(ApiCall& call) {
  Status known = call.query.CheckKnown({});
  if (!known.ok()) return ErrorResponse(known);
  if (call.dependencies.runner == nullptr) return NoProjections();
  return JsonResponse({{"projections", ProjectionStatusesJson(call.dependencies)},
                       {"head", call.dependencies.ledger->HeadPosition()}});
}

HttpResponse GetProjection(ApiCall& call) {
  Status known = call.query.CheckKnown({"at", "as_of"});
  if (!known.ok()) return ErrorResponse(known);
  if (call.dependencies.runner == nullptr) return NoProjections();
  const std::string& name = call.path_params["name"];
  if (call.query.Get("at") && call.query.Get("as_of")) {
    return ErrorResponse(400, "invalid_argument",
                         "invalid parameters: use either 'at' or 'as_of', not both");
  }
  if (call.query.Get("at")) {
    auto position = call.query.GetUnsigned("at", 0, 0, kMaxPosition);
    if (!position.ok()) return ErrorResponse(position.status());
    auto evaluated = call.dependencies.runner->EvaluateAt(name, *position);
    return evaluated.ok() ? JsonResponse(*evaluated) : ErrorResponse(evaluated.status());
  }
  if (call.query.Get("as_of")) {
    auto time = call.query.GetTime("as_of");
    if (!time.ok()) return ErrorResponse(time.status());
    auto evaluated = call.dependencies.runner->EvaluateAsOf(name, *time);
    return evaluated.ok() ? JsonResponse(*evaluated) : ErrorResponse(evaluated.status());
  }
  nlohmann::json body;
  Status read = call.dependencies.runner->Read(
      name, [&](const projections::Projection& projection, projections::StateReader&) {
        body = {{"projection", name}, {"state", projection.ToJson()}};
        return Status::Ok();
      });
  if (!read.ok()) return ErrorResponse(read);
  body["position"] = AppliedPosition(call, name);
  return JsonResponse(body);
}

HttpResponse RebuildProjection(ApiCall& call) {
  Status known = call.query.CheckKnown({});
  if (!known.ok()) return ErrorResponse(known);
  if (call.dependencies.runner == nullptr || call.dependencies.rebuilds == nullptr) {
    return NoProjections();
  }
  const std::string& name = call.path_params["name"];
  auto names = call.dependencies.runner->names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    return ErrorResponse(NotFound("no projection named '" + name + "'"));
  }
  Status started = call.dependencies.rebuilds->Start(name, call.actor);
  if (!started.ok()) return ErrorResponse(started);
  return JsonResponse({{"projection", name}, {"rebuilding", true}}, 202);
}

}  // namespace rollbook::server
