#include "projections/event_query.h"

#include <algorithm>
#include <optional>

#include "ledger/ledger.h"
#include "projections/audit_projection.h"
#include "projections/runner.h"

namespace rollbook::projections {
namespace {

// How many index entries one scan of the audit index returns.
constexpr size_t kIndexBatch = 256;

struct IndexChoice {
  AuditIndex index;
  std::string value;
};

std::optional<IndexChoice> ChooseIndex(const EventFilter& filter) {
  if (!filter.stream.empty()) return std::nullopt;
  if (!filter.component.empty()) return IndexChoice{AuditIndex::kComponent, filter.component};
  if (!filter.rollback_id.empty()) return IndexChoice{AuditIndex::kRollback, filter.rollback_id};
  if (!filter.actor.empty()) return IndexChoice{AuditIndex::kActor, filter.actor};
  if (filter.types.size() == 1) return IndexChoice{AuditIndex::kType, filter.types[0]};
  return std::nullopt;
}

bool HasAudit(ProjectionRunner* runner) {
  if (runner == nullptr) return false;
  auto names = runner->names();
  return std::find(names.begin(), names.end(), AuditProjection::kName) != names.end();
}

// Collects matches from the audit index for positions in (after, min(checkpoint, head)], up to
// `wanted` events. Returns the position up to which the range was fully examined.
Result<uint64_t> CollectFromIndex(ledger::Ledger& ledger, ProjectionRunner& runner,
                                  const EventFilter& filter, const IndexChoice& choice,
                                  uint64_t after, uint64_t head, size_t wanted,
                                  std::vector<ledger::RecordedEvent>* events) {
  uint64_t examined = after;
  Status status = runner.Read(AuditProjection::kName, [&](const Projection&, StateReader& stored) {
    uint64_t bound = std::min(stored.checkpoint(), head);
    if (bound <= after) return Status::Ok();
    uint64_t cursor = after;
    while (events->size() < wanted) {
      std::vector<uint64_t> positions;
      ROLLBOOK_RETURN_IF_ERROR(AuditProjection::FindPositions(stored, choice.index, choice.value,
                                                              cursor, kIndexBatch, &positions));
      for (uint64_t position : positions) {
        if (position > bound) break;
        auto event = ledger.ReadEvent(position);
        if (!event.ok()) return event.status();
        cursor = position;
        if (MatchesFilter(filter, *event)) events->push_back(std::move(event).value());
        if (events->size() == wanted) break;
      }
      bool exhausted =
          positions.size() < kIndexBatch || (!positions.empty() && positions.back() > bound);
      if (exhausted && events->size() < wanted) {
        cursor = bound;
        break;
      }
    }
    examined = cursor;
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return examined;
}

Status CollectFromLedger(ledger::Ledger& ledger, const EventFilter& filter, uint64_t after,
                         uint64_t head, size_t wanted, std::vector<ledger::RecordedEvent>* events) {
  if (after >= head) return Status::Ok();
  ledger::ReadOptions read;
  read.from_position = after + 1;
  read.to_position = head;
  read.stream = filter.stream;
  read.types = filter.types;
  read.actor = filter.actor;
  read.correlation_id = filter.rollback_id;
  read.since_ns = filter.since_ns;
  read.until_ns = filter.until_ns;
  auto it = ledger.Read(read);
  if (!it.ok()) return it.status();
  for (; (*it)->Valid() && events->size() < wanted; (*it)->Next()) {
    if (MatchesFilter(filter, (*it)->event())) events->push_back((*it)->event());
  }
  return (*it)->status();
}

}  // namespace

Result<EventPage> QueryEvents(ledger::Ledger& ledger, ProjectionRunner* runner,
                              const EventFilter& filter, uint64_t after, size_t limit) {
  EventPage page;
  uint64_t head = ledger.HeadPosition();
  size_t wanted = limit + 1;  // one more than asked, to learn whether there are more
  uint64_t scan_from = after;

  std::optional<IndexChoice> choice = ChooseIndex(filter);
  if (choice && HasAudit(runner)) {
    auto examined =
        CollectFromIndex(ledger, *runner, filter, *choice, after, head, wanted, &page.events);
    if (!examined.ok()) return examined.status();
    scan_from = std::max(after, *examined);
  }
  if (page.events.size() < wanted) {
    ROLLBOOK_RETURN_IF_ERROR(
        CollectFromLedger(ledger, filter, scan_from, head, wanted, &page.events));
  }

  // Both sources yield ascending positions: the ledger's time index does too, because recording
  // times never decrease along positions.
  if (page.events.size() > limit) {
    page.events.resize(limit);
    page.has_more = true;
    page.next_after = page.events.empty() ? after : page.events.back().position;
  } else {
    // The page reached the head: the next one starts after it, also when `after` was beyond
    // the head (such as after a ledger was restored), so that no new event is skipped.
    page.next_after = head;
  }
  return page;
}

}  // namespace rollbook::projections
