#include "ledger/event_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <vector>

#include "ledger/event.capnp.h"
#include "ledger/payload.h"

namespace rollbook::ledger {
namespace {

// Cap'n Proto needs 8-byte aligned words. A std::string longer than its inline buffer is heap
// allocated and so aligned; anything else is copied.
class AlignedBytes {
 public:
  explicit AlignedBytes(std::string_view bytes) {
    if (reinterpret_cast<uintptr_t>(bytes.data()) % sizeof(capnp::word) == 0 &&
        bytes.size() % sizeof(capnp::word) == 0) {
      words_ = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()),
                            bytes.size() / sizeof(capnp::word));
      return;
    }
    copy_.resize((bytes.size() + sizeof(capnp::word) - 1) / sizeof(capnp::word));
    std::memcpy(copy_.data(), bytes.data(), bytes.size());
    words_ = kj::arrayPtr(copy_.data(), copy_.size());
  }
  kj::ArrayPtr<const capnp::word> words() const { return words_; }

 private:
  std::vector<capnp::word> copy_;
  kj::ArrayPtr<const capnp::word> words_;
};

capnp::ReaderOptions StoredReaderOptions() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 64 * 1024 * 1024;  // 512 MiB, far above any accepted event
  return options;
}

}  // namespace

PreparedEvent::PreparedEvent() = default;
PreparedEvent::PreparedEvent(PreparedEvent&&) noexcept = default;
PreparedEvent& PreparedEvent::operator=(PreparedEvent&&) noexcept = default;
PreparedEvent::~PreparedEvent() = default;

Result<PreparedEvent> PrepareEvent(const EnvelopeInput& envelope, std::string_view payload,
                                   size_t max_payload_bytes) {
  if (payload.empty()) return InvalidArgument("event payload is empty; build it with MakeEvent()");
  if (payload.size() > max_payload_bytes) {
    return Status(StatusCode::kLimitExceeded,
                  "event payload is " + std::to_string(payload.size()) +
                      " bytes, above the limit of " + std::to_string(max_payload_bytes) +
                      " bytes; store large data in the backup store and reference it");
  }
  try {
    AlignedBytes aligned(payload);
    capnp::FlatArrayMessageReader reader(aligned.words());
    auto root = reader.getRoot<schema::Payload>();
    std::string type(PayloadTypeName(root.which()));
    if (root.which() == schema::Payload::UNKNOWN || type == "unknown") {
      return InvalidArgument("event payload has no known event type set");
    }
    PreparedEvent prepared;
    prepared.message = std::make_unique<capnp::MallocMessageBuilder>();
    auto event = prepared.message->initRoot<schema::Event>();
    event.setStreamId(*envelope.stream);
    event.setEventType(type);
    event.setActor(*envelope.actor);
    if (!envelope.correlation_id->empty()) event.setCorrelationId(*envelope.correlation_id);
    if (!envelope.causation_id->empty()) event.setCausationId(*envelope.causation_id);
    if (!envelope.command_id->empty()) event.setCommandId(*envelope.command_id);
    event.setPayload(root);
    prepared.type = std::move(type);
    return prepared;
  } catch (const kj::Exception& e) {
    return InvalidArgument(std::string("event payload is not a valid Cap'n Proto message: ") +
                           e.getDescription().cStr());
  }
}

std::string FinishBody(PreparedEvent& prepared, uint64_t position, uint64_t stream_version,
                       int64_t recorded_at_ns, const std::string& previous_hash) {
  auto event = prepared.message->getRoot<schema::Event>();
  event.setPosition(position);
  event.setStreamVersion(stream_version);
  event.setRecordedAtNs(recorded_at_ns);
  event.setPreviousHash(
      kj::arrayPtr(reinterpret_cast<const kj::byte*>(previous_hash.data()), previous_hash.size()));
  kj::Array<capnp::word> canonical = capnp::canonicalize(event.asReader());
  auto bytes = canonical.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

Status DecodeBody(std::string_view body, RecordedEvent* out) {
  try {
    AlignedBytes aligned(body);
    kj::ArrayPtr<const capnp::word> segments[1] = {aligned.words()};
    capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segments, 1), StoredReaderOptions());
    auto event = reader.getRoot<schema::Event>();
    out->position = event.getPosition();
    out->stream = ToString(event.getStreamId());
    out->stream_version = event.getStreamVersion();
    out->type = ToString(event.getEventType());
    out->recorded_at_ns = event.getRecordedAtNs();
    out->actor = ToString(event.getActor());
    out->correlation_id = ToString(event.getCorrelationId());
    out->causation_id = ToString(event.getCausationId());
    out->command_id = ToString(event.getCommandId());
    auto previous = event.getPreviousHash();
    out->previous_hash.assign(reinterpret_cast<const char*>(previous.begin()), previous.size());
    return Status::Ok();
  } catch (const kj::Exception& e) {
    return Corruption(std::string("event body does not decode: ") + e.getDescription().cStr());
  }
}

Status DecodeStoredValue(uint64_t position, std::string_view value, RecordedEvent* out) {
  if (value.size() <= kHashBytes) {
    return Corruption("stored event at position " + std::to_string(position) + " is only " +
                      std::to_string(value.size()) + " bytes");
  }
  out->hash.assign(value.data(), kHashBytes);
  out->body.assign(value.data() + kHashBytes, value.size() - kHashBytes);
  Status status = DecodeBody(out->body, out);
  if (!status.ok()) return status.WithContext("position " + std::to_string(position));
  return Status::Ok();
}

}  // namespace rollbook::ledger
