// Filtered, paged reads of the ledger, shared by the HTTP API and the CLI.
#pragma once

#include <cstdint>
#include <vector>

#include "ledger/event.h"
#include "ledger/status.h"
#include "projections/event_filter.h"

namespace rollbook::ledger {
class Ledger;
}

namespace rollbook::projections {

class ProjectionRunner;

struct EventPage {
  std::vector<ledger::RecordedEvent> events;
  // Position to pass as `after` for the next page. A full page ends at its last event. A page
  // that is not full ends at the head the query read up to, since nothing more matched.
  uint64_t next_after = 0;
  bool has_more = false;  // more matching events exist up to that head
};

// Returns up to `limit` events with positions after `after` that match `filter`, in position
// order, reading no further than the head at the time of the call. Positions only grow, so
// paging with next_after never skips or repeats an event, even while events are appended.
//
// The audit projection's index supplies candidates when `runner` has it and the filter names a
// component, rollback, actor or single type without a stream (the ledger indexes streams
// itself). The index covers events up to the audit checkpoint, and later events are scanned.
// Other filters scan the ledger.
Result<EventPage> QueryEvents(ledger::Ledger& ledger, ProjectionRunner* runner,
                              const EventFilter& filter, uint64_t after, size_t limit);

}  // namespace rollbook::projections
