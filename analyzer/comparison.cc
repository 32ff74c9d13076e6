// Comparison with earlier rollbacks of the same feature and environment.
#include <algorithm>
#include <cmath>

#include "analyzer/analysis_internal.h"

namespace rollbook::analyzer::internal {
namespace {

// A change of at most this many percent against the mean counts as "about the same".
constexpr int64_t kSameDurationPercent = 10;

bool Comparable(const projections::RollbackState& candidate,
                const projections::RollbackState& rollback) {
  return candidate.feature == rollback.feature && candidate.environment == rollback.environment &&
         candidate.drill == rollback.drill && !candidate.dry_run && !candidate.Active() &&
         candidate.requested_position < rollback.requested_position;
}

std::vector<std::string> FailedSteps(const LedgerReplay& replay, const std::string& id) {
  auto found = replay.failed_steps.find(id);
  if (found == replay.failed_steps.end()) return {};
  return {found->second.begin(), found->second.end()};
}

// Durations are compared only with rollbacks of the same scope, because a full rollback does
// more work than a one-component one.
void SetTrend(Analysis& analysis) {
  Comparison& comparison = analysis.comparison;
  int64_t total = 0;
  for (const EarlierRollback& earlier : comparison.earlier) {
    if (earlier.scope != analysis.rollback.scope) continue;
    total += earlier.duration_ms;
    ++comparison.same_scope;
    comparison.previous_duration_ms = earlier.duration_ms;
  }
  if (comparison.same_scope == 0) {
    comparison.trend = "no earlier rollbacks of this scope";
    return;
  }
  comparison.mean_duration_ms = total / static_cast<int64_t>(comparison.same_scope);
  if (analysis.rollback.Active()) {
    comparison.trend = "not completed";
    return;
  }
  if (comparison.mean_duration_ms > 0) {
    double change = 100.0 *
                    static_cast<double>(analysis.duration_ms - comparison.mean_duration_ms) /
                    static_cast<double>(comparison.mean_duration_ms);
    comparison.change_percent = static_cast<int64_t>(std::llround(change));
  }
  if (std::llabs(comparison.change_percent) <= kSameDurationPercent) {
    comparison.trend = "about the same";
  } else {
    comparison.trend = comparison.change_percent < 0 ? "faster" : "slower";
  }
}

}  // namespace

void CompareWithEarlier(const LedgerReplay& replay, Analysis& analysis) {
  const projections::RollbackState& rollback = analysis.rollback;
  Comparison& comparison = analysis.comparison;
  for (const auto& [id, candidate] : replay.fold.rollbacks()) {
    if (!Comparable(candidate, rollback)) continue;
    comparison.earlier.push_back(
        EarlierRollback{id, candidate.requested_at_ns, candidate.scope,
                        std::string(projections::OutcomeName(candidate.outcome)),
                        candidate.duration_ns / 1000000, FailedSteps(replay, id)});
  }
  std::sort(comparison.earlier.begin(), comparison.earlier.end(),
            [&](const EarlierRollback& a, const EarlierRollback& b) {
              return replay.fold.Find(a.id)->requested_position <
                     replay.fold.Find(b.id)->requested_position;
            });
  SetTrend(analysis);

  for (const std::string& step : FailedSteps(replay, rollback.id)) {
    RecurringFailure recurring{step, {}};
    for (const EarlierRollback& earlier : comparison.earlier) {
      if (std::binary_search(earlier.failed_steps.begin(), earlier.failed_steps.end(), step)) {
        recurring.rollbacks.push_back(earlier.id);
      }
    }
    if (!recurring.rollbacks.empty()) comparison.recurring.push_back(std::move(recurring));
  }
}

}  // namespace rollbook::analyzer::internal
