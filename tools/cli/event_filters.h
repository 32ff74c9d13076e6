// The event filters shared by `log` and `export`, and their conversion to ledger read options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace CLI {
class App;
}

namespace rollbook::cli {

struct EventFilterArguments {
  std::string stream;
  std::vector<std::string> types;
  std::string actor;
  std::string rollback;  // correlation id
  std::string since;
  std::string until;
  std::optional<uint64_t> after;
  std::optional<uint64_t> before;
  size_t limit = 0;  // 0 means no limit
  bool reverse = false;
};

// Registers --stream, --type, --actor, --rollback, --since, --until, --after, --before, --limit
// and --reverse on `command`. `arguments` must outlive the parse.
void AddEventFilterOptions(CLI::App& command, EventFilterArguments& arguments);

// Converts parsed filters to read options. Fails with kInvalidArgument naming the option for an
// unparsable time or an unknown event type. Sets `*empty` when the position range is empty.
Result<ledger::ReadOptions> ToReadOptions(const EventFilterArguments& arguments, int64_t now_ns,
                                          bool* empty);

// Returns the payload member names of the event schema, such as "annotation", in schema order.
std::vector<std::string> KnownEventTypes();

}  // namespace rollbook::cli
