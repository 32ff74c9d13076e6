#include "analyzer/action_items.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "analyzer/analysis_internal.h"
#include "analyzer/format.h"
#include "ledger/payload.h"

namespace rollbook::analyzer {
namespace {

// Appends on a conflict at most this many times before giving up.
constexpr int kAppendAttempts = 5;

uint64_t ItemNumber(const std::string& id) {
  if (id.size() < 4 || id.compare(0, 3, "ai-") != 0) return 0;
  uint64_t number = 0;
  for (size_t i = 3; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    number = number * 10 + static_cast<uint64_t>(id[i] - '0');
  }
  return number;
}

ledger::ExpectedVersion ExpectVersion(uint64_t version) {
  return version == 0 ? ledger::ExpectedVersion::NoStream()
                      : ledger::ExpectedVersion::Exactly(version);
}

Result<ledger::AppendResult> AppendToActions(ledger::Ledger& ledger, uint64_t version,
                                             const std::string& rollback_id,
                                             const std::string& actor, ledger::NewEvent event,
                                             const std::string& command_id = "") {
  ledger::AppendRequest request;
  request.stream = kActionStream;
  // The ledger returns the first result of a repeated command id before it checks the version.
  request.expected = ExpectVersion(version);
  request.actor = actor;
  request.correlation_id = rollback_id;
  request.command_id = command_id;
  request.events.push_back(std::move(event));
  return ledger.Append(request);
}

// Returns the id of the item that the actionItemAdded event at `position` added.
Result<std::string> AddedItemId(ledger::Ledger& ledger, uint64_t position) {
  auto event = ledger.ReadEvent(position);
  if (!event.ok()) return event.status();
  auto view = ledger::EventView::Decode(*event);
  if (!view.ok()) return view.status();
  if (!view->payload().isActionItemAdded()) {
    return Conflict("the command id of this action item was used for another command");
  }
  return ledger::ToString(view->payload().getActionItemAdded().getActionId());
}

}  // namespace

Result<std::string> AddActionItem(ledger::Ledger& ledger, const NewActionItem& item) {
  if (item.text.empty()) return InvalidArgument("the action item text is empty; say what to do");
  if (item.kind != "action" && item.kind != "lesson") {
    return InvalidArgument("unknown action item kind '" + item.kind + "'; use action or lesson");
  }
  for (int attempt = 1;; ++attempt) {
    auto version = ledger.StreamVersion(kActionStream);
    if (!version.ok()) return version.status();
    ROLLBOOK_RETURN_IF_ERROR(internal::CheckRollbackExists(ledger, item.rollback_id));
    auto action_events = internal::ReadActionEvents(ledger);
    if (!action_events.ok()) return action_events.status();
    uint64_t highest = 0;
    for (const ActionItem& other : internal::CollectActionItems(*action_events, "")) {
      highest = std::max(highest, ItemNumber(other.id));
    }
    std::string id = "ai-" + std::to_string(highest + 1);

    auto appended = AppendToActions(ledger, *version, item.rollback_id, item.actor,
                                    ledger::MakeEvent([&](schema::Payload::Builder payload) {
                                      auto added = payload.initActionItemAdded();
                                      added.setActionId(id);
                                      added.setRollbackId(item.rollback_id);
                                      added.setText(item.text);
                                      added.setOwner(item.owner);
                                      added.setDueAtNs(item.due_at_ns);
                                      added.setKind(item.kind);
                                    }),
                                    item.command_id);
    if (appended.ok() && appended->duplicate) return AddedItemId(ledger, appended->first_position);
    if (appended.ok()) {
      spdlog::info("{} {} added to rollback {} by {}", item.kind, id, item.rollback_id, item.actor);
      return id;
    }
    if (appended.status().code() != StatusCode::kConflict || attempt == kAppendAttempts) {
      return appended.status();
    }
    spdlog::warn("another writer added an action item first; retrying with the next id");
  }
}

Status ResolveActionItem(ledger::Ledger& ledger, const std::string& action_id,
                         const std::string& resolution, const std::string& actor) {
  for (int attempt = 1;; ++attempt) {
    auto version = ledger.StreamVersion(kActionStream);
    if (!version.ok()) return version.status();
    auto items = ListActionItems(ledger);
    if (!items.ok()) return items.status();
    auto found = std::find_if(items->begin(), items->end(),
                              [&](const ActionItem& item) { return item.id == action_id; });
    if (found == items->end()) {
      return NotFound("no action item " + action_id +
                      "; list the open ones with `rollbook action list`");
    }
    if (found->resolved) {
      return Conflict("action item " + action_id + " was already resolved by " +
                      found->resolved_by + " at " + FormatTime(found->resolved_at_ns));
    }

    auto appended = AppendToActions(ledger, *version, found->rollback_id, actor,
                                    ledger::MakeEvent([&](schema::Payload::Builder payload) {
                                      auto resolved = payload.initActionItemResolved();
                                      resolved.setActionId(action_id);
                                      resolved.setResolution(resolution);
                                    }));
    if (appended.ok()) {
      spdlog::info("action item {} resolved by {}", action_id, actor);
      return Status::Ok();
    }
    if (appended.status().code() != StatusCode::kConflict || attempt == kAppendAttempts) {
      return appended.status();
    }
  }
}

}  // namespace rollbook::analyzer
