// Internals of the analyzer shared by analyzer/*.cc. Includes the generated Cap'n Proto header,
// so only analyzer sources include it.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "ledger/payload.h"

namespace rollbook::analyzer::internal {

// One event of the analyzed rollback with its payload decoded.
struct LoadedEvent {
  ledger::RecordedEvent event;
  ledger::EventView view;

  schema::Payload::Reader payload() const { return view.payload(); }
  uint64_t position() const { return event.position; }
};

// Everything one pass over the ledger collects for an analysis.
struct LedgerReplay {
  std::vector<LoadedEvent> events;  // the rollback's events (its correlation id), by position
  projections::RollbackFold fold;   // every rollback in the ledger
  // Rollback id -> "component/step" of every step that had a failed attempt.
  std::map<std::string, std::set<std::string>> failed_steps;
  // Every actionItemAdded and actionItemResolved event of the ledger, by position. A resolution
  // names only the item, so it is matched by id whatever its correlation id.
  std::vector<LoadedEvent> action_events;
  uint64_t head = 0;
};

// Reads the whole ledger once. Fails with kNotFound when `rollback_id` is not in it; an empty
// id collects the action events only.
Result<LedgerReplay> ReplayLedger(ledger::Ledger& ledger, const std::string& rollback_id);

// Fails with kNotFound unless `rollback_id` names a rollback of the ledger. Reads one event.
Status CheckRollbackExists(ledger::Ledger& ledger, const std::string& rollback_id);

// Returns the action item events of the ledger (its "actions" stream), by position.
Result<std::vector<LoadedEvent>> ReadActionEvents(ledger::Ledger& ledger);

// Returns "component/step".
std::string StepKey(schema::StepRef::Reader ref);

// Returns one sentence saying what the event did, and sets `subject` to what it is about.
std::string DescribeEvent(const LoadedEvent& loaded, std::string& subject);

// Milliseconds from the rollback's request to `at_ns`.
int64_t OffsetMs(const projections::RollbackState& rollback, int64_t at_ns);

// The analysis phases, in the order AnalyzeRollback() runs them. Each reads the events and
// what earlier phases filled in.
void BuildTimeline(const std::vector<LoadedEvent>& events, Analysis& analysis);
void MeasureTimings(Analysis& analysis);
void CollectStepEvents(const std::vector<LoadedEvent>& events, Analysis& analysis);
void CheckGates(const std::vector<LoadedEvent>& events, Analysis& analysis);
void CollectMonitoring(const std::vector<LoadedEvent>& events, Analysis& analysis);
// Returns the items added for `rollback_id` (every rollback when empty) with their resolutions.
std::vector<ActionItem> CollectActionItems(const std::vector<LoadedEvent>& action_events,
                                           const std::string& rollback_id);
void CompareWithEarlier(const LedgerReplay& replay, Analysis& analysis);
void Recommend(const std::vector<LoadedEvent>& events, Analysis& analysis);

}  // namespace rollbook::analyzer::internal
