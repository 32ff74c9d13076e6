#include "ledger/event_json.h"

#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <kj/exception.h>

#include <istream>
#include <ostream>

#include "ledger/event_codec.h"
#include "ledger/ledger.h"
#include "ledger/payload.h"

namespace rollbook::ledger {
namespace {

struct AnnotatedCodec {
  AnnotatedCodec() { codec.handleByAnnotation<schema::Event>(); }
  capnp::JsonCodec codec;
};

capnp::JsonCodec& Codec() {
  thread_local AnnotatedCodec holder;
  return holder.codec;
}

}  // namespace

Result<std::string> EventToJson(const RecordedEvent& event) {
  auto view = EventView::Decode(event);
  if (!view.ok()) return view.status();
  try {
    capnp::MallocMessageBuilder message;
    message.setRoot(view->event());
    auto root = message.getRoot<schema::Event>();
    root.setHash(kj::arrayPtr(reinterpret_cast<const kj::byte*>(event.hash.data()), event.hash.size()));
    kj::String text = Codec().encode(root.asReader());
    return std::string(text.cStr(), text.size());
  } catch (const kj::Exception& e) {
    return Internal("cannot encode event " + std::to_string(event.position) + " as JSON: " +
                    e.getDescription().cStr());
  }
}

Result<RecordedEvent> EventFromJson(std::string_view line) {
  RecordedEvent event;
  try {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<schema::Event>();
    Codec().decode(kj::ArrayPtr<const char>(line.data(), line.size()), root);
    auto hash = root.getHash();
    event.hash.assign(reinterpret_cast<const char*>(hash.begin()), hash.size());
    if (event.hash.size() != kHashBytes) {
      return InvalidArgument("event has no 32-byte hash; is this a rollbook export?");
    }
    // The stored body never carries the hash field, not even an empty one.
    root.disownHash();
    kj::Array<capnp::word> canonical = capnp::canonicalize(root.asReader());
    auto bytes = canonical.asBytes();
    event.body.assign(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  } catch (const kj::Exception& e) {
    return InvalidArgument(std::string("invalid event JSON: ") + e.getDescription().cStr());
  }
  ROLLBOOK_RETURN_IF_ERROR(DecodeBody(event.body, &event));
  return event;
}

Result<uint64_t> ExportJsonLines(Ledger& ledger, const ReadOptions& options, std::ostream& out) {
  auto it = ledger.Read(options);
  if (!it.ok()) return it.status();
  uint64_t written = 0;
  for (; (*it)->Valid(); (*it)->Next()) {
    auto json = EventToJson((*it)->event());
    if (!json.ok()) return json.status();
    out << *json << '\n';
    ++written;
  }
  ROLLBOOK_RETURN_IF_ERROR((*it)->status());
  out.flush();
  if (!out) return IoError("cannot write the export: output stream failed");
  return written;
}

Result<uint64_t> ImportJsonLines(Ledger& ledger, std::istream& in) {
  if (ledger.HeadPosition() != 0) {
    return FailedPrecondition("import needs an empty ledger; this one has " +
                              std::to_string(ledger.HeadPosition()) + " events");
  }
  std::string line;
  uint64_t line_number = 0;
  uint64_t imported = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    std::string where = "line " + std::to_string(line_number);
    auto event = EventFromJson(line);
    if (!event.ok()) return event.status().WithContext(where);
    Status appended = ledger.AppendVerbatim(*event);
    if (!appended.ok()) return appended.WithContext(where);
    ++imported;
  }
  return imported;
}

}  // namespace rollbook::ledger
