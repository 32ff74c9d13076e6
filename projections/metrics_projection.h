// The `metrics` projection: rollback outcomes and timing.
//
// For each kind of rollback it keeps counts by outcome and the success rate (succeeded /
// completed). Time to roll back is rollbackCompleted.durationNs, or the time from request to
// completion when that is 0. It is summarized as p50, p95 and max overall and per environment,
// and per component from componentCompleted.durationNs. Final step failures count by driver.
// Real rollbacks count under "production". Drills (rollbackRequested.drill) and dry runs count
// under "drills" and "dry_runs", so they never skew the production figures. Percentiles use the
// nearest-rank method on every recorded duration.
//
// Stored entries (column family "metrics"), one JSON value each, written when changed:
// "group/<kind>" -> a group's counts and durations; "rollback/<id>" -> what later events of a
// rollback need (its kind, environment, request time and step drivers).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "projections/projection.h"

namespace rollbook::projections {

class MetricsProjection final : public Projection {
 public:
  static constexpr std::string_view kName = "metrics";

  std::string_view name() const override { return kName; }
  uint32_t format_version() const override { return 2; }
  void Apply(const ledger::RecordedEvent& event) override;
  Status Save(StateWriter& writer) override;
  Status Load(StateReader& reader) override;
  // {"production": group, "drills": group, "dry_runs": group}; see docs/http-api.md.
  nlohmann::json ToJson() const override;
  std::unique_ptr<Projection> NewDetached() const override;

  struct OutcomeStats {
    std::map<std::string, uint64_t> by_outcome;
    std::vector<int64_t> durations_ms;  // one per completion, in event order
  };

  struct Group {
    uint64_t requested = 0;
    uint64_t rejected = 0;
    OutcomeStats overall;
    std::map<std::string, OutcomeStats> by_environment;
    std::map<std::string, OutcomeStats> by_component;
    std::map<std::string, uint64_t> failed_steps_by_driver;
  };

  struct RollbackInfo {
    std::string environment;
    std::string kind;  // "production", "drills" or "dry_runs"
    int64_t requested_at_ns = 0;
    bool completed = false;
    std::map<std::string, std::string> drivers;  // "component/step" -> driver, until completed
  };

 private:
  Group& GroupOf(const std::string& rollback_id, RollbackInfo** info);
  void ApplyRequested(const ledger::RecordedEvent& event);

  std::map<std::string, Group> groups_;  // by kind
  std::map<std::string, RollbackInfo> rollbacks_;
  // Entries changed since the last Save().
  std::set<std::string> dirty_groups_;
  std::set<std::string> dirty_rollbacks_;
};

// Returns the nearest-rank percentile `p` (0 < p <= 100) of `values`, or 0 when empty.
int64_t NearestRankPercentile(std::vector<int64_t> values, double p);

}  // namespace rollbook::projections
