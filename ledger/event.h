// Plain C++ views of events going into and coming out of the ledger.
//
// This header stays light: it does not include Cap'n Proto. Code that builds or reads payloads
// includes ledger/payload.h.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace rollbook::ledger {

// Position 0 means "before the first event"; real events start at 1.
inline constexpr uint64_t kBeforeFirst = 0;
inline constexpr uint64_t kLastPosition = std::numeric_limits<uint64_t>::max();
inline constexpr size_t kHashBytes = 32;

// An event to append. Build one with MakeEvent() from ledger/payload.h.
struct NewEvent {
  // A single-segment Cap'n Proto message whose root is schema::Payload, as raw bytes.
  std::string payload;
};

// Which stream version an append expects to find before it writes.
struct ExpectedVersion {
  enum class Kind { kAny, kNoStream, kExact };
  Kind kind = Kind::kAny;
  uint64_t version = 0;  // used with kExact only: the stream's current last version

  static ExpectedVersion Any() { return {Kind::kAny, 0}; }
  static ExpectedVersion NoStream() { return {Kind::kNoStream, 0}; }
  static ExpectedVersion Exactly(uint64_t version) { return {Kind::kExact, version}; }
};

struct AppendRequest {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::Any();
  std::vector<NewEvent> events;
  std::string command_id;  // optional idempotency key; empty means none
  std::string actor;
  std::string correlation_id;
  std::string causation_id;
};

struct AppendResult {
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  uint64_t last_stream_version = 0;
  bool duplicate = false;  // true when the command id had been appended before: nothing written
};

// One stored event with its envelope decoded. `body` keeps the exact stored bytes, so a reader
// can re-hash or decode the payload (see EventView in ledger/payload.h).
struct RecordedEvent {
  uint64_t position = 0;
  std::string stream;
  uint64_t stream_version = 0;
  std::string type;
  int64_t recorded_at_ns = 0;
  std::string actor;
  std::string correlation_id;
  std::string causation_id;
  std::string command_id;
  std::string previous_hash;  // 32 raw bytes
  std::string hash;           // 32 raw bytes
  std::string body;           // canonical Cap'n Proto bytes of schema::Event, hash unset
};

// Returns the lower-case hex form of raw bytes.
std::string ToHex(const std::string& bytes);

}  // namespace rollbook::ledger
