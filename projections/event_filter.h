// Event filters shared by the audit projection, the HTTP API and the CLI.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/event.h"

namespace rollbook::projections {

// Selection criteria for events. Empty fields match everything, and every set field must match.
struct EventFilter {
  std::string stream;
  std::vector<std::string> types;  // any of these event types
  std::string actor;
  std::string component;    // events that name this component (see EventComponents)
  std::string rollback_id;  // events whose correlation id is this rollback
  int64_t since_ns = 0;     // recorded at or after, when non-zero
  int64_t until_ns = 0;     // recorded before, when non-zero

  // Returns a canonical text of the filter, equal for equal filters whatever the type order.
  std::string CanonicalText() const;
};

// Returns the components an event is about: the `component` field of its payload, or of the
// payload's `ref` (a StepRef), and every planned component of a rollbackRequested. Found by
// reflection over the schema, so a new payload type with such a field is covered unchanged.
// Returns an empty list for an event whose body cannot be decoded.
std::vector<std::string> EventComponents(const ledger::RecordedEvent& event);

// Returns whether `event` passes every set field of `filter`. Decodes the payload only when
// `filter.component` is set.
bool MatchesFilter(const EventFilter& filter, const ledger::RecordedEvent& event);

}  // namespace rollbook::projections
