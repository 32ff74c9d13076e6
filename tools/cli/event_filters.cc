#include "tools/cli/event_filters.h"

#include <capnp/schema.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "ledger/event.capnp.h"
#include "ledger/time_format.h"

namespace rollbook::cli {
namespace {

// Parses a --since or --until value into UTC nanoseconds after 1970.
Result<int64_t> ParseTimeOption(std::string_view option, const std::string& text, int64_t now_ns) {
  auto parsed = ledger::ParseTimeOrAgo(text, now_ns);
  if (!parsed.ok()) {
    return InvalidArgument(fmt::format(
        "invalid time '{}' for {}: use RFC 3339 such as 2026-12-04T10:00:00Z, or a duration ago "
        "such as 90s, 15m, 2h or 7d",
        text, option));
  }
  if (*parsed <= 0) {
    return InvalidArgument(fmt::format(
        "time '{}' for {} is not after 1970-01-01T00:00:00Z; give a later time", text, option));
  }
  return *parsed;
}

}  // namespace

std::vector<std::string> KnownEventTypes() {
  std::vector<std::string> types;
  for (auto field : capnp::Schema::from<schema::Payload>().getUnionFields()) {
    kj::StringPtr name = field.getProto().getName();
    if (name != "unknown") types.emplace_back(name.cStr());
  }
  return types;
}

void AddEventFilterOptions(CLI::App& command, EventFilterArguments& arguments) {
  command.add_option("--stream", arguments.stream, "Only events of this stream");
  command.add_option("--type", arguments.types,
                     "Only events of this type, such as annotation; repeat for several types");
  command.add_option("--actor", arguments.actor, "Only events caused by this actor");
  command.add_option("--rollback", arguments.rollback,
                     "Only events of this rollback (correlation id), such as rb-3");
  command.add_option("--since", arguments.since,
                     "Only events recorded at or after this time: RFC 3339 UTC such as "
                     "2026-12-04T10:00:00Z, or a duration ago such as 15m, 2h or 7d");
  command.add_option("--until", arguments.until,
                     "Only events recorded before this time; same forms as --since");
  command.add_option_function<uint64_t>(
      "--after", [&arguments](const uint64_t& position) { arguments.after = position; },
      "Only events after this position");
  command.add_option_function<uint64_t>(
      "--before", [&arguments](const uint64_t& position) { arguments.before = position; },
      "Only events before this position");
  command.add_option("--limit", arguments.limit, "Print at most this many events; 0 prints all")
      ->capture_default_str();
  command.add_flag("--reverse", arguments.reverse, "Newest first");
}

Result<ledger::ReadOptions> ToReadOptions(const EventFilterArguments& arguments, int64_t now_ns,
                                          bool* empty) {
  ledger::ReadOptions options;
  options.stream = arguments.stream;
  options.actor = arguments.actor;
  options.correlation_id = arguments.rollback;
  options.backward = arguments.reverse;
  options.limit = arguments.limit == 0 ? std::numeric_limits<size_t>::max() : arguments.limit;

  std::vector<std::string> known = KnownEventTypes();
  for (const std::string& type : arguments.types) {
    if (std::find(known.begin(), known.end(), type) == known.end()) {
      return InvalidArgument(fmt::format("unknown event type '{}' for --type; known types: {}",
                                         type, fmt::join(known, ", ")));
    }
  }
  options.types = arguments.types;

  if (!arguments.since.empty()) {
    auto since = ParseTimeOption("--since", arguments.since, now_ns);
    if (!since.ok()) return since.status();
    options.since_ns = *since;
  }
  if (!arguments.until.empty()) {
    auto until = ParseTimeOption("--until", arguments.until, now_ns);
    if (!until.ok()) return until.status();
    options.until_ns = *until;
  }

  // --after and --before are exclusive bounds, but ReadOptions positions are inclusive.
  if (arguments.after) {
    if (*arguments.after == ledger::kLastPosition) {
      *empty = true;
    } else {
      options.from_position = *arguments.after + 1;
    }
  }
  if (arguments.before) {
    if (*arguments.before == 0) {
      *empty = true;
    } else {
      options.to_position = *arguments.before - 1;
    }
  }
  if (options.from_position > options.to_position) *empty = true;
  if (options.since_ns != 0 && options.until_ns != 0 && options.since_ns >= options.until_ns) {
    *empty = true;
  }
  return options;
}

}  // namespace rollbook::cli
