// Encoding of stored events: the canonical body and the decoding of its envelope.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ledger/event.h"
#include "ledger/status.h"

namespace capnp {
class MallocMessageBuilder;
}

namespace rollbook::ledger {

// An event prepared outside the append lock: the envelope fields that do not depend on the
// ledger's state are set, and the payload is copied in. The append leader fills the rest.
struct PreparedEvent {
  PreparedEvent();
  PreparedEvent(PreparedEvent&&) noexcept;
  PreparedEvent& operator=(PreparedEvent&&) noexcept;
  ~PreparedEvent();

  std::unique_ptr<capnp::MallocMessageBuilder> message;
  std::string type;
};

struct EnvelopeInput {
  const std::string* stream = nullptr;
  const std::string* actor = nullptr;
  const std::string* correlation_id = nullptr;
  const std::string* causation_id = nullptr;
  const std::string* command_id = nullptr;
};

// Checks that `payload` is a valid serialized schema::Payload with a known member set, and
// builds the prepared event. Fails with kInvalidArgument naming the problem.
Result<PreparedEvent> PrepareEvent(const EnvelopeInput& envelope, std::string_view payload,
                                   size_t max_payload_bytes);

// Sets the ledger-assigned fields and returns the canonical body bytes.
std::string FinishBody(PreparedEvent& event, uint64_t position, uint64_t stream_version,
                       int64_t recorded_at_ns, const std::string& previous_hash);

// Decodes the envelope of a stored value (hash || body) into `out`, keeping body and hash.
Status DecodeStoredValue(uint64_t position, std::string_view value, RecordedEvent* out);

// Decodes only the envelope fields of a body (no hash) into `out`.
Status DecodeBody(std::string_view body, RecordedEvent* out);

}  // namespace rollbook::ledger
