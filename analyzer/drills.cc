#include "analyzer/drills.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "analyzer/format.h"
#include "ledger/payload.h"
#include "projections/rollback_state.h"

namespace rollbook::analyzer {
namespace {

using ledger::ToString;

// A change of at most this many percent counts as "about the same".
constexpr double kSamePercent = 10;

int64_t Mean(const std::vector<DrillResult>& drills, size_t begin, size_t end) {
  int64_t total = 0;
  for (size_t i = begin; i < end; ++i) total += drills[i].duration_ms;
  return end > begin ? total / static_cast<int64_t>(end - begin) : 0;
}

std::string Trend(const std::vector<DrillResult>& drills) {
  if (drills.size() < 2) return "one drill";
  size_t half = drills.size() / 2;
  int64_t earlier = Mean(drills, 0, half);
  int64_t later = Mean(drills, drills.size() - half, drills.size());
  if (earlier == 0) return later == 0 ? "about the same" : "slower";
  double change = 100.0 * static_cast<double>(later - earlier) / static_cast<double>(earlier);
  if (std::fabs(change) <= kSamePercent) return "about the same";
  return change < 0 ? "faster" : "slower";
}

}  // namespace

Result<std::vector<DrillResult>> ListDrills(ledger::Ledger& ledger) {
  auto it = ledger.Read(ledger::ReadOptions{});
  if (!it.ok()) return it.status();
  projections::RollbackFold fold;
  std::vector<DrillResult> drills;
  for (; (*it)->Valid(); (*it)->Next()) {
    const ledger::RecordedEvent& event = (*it)->event();
    fold.Apply(event);
    if (event.type != "drillCompleted") continue;
    auto view = ledger::EventView::Decode(event);
    if (!view.ok()) return view.status().WithContext("event " + std::to_string(event.position));
    auto drill = view->payload().getDrillCompleted();
    DrillResult result;
    result.position = event.position;
    result.recorded_at_ns = event.recorded_at_ns;
    result.rollback_id = ToString(drill.getRollbackId());
    result.scope = ToString(drill.getScope());
    result.environment = ToString(drill.getEnvironment());
    result.outcome = std::string(projections::OutcomeName(static_cast<int>(drill.getOutcome())));
    result.duration_ms = drill.getDurationNs() / 1000000;
    result.budget_ms = drill.getBudgetMs();
    result.within_budget = drill.getWithinBudget();
    if (const projections::RollbackState* rollback = fold.Find(result.rollback_id)) {
      result.feature = rollback->feature;
      result.dry_run = rollback->dry_run;
    }
    drills.push_back(std::move(result));
  }
  ROLLBOOK_RETURN_IF_ERROR((*it)->status());
  return drills;
}

std::vector<DrillGroup> SummarizeDrills(const std::vector<DrillResult>& drills) {
  std::map<std::tuple<std::string, std::string, std::string>, DrillGroup> groups;
  for (const DrillResult& drill : drills) {
    DrillGroup& group = groups[{drill.feature, drill.environment, drill.scope}];
    group.feature = drill.feature;
    group.environment = drill.environment;
    group.scope = drill.scope;
    group.drills.push_back(drill);
  }
  std::vector<DrillGroup> summaries;
  for (auto& [key, group] : groups) {
    group.best_ms = group.drills.front().duration_ms;
    group.worst_ms = group.drills.front().duration_ms;
    for (const DrillResult& drill : group.drills) {
      if (drill.outcome == "succeeded") ++group.succeeded;
      if (drill.within_budget) ++group.within_budget;
      group.best_ms = std::min(group.best_ms, drill.duration_ms);
      group.worst_ms = std::max(group.worst_ms, drill.duration_ms);
    }
    group.success_percent = std::llround(100.0 * static_cast<double>(group.succeeded) /
                                         static_cast<double>(group.drills.size()));
    group.mean_ms = Mean(group.drills, 0, group.drills.size());
    group.trend = Trend(group.drills);
    summaries.push_back(std::move(group));
  }
  return summaries;
}

std::string DrillHistoryText(const std::vector<DrillGroup>& groups) {
  if (groups.empty())
    return "no drills recorded yet; run one with `rollbook drill --env staging`\n";
  std::string text;
  for (const DrillGroup& group : groups) {
    text += fmt::format(
        "{} in {}, scope {}: {} drills, {}% succeeded, {} within budget, mean {}, "
        "best {}, worst {}, trend {}\n",
        group.feature, group.environment, group.scope, group.drills.size(), group.success_percent,
        group.within_budget, FormatMs(group.mean_ms), FormatMs(group.best_ms),
        FormatMs(group.worst_ms), group.trend);
    for (const DrillResult& drill : group.drills) {
      text += fmt::format(
          "  {}  {:<8} {:<18} {:>8} of {:<8} {}{}\n", FormatTime(drill.recorded_at_ns),
          drill.rollback_id, drill.outcome, FormatMs(drill.duration_ms),
          drill.budget_ms == 0 ? "no budget" : FormatMs(static_cast<int64_t>(drill.budget_ms)),
          drill.within_budget ? "within budget" : "OVER BUDGET", drill.dry_run ? " (dry run)" : "");
    }
  }
  return text;
}

nlohmann::ordered_json DrillHistoryJson(const std::vector<DrillGroup>& groups) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const DrillGroup& group : groups) {
    nlohmann::ordered_json drills = nlohmann::ordered_json::array();
    for (const DrillResult& drill : group.drills) {
      drills.push_back({{"rollback_id", drill.rollback_id},
                        {"position", drill.position},
                        {"at", FormatTime(drill.recorded_at_ns)},
                        {"outcome", drill.outcome},
                        {"duration_ms", drill.duration_ms},
                        {"budget_ms", drill.budget_ms},
                        {"within_budget", drill.within_budget},
                        {"dry_run", drill.dry_run}});
    }
    list.push_back({{"feature", group.feature},
                    {"environment", group.environment},
                    {"scope", group.scope},
                    {"drills", group.drills.size()},
                    {"succeeded", group.succeeded},
                    {"success_percent", group.success_percent},
                    {"within_budget", group.within_budget},
                    {"mean_ms", group.mean_ms},
                    {"best_ms", group.best_ms},
                    {"worst_ms", group.worst_ms},
                    {"trend", group.trend},
                    {"history", std::move(drills)}});
  }
  return list;
}

}  // namespace rollbook::analyzer
