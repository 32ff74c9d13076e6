#include "projections/event_filter.h"

#include <capnp/dynamic.h>
#include <kj/exception.h>

#include <algorithm>

#include "ledger/payload.h"

namespace rollbook::projections {
namespace {

void AddUnique(std::vector<std::string>& names, std::string name) {
  if (name.empty()) return;
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
}

// Collects the `component` text field of `member` and of its `ref` struct, when they exist.
void CollectComponents(capnp::DynamicStruct::Reader member, std::vector<std::string>& names) {
  capnp::StructSchema schema = member.getSchema();
  KJ_IF_MAYBE (field, schema.findFieldByName("component")) {
    if (field->getType().isText()) {
      capnp::Text::Reader text = member.get(*field).as<capnp::Text>();
      AddUnique(names, std::string(text.cStr(), text.size()));
    }
  }
  KJ_IF_MAYBE (ref, schema.findFieldByName("ref")) {
    if (ref->getType().isStruct() && member.has(*ref)) {
      CollectComponents(member.get(*ref).as<capnp::DynamicStruct>(), names);
    }
  }
}

std::string JoinSorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  std::string joined;
  for (const auto& value : values) joined += value + ",";
  return joined;
}

}  // namespace

std::string EventFilter::CanonicalText() const {
  // Field separators are NUL bytes, which no filter value can contain after URL decoding checks.
  std::string text;
  for (const std::string& part : {stream, JoinSorted(types), actor, component, rollback_id,
                                  std::to_string(since_ns), std::to_string(until_ns)}) {
    text += part;
    text.push_back('\0');
  }
  return text;
}

std::vector<std::string> EventComponents(const ledger::RecordedEvent& event) {
  std::vector<std::string> names;
  auto view = ledger::EventView::Decode(event);
  if (!view.ok()) return names;
  try {
    schema::Payload::Reader payload = view->payload();
    if (payload.isRollbackRequested()) {
      for (auto planned : payload.getRollbackRequested().getPlan()) {
        AddUnique(names, ledger::ToString(planned.getName()));
      }
      return names;
    }
    capnp::DynamicStruct::Reader dynamic = capnp::toDynamic(payload);
    KJ_IF_MAYBE (member, dynamic.which()) {
      if (member->getType().isStruct()) {
        CollectComponents(dynamic.get(*member).as<capnp::DynamicStruct>(), names);
      }
    }
  } catch (const kj::Exception&) {
    // A body that decodes but whose payload does not is reported by `rollbook verify`; here it
    // just names no component.
    names.clear();
  }
  return names;
}

bool MatchesFilter(const EventFilter& filter, const ledger::RecordedEvent& event) {
  if (!filter.stream.empty() && event.stream != filter.stream) return false;
  if (!filter.actor.empty() && event.actor != filter.actor) return false;
  if (!filter.rollback_id.empty() && event.correlation_id != filter.rollback_id) return false;
  if (filter.since_ns != 0 && event.recorded_at_ns < filter.since_ns) return false;
  if (filter.until_ns != 0 && event.recorded_at_ns >= filter.until_ns) return false;
  if (!filter.types.empty() &&
      std::find(filter.types.begin(), filter.types.end(), event.type) == filter.types.end()) {
    return false;
  }
  if (!filter.component.empty()) {
    std::vector<std::string> components = EventComponents(event);
    if (std::find(components.begin(), components.end(), filter.component) == components.end()) {
      return false;
    }
  }
  return true;
}

}  // namespace rollbook::projections
