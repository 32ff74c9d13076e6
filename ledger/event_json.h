// JSON form of events, produced from the Cap'n Proto schema (capnp::JsonCodec), never from
// per-type code: a new payload type appears in JSON without changes here.
//
// 64-bit integers are written as JSON strings by the codec (JavaScript numbers cannot hold them);
// hashes are lower-case hex. One event is one line, so exports are JSON Lines.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

#include "ledger/event.h"
#include "ledger/status.h"

namespace rollbook::ledger {

class Ledger;
struct ReadOptions;

// Returns the event as one line of JSON (no trailing newline), hash included.
Result<std::string> EventToJson(const RecordedEvent& event);

// Parses one exported line back into a stored event: body, hash and envelope. Fails with
// kInvalidArgument naming the problem when the line is not an exported event.
Result<RecordedEvent> EventFromJson(std::string_view line);

// Writes the selected events as JSON Lines. Returns the number written.
Result<uint64_t> ExportJsonLines(Ledger& ledger, const ReadOptions& options, std::ostream& out);

// Appends every event of a JSON Lines export to `ledger`, which must be empty, checking the
// chain as it goes. On a broken chain it stops and names the line and position; the events
// before it stay, so the caller should import into a new directory and remove it on failure.
Result<uint64_t> ImportJsonLines(Ledger& ledger, std::istream& in);

}  // namespace rollbook::ledger
