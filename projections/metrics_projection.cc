#include "projections/metrics_projection.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "ledger/payload.h"
#include "projections/keyed_json.h"
#include "projections/rollback_state.h"

namespace rollbook::projections {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MetricsProjection::OutcomeStats, by_outcome, durations_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MetricsProjection::Group, requested, rejected, overall,
                                   by_environment, by_component, failed_steps_by_driver)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MetricsProjection::RollbackInfo, environment, kind,
                                   requested_at_ns, completed, drivers)

namespace {

using ledger::ToString;

constexpr std::string_view kGroupPrefix = "group/";
constexpr std::string_view kRollbackPrefix = "rollback/";
const char* const kGroupNames[] = {"production", "drills", "dry_runs"};

int64_t NsToMs(int64_t ns) { return ns / 1000000; }

void Record(MetricsProjection::OutcomeStats& stats, const std::string& outcome,
            int64_t duration_ms) {
  ++stats.by_outcome[outcome];
  stats.durations_ms.push_back(duration_ms);
}

nlohmann::json StatsToJson(const MetricsProjection::OutcomeStats& stats) {
  uint64_t completed = 0;
  for (const auto& [outcome, count] : stats.by_outcome) completed += count;
  auto succeeded = stats.by_outcome.find("succeeded");
  double success_rate =
      completed == 0 || succeeded == stats.by_outcome.end()
          ? 0.0
          : static_cast<double>(succeeded->second) / static_cast<double>(completed);
  return {{"completed", completed},
          {"by_outcome", stats.by_outcome},
          {"success_rate", success_rate},
          {"duration_ms",
           {{"p50", NearestRankPercentile(stats.durations_ms, 50)},
            {"p95", NearestRankPercentile(stats.durations_ms, 95)},
            {"max", NearestRankPercentile(stats.durations_ms, 100)}}}};
}

nlohmann::json GroupToJson(const MetricsProjection::Group& group, uint64_t active) {
  nlohmann::json environments = nlohmann::json::object();
  for (const auto& [name, stats] : group.by_environment) environments[name] = StatsToJson(stats);
  nlohmann::json components = nlohmann::json::object();
  for (const auto& [name, stats] : group.by_component) components[name] = StatsToJson(stats);
  nlohmann::json json = StatsToJson(group.overall);
  json["requested"] = group.requested;
  json["rejected"] = group.rejected;
  json["active"] = active;
  json["by_environment"] = std::move(environments);
  json["by_component"] = std::move(components);
  json["failed_steps_by_driver"] = group.failed_steps_by_driver;
  return json;
}

}  // namespace

int64_t NearestRankPercentile(std::vector<int64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

MetricsProjection::Group& MetricsProjection::GroupOf(const std::string& rollback_id,
                                                     RollbackInfo** info) {
  auto found = rollbacks_.find(rollback_id);
  if (found == rollbacks_.end()) {
    *info = nullptr;
    dirty_groups_.insert("production");
    return groups_["production"];
  }
  *info = &found->second;
  dirty_rollbacks_.insert(rollback_id);
  dirty_groups_.insert(found->second.kind);
  return groups_[found->second.kind];
}

void MetricsProjection::ApplyRequested(const ledger::RecordedEvent& event) {
  auto view = ledger::EventView::Decode(event);
  if (!view.ok()) return;
  auto requested = view->payload().getRollbackRequested();
  RollbackInfo info;
  info.environment = ToString(requested.getEnvironment());
  info.kind = requested.getDryRun() ? "dry_runs" : requested.getDrill() ? "drills" : "production";
  info.requested_at_ns = event.recorded_at_ns;
  for (auto component : requested.getPlan()) {
    for (auto step : component.getSteps()) {
      info.drivers[ToString(component.getName()) + "/" + ToString(step.getName())] =
          ToString(step.getDriver());
    }
  }
  ++groups_[info.kind].requested;
  dirty_groups_.insert(info.kind);
  std::string rollback_id = ToString(requested.getRollbackId());
  rollbacks_[rollback_id] = std::move(info);
  dirty_rollbacks_.insert(std::move(rollback_id));
}

void MetricsProjection::Apply(const ledger::RecordedEvent& event) {
  static const std::set<std::string_view> kRelevant = {"rollbackRequested", "rollbackRejected",
                                                       "rollbackCompleted", "componentCompleted",
                                                       "stepFailed"};
  if (kRelevant.count(event.type) == 0) return;
  if (event.type == "rollbackRequested") return ApplyRequested(event);
  if (event.type == "rollbackRejected") {
    ++groups_["production"].rejected;
    dirty_groups_.insert("production");
    return;
  }
  auto view = ledger::EventView::Decode(event);
  if (!view.ok()) return;
  auto payload = view->payload();
  RollbackInfo* info = nullptr;

  switch (payload.which()) {
    case schema::Payload::ROLLBACK_COMPLETED: {
      auto completed = payload.getRollbackCompleted();
      Group& group = GroupOf(ToString(completed.getRollbackId()), &info);
      std::string outcome(OutcomeName(static_cast<int>(completed.getOutcome())));
      int64_t duration_ns = completed.getDurationNs();
      if (duration_ns == 0 && info != nullptr)
        duration_ns = event.recorded_at_ns - info->requested_at_ns;
      int64_t duration_ms = NsToMs(duration_ns);
      Record(group.overall, outcome, duration_ms);
      if (info == nullptr) break;
      Record(group.by_environment[info->environment], outcome, duration_ms);
      info->completed = true;
      info->drivers.clear();
      break;
    }
    case schema::Payload::COMPONENT_COMPLETED: {
      auto completed = payload.getComponentCompleted();
      Group& group = GroupOf(ToString(completed.getRollbackId()), &info);
      Record(group.by_component[ToString(completed.getComponent())],
             std::string(OutcomeName(static_cast<int>(completed.getOutcome()))),
             NsToMs(completed.getDurationNs()));
      break;
    }
    case schema::Payload::STEP_FAILED: {
      auto failed = payload.getStepFailed();
      if (failed.getWillRetry()) break;  // only final failures count
      auto ref = failed.getRef();
      Group& group = GroupOf(ToString(ref.getRollbackId()), &info);
      std::string driver = "unknown";
      if (info != nullptr) {
        auto found =
            info->drivers.find(ToString(ref.getComponent()) + "/" + ToString(ref.getStep()));
        if (found != info->drivers.end()) driver = found->second;
      }
      ++group.failed_steps_by_driver[driver];
      break;
    }
    default:
      break;
  }
}

nlohmann::json MetricsProjection::ToJson() const {
  std::map<std::string, uint64_t> active;
  for (const auto& [id, info] : rollbacks_) {
    if (!info.completed) ++active[info.kind];
  }
  nlohmann::json json = nlohmann::json::object();
  for (const char* name : kGroupNames) {
    auto group = groups_.find(name);
    json[name] = GroupToJson(group == groups_.end() ? Group() : group->second, active[name]);
  }
  return json;
}

Status MetricsProjection::Save(StateWriter& writer) {
  for (const auto& kind : dirty_groups_) PutJsonEntry(writer, kGroupPrefix, kind, groups_.at(kind));
  for (const auto& id : dirty_rollbacks_) {
    PutJsonEntry(writer, kRollbackPrefix, id, rollbacks_.at(id));
  }
  dirty_groups_.clear();
  dirty_rollbacks_.clear();
  return Status::Ok();
}

Status MetricsProjection::Load(StateReader& reader) {
  groups_.clear();
  rollbacks_.clear();
  dirty_groups_.clear();
  dirty_rollbacks_.clear();
  ROLLBOOK_RETURN_IF_ERROR(LoadJsonEntries<Group>(
      reader, kName, kGroupPrefix,
      [&](std::string_view kind, Group group) { groups_.emplace(kind, std::move(group)); }));
  return LoadJsonEntries<RollbackInfo>(
      reader, kName, kRollbackPrefix,
      [&](std::string_view id, RollbackInfo info) { rollbacks_.emplace(id, std::move(info)); });
}

std::unique_ptr<Projection> MetricsProjection::NewDetached() const {
  return std::make_unique<MetricsProjection>();
}

}  // namespace rollbook::projections
