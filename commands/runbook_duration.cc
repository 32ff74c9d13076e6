// Durations in runbooks: "500ms", "30s", "5m", "1h", sequences such as "1h30m", or a bare
// integer of milliseconds.
#include <charconv>
#include <limits>

#include "commands/runbook.h"

namespace rollbook::commands {
namespace {

constexpr uint64_t kMsPerSecond = 1000;
constexpr uint64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr uint64_t kMsPerHour = 60 * kMsPerMinute;
// Longer than any rollback step or budget; larger values are almost certainly typos.
constexpr uint64_t kMaxDurationMs = 7 * 24 * kMsPerHour;

Status DurationError(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid duration \"" + std::string(text) + "\": " + std::string(why) +
                         "; write a whole number followed by ms, s, m or h, such as 500ms, 30s, "
                         "5m or 1h30m, or a bare number of milliseconds");
}

// Returns the unit's length in milliseconds and advances `rest` past it, or 0 when unknown.
uint64_t TakeUnit(std::string_view& rest) {
  if (rest.starts_with("ms")) {
    rest.remove_prefix(2);
    return 1;
  }
  if (rest.empty()) return 0;
  char unit = rest[0];
  rest.remove_prefix(1);
  if (unit == 's') return kMsPerSecond;
  if (unit == 'm') return kMsPerMinute;
  if (unit == 'h') return kMsPerHour;
  return 0;
}

}  // namespace

Result<uint64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return DurationError(text, "it is empty");

  uint64_t total = 0;
  std::string_view rest = text;
  bool first = true;
  while (!rest.empty()) {
    uint64_t number = 0;
    auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
    if (error == std::errc::result_out_of_range) return DurationError(text, "it is too large");
    if (error != std::errc() || end == rest.data()) {
      return DurationError(text, "expected a whole number at \"" + std::string(rest) + "\"");
    }
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));

    // A bare number is milliseconds, but only on its own: "1m30" is ambiguous.
    if (rest.empty() && first) {
      total = number;
      break;
    }
    if (rest.starts_with(".")) return DurationError(text, "fractions are not accepted");
    uint64_t unit = TakeUnit(rest);
    if (unit == 0) return DurationError(text, "unknown or missing unit");
    if (number > std::numeric_limits<uint64_t>::max() / unit ||
        total > std::numeric_limits<uint64_t>::max() - number * unit) {
      return DurationError(text, "it is too large");
    }
    total += number * unit;
    first = false;
  }

  if (total > kMaxDurationMs) return DurationError(text, "it is longer than 7 days");
  return total;
}

std::string FormatDuration(uint64_t ms) {
  if (ms == 0) return "0s";
  std::string text;
  uint64_t hours = ms / kMsPerHour;
  ms %= kMsPerHour;
  uint64_t minutes = ms / kMsPerMinute;
  ms %= kMsPerMinute;
  uint64_t seconds = ms / kMsPerSecond;
  ms %= kMsPerSecond;
  if (hours > 0) text += std::to_string(hours) + "h";
  if (minutes > 0) text += std::to_string(minutes) + "m";
  if (seconds > 0) text += std::to_string(seconds) + "s";
  if (ms > 0) text += std::to_string(ms) + "ms";
  return text;
}

}  // namespace rollbook::commands
