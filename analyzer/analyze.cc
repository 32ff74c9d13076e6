// Reading the ledger for an analysis and running the analysis phases in order.
#include <spdlog/spdlog.h>

#include "analyzer/action_items.h"
#include "analyzer/analysis_internal.h"

namespace rollbook::analyzer {
namespace internal {

using ledger::ToString;

std::string StepKey(schema::StepRef::Reader ref) {
  return ToString(ref.getComponent()) + "/" + ToString(ref.getStep());
}

int64_t OffsetMs(const projections::RollbackState& rollback, int64_t at_ns) {
  return (at_ns - rollback.requested_at_ns) / 1000000;
}

namespace {

Result<LoadedEvent> Load(const ledger::RecordedEvent& event) {
  auto view = ledger::EventView::Decode(event);
  if (!view.ok()) {
    return view.status().WithContext("cannot decode event " + std::to_string(event.position));
  }
  return LoadedEvent{event, std::move(view).value()};
}

bool IsActionEvent(const std::string& type) {
  return type == "actionItemAdded" || type == "actionItemResolved";
}

}  // namespace

Result<LedgerReplay> ReplayLedger(ledger::Ledger& ledger, const std::string& rollback_id) {
  LedgerReplay replay;
  auto it = ledger.Read(ledger::ReadOptions{});
  if (!it.ok()) return it.status();
  for (; (*it)->Valid(); (*it)->Next()) {
    const ledger::RecordedEvent& event = (*it)->event();
    replay.head = event.position;
    replay.fold.Apply(event);
    bool mine = !rollback_id.empty() && event.correlation_id == rollback_id;
    if (!mine && event.type != "stepFailed" && !IsActionEvent(event.type)) continue;

    auto loaded = Load(event);
    if (!loaded.ok()) return loaded.status();
    if (event.type == "stepFailed") {
      auto ref = loaded->payload().getStepFailed().getRef();
      replay.failed_steps[event.correlation_id].insert(StepKey(ref));
    }
    if (IsActionEvent(event.type)) replay.action_events.push_back(*loaded);
    if (mine) replay.events.push_back(std::move(loaded).value());
  }
  ROLLBOOK_RETURN_IF_ERROR((*it)->status());
  if (!rollback_id.empty() && replay.fold.Find(rollback_id) == nullptr) {
    return NotFound("no rollback " + rollback_id +
                    " in this ledger; list the rollbacks with `rollbook status`");
  }
  return replay;
}

Status CheckRollbackExists(ledger::Ledger& ledger, const std::string& rollback_id) {
  // A rollback's first event, in its own stream, is its rollbackRequested.
  ledger::ReadOptions first;
  first.stream = rollback_id;
  first.limit = 1;
  auto it = ledger.Read(first);
  if (!it.ok()) return it.status();
  bool found = (*it)->Valid() && (*it)->event().type == "rollbackRequested";
  ROLLBOOK_RETURN_IF_ERROR((*it)->status());
  if (found) return Status::Ok();
  return NotFound("no rollback " + rollback_id +
                  " in this ledger; list the rollbacks with `rollbook status`");
}

Result<std::vector<LoadedEvent>> ReadActionEvents(ledger::Ledger& ledger) {
  ledger::ReadOptions actions;
  actions.stream = kActionStream;
  auto it = ledger.Read(actions);
  if (!it.ok()) return it.status();
  std::vector<LoadedEvent> events;
  for (; (*it)->Valid(); (*it)->Next()) {
    if (!IsActionEvent((*it)->event().type)) continue;
    auto loaded = Load((*it)->event());
    if (!loaded.ok()) return loaded.status();
    events.push_back(std::move(loaded).value());
  }
  ROLLBOOK_RETURN_IF_ERROR((*it)->status());
  return events;
}

}  // namespace internal

Result<Analysis> AnalyzeRollback(ledger::Ledger& ledger, const std::string& rollback_id) {
  auto replay = internal::ReplayLedger(ledger, rollback_id);
  if (!replay.ok()) return replay.status();

  Analysis analysis;
  analysis.rollback = *replay->fold.Find(rollback_id);
  analysis.ledger_head = replay->head;
  const auto& events = replay->events;
  internal::BuildTimeline(events, analysis);
  internal::MeasureTimings(analysis);
  internal::CollectStepEvents(events, analysis);
  internal::CheckGates(events, analysis);
  internal::CollectMonitoring(events, analysis);
  analysis.action_items = internal::CollectActionItems(replay->action_events, rollback_id);
  internal::CompareWithEarlier(*replay, analysis);
  internal::Recommend(events, analysis);
  spdlog::debug("analyzed {}: {} events, {} findings, {} recommendations", rollback_id,
                events.size(), analysis.findings.size(), analysis.recommendations.size());
  return analysis;
}

Result<std::vector<ActionItem>> ListActionItems(ledger::Ledger& ledger,
                                                const std::string& rollback_id) {
  if (!rollback_id.empty())
    ROLLBOOK_RETURN_IF_ERROR(internal::CheckRollbackExists(ledger, rollback_id));
  auto action_events = internal::ReadActionEvents(ledger);
  if (!action_events.ok()) return action_events.status();
  return internal::CollectActionItems(*action_events, rollback_id);
}

}  // namespace rollbook::analyzer
