// Timestamps on the command line and in APIs: RFC 3339 in UTC or with an offset, or relative
// durations ("15m" meaning 15 minutes ago).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace rollbook::ledger {

// Parses "2026-12-04T10:00:00Z", "2026-12-04T10:00:00.250+01:00", or a plain integer of
// nanoseconds since the epoch. Returns UTC nanoseconds.
Result<int64_t> ParseTimestamp(std::string_view text);

// Parses a duration such as "500ms", "30s", "15m", "2h", "1d"; returns nanoseconds.
Result<int64_t> ParseDuration(std::string_view text);

// Parses a timestamp, or a duration meaning that long before `now_ns`.
Result<int64_t> ParseTimeOrAgo(std::string_view text, int64_t now_ns);

// Formats UTC nanoseconds as "2026-12-04T10:00:00.123Z".
std::string FormatTimestamp(int64_t ns);

int64_t NowNs();

}  // namespace rollbook::ledger
