// Drill history: `rollbook drill --history`, from the drillCompleted events a drill rollback
// appends when it ends. Drills are grouped by feature, environment and scope.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/status.h"

namespace rollbook::analyzer {

struct DrillResult {
  uint64_t position = 0;
  int64_t recorded_at_ns = 0;
  std::string rollback_id;
  std::string feature;
  std::string environment;
  std::string scope;
  std::string outcome;
  int64_t duration_ms = 0;
  uint64_t budget_ms = 0;
  bool within_budget = false;
  bool dry_run = false;
};

struct DrillGroup {
  std::string feature;
  std::string environment;
  std::string scope;
  std::vector<DrillResult> drills;  // oldest first
  size_t succeeded = 0;
  size_t within_budget = 0;
  int64_t success_percent = 0;  // rounded
  int64_t mean_ms = 0;
  int64_t best_ms = 0;
  int64_t worst_ms = 0;
  // The later half of the drills against the earlier half: "faster", "slower",
  // "about the same" (within 10%), or "one drill" when there is only one.
  std::string trend;
};

// Reads every drillCompleted event; a drill without one (still running, or its process died)
// is not listed.
Result<std::vector<DrillResult>> ListDrills(ledger::Ledger& ledger);

// Groups drills by feature, environment and scope, in that sort order.
std::vector<DrillGroup> SummarizeDrills(const std::vector<DrillResult>& drills);

std::string DrillHistoryText(const std::vector<DrillGroup>& groups);
nlohmann::ordered_json DrillHistoryJson(const std::vector<DrillGroup>& groups);

}  // namespace rollbook::analyzer
