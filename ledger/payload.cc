#include "ledger/payload.h"

#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>

namespace rollbook::ledger {

std::string SerializePayload(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

std::string_view PayloadTypeName(schema::Payload::Which which) {
  // The union's member names come from the schema, so a new member needs no code here.
  static const capnp::StructSchema schema = capnp::Schema::from<schema::Payload>();
  auto fields = schema.getUnionFields();
  for (auto field : fields) {
    if (field.getProto().getDiscriminantValue() == static_cast<uint16_t>(which)) {
      auto name = field.getProto().getName();
      return std::string_view(name.cStr(), name.size());
    }
  }
  return "unknown";
}

struct EventView::Storage {
  explicit Storage(std::string_view body)
      : words(kj::heapArray<capnp::word>((body.size() + 7) / 8)) {
    std::memset(words.begin(), 0, words.size() * sizeof(capnp::word));
    std::memcpy(words.begin(), body.data(), body.size());
    segments[0] = words.asPtr();
  }
  kj::Array<capnp::word> words;
  kj::ArrayPtr<const capnp::word> segments[1];
  std::unique_ptr<capnp::SegmentArrayMessageReader> reader;
};

Result<EventView> EventView::Decode(std::string_view body) {
  try {
    auto storage = std::make_shared<Storage>(body);
    capnp::ReaderOptions options;
    options.traversalLimitInWords = 64 * 1024 * 1024;
    // A canonical body is a single segment without a segment table.
    storage->reader = std::make_unique<capnp::SegmentArrayMessageReader>(
        kj::arrayPtr(storage->segments, 1), options);
    EventView view;
    view.root_ = storage->reader->getRoot<schema::Event>();
    view.storage_ = std::move(storage);
    return view;
  } catch (const kj::Exception& e) {
    return Corruption(std::string("event body does not decode: ") + e.getDescription().cStr());
  }
}

Result<EventView> EventView::Decode(const RecordedEvent& event) { return Decode(event.body); }

}  // namespace rollbook::ledger
