// Action items and lessons learned: recorded as events in the ledger stream "actions", with the
// rollback's id as correlation id, and tracked until an actionItemResolved event closes them.
//
// Item ids are "ai-<n>", numbered per ledger. Both functions append with an expected version of
// the "actions" stream, so two writers racing for the same number cannot both succeed. The
// loser reads the stream again and takes the next number.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/ledger.h"
#include "ledger/status.h"

namespace rollbook::analyzer {

inline constexpr char kActionStream[] = "actions";

struct NewActionItem {
  std::string rollback_id;
  std::string text;
  std::string owner;            // optional
  int64_t due_at_ns = 0;        // optional; 0 when none
  std::string kind = "action";  // "action" or "lesson"
  std::string actor;
  std::string command_id;  // optional: a repeated id returns the first item's id, adding nothing
};

// Appends an actionItemAdded event and returns the new item's id. Fails with kInvalidArgument
// for empty text or an unknown kind, kNotFound when the rollback is not in the ledger.
Result<std::string> AddActionItem(ledger::Ledger& ledger, const NewActionItem& item);

// Appends an actionItemResolved event for `action_id`. Fails with kNotFound for an unknown id
// and kConflict when the item is already resolved.
Status ResolveActionItem(ledger::Ledger& ledger, const std::string& action_id,
                         const std::string& resolution, const std::string& actor);

}  // namespace rollbook::analyzer
