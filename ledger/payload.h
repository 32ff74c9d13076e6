// Building payloads for appends and decoding stored events. Includes the generated Cap'n Proto
// header, so only code that creates or inspects payloads includes this file.
#pragma once

#include <capnp/message.h>
#include <kj/array.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "ledger/event.capnp.h"
#include "ledger/event.h"
#include "ledger/status.h"

namespace rollbook::ledger {

// Serializes a built Payload message into NewEvent::payload form.
std::string SerializePayload(capnp::MessageBuilder& message);

// Builds a NewEvent by calling `fill` with a schema::Payload::Builder, for example:
//   MakeEvent([&](schema::Payload::Builder p) { p.initAnnotation().setText("paged ops"); });
template <typename Fill>
NewEvent MakeEvent(Fill&& fill) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<schema::Payload>());
  return NewEvent{SerializePayload(message)};
}

// Returns the event type name of a payload member, such as "stepFailed", or "unknown".
std::string_view PayloadTypeName(schema::Payload::Which which);

// Decodes a RecordedEvent's body. Keeps its own aligned copy, so the RecordedEvent may go away.
class EventView {
 public:
  // Fails with kCorruption when the body is not a valid message.
  static Result<EventView> Decode(const RecordedEvent& event);
  static Result<EventView> Decode(std::string_view body);

  schema::Event::Reader event() const { return root_; }
  schema::Payload::Reader payload() const { return root_.getPayload(); }

 private:
  struct Storage;
  EventView() = default;
  std::shared_ptr<const Storage> storage_;  // owns the words root_ points into
  schema::Event::Reader root_;
};

// Converts Cap'n Proto text to std::string.
inline std::string ToString(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

}  // namespace rollbook::ledger
