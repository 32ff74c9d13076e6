#include "ledger/time_format.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace rollbook::ledger {
namespace {

bool ParseDigits(std::string_view text, size_t at, size_t count, int* out) {
  if (at + count > text.size()) return false;
  int value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

Status BadTimestamp(std::string_view text) {
  return InvalidArgument("invalid timestamp '" + std::string(text) +
                         "': use RFC 3339 such as 2026-12-04T10:00:00Z, or nanoseconds since 1970");
}

}  // namespace

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<int64_t> ParseTimestamp(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 19) return BadTimestamp(text);
    return static_cast<int64_t>(std::stoll(std::string(text)));
  }
  int year, month, day, hour, minute, second;
  if (text.size() < 20 || !ParseDigits(text, 0, 4, &year) || text[4] != '-' ||
      !ParseDigits(text, 5, 2, &month) || text[7] != '-' || !ParseDigits(text, 8, 2, &day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !ParseDigits(text, 11, 2, &hour) ||
      text[13] != ':' || !ParseDigits(text, 14, 2, &minute) || text[16] != ':' ||
      !ParseDigits(text, 17, 2, &second)) {
    return BadTimestamp(text);
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return BadTimestamp(text);
  }
  size_t at = 19;
  int64_t fraction_ns = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    int64_t scale = 100000000;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fraction_ns += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
  }
  int64_t offset_seconds = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int offset_hour, offset_minute;
    if (!ParseDigits(text, at + 1, 2, &offset_hour) || at + 3 >= text.size() ||
        text[at + 3] != ':' || !ParseDigits(text, at + 4, 2, &offset_minute)) {
      return BadTimestamp(text);
    }
    offset_seconds = (offset_hour * 3600 + offset_minute * 60) * (text[at] == '+' ? 1 : -1);
    at += 6;
  } else {
    return BadTimestamp(text);
  }
  if (at != text.size()) return BadTimestamp(text);

  std::tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  int64_t seconds = static_cast<int64_t>(timegm(&parts)) - offset_seconds;
  return seconds * 1000000000 + fraction_ns;
}

Result<int64_t> ParseDuration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string_view unit = text.substr(digits);
  int64_t scale = 0;
  if (unit == "ms")
    scale = 1000000;
  else if (unit == "s")
    scale = 1000000000;
  else if (unit == "m")
    scale = 60LL * 1000000000;
  else if (unit == "h")
    scale = 3600LL * 1000000000;
  else if (unit == "d")
    scale = 86400LL * 1000000000;
  if (digits == 0 || digits > 9 || scale == 0) {
    return InvalidArgument("invalid duration '" + std::string(text) +
                           "': use a number and a unit, such as 500ms, 30s, 15m, 2h or 1d");
  }
  return std::stoll(std::string(text.substr(0, digits))) * scale;
}

Result<int64_t> ParseTimeOrAgo(std::string_view text, int64_t now_ns) {
  auto duration = ParseDuration(text);
  if (duration.ok()) return now_ns - *duration;
  auto timestamp = ParseTimestamp(text);
  if (timestamp.ok()) return timestamp;
  return InvalidArgument("invalid time '" + std::string(text) +
                         "': use a duration ago such as 15m, 2h or 7d, RFC 3339 such as "
                         "2026-12-04T10:00:00Z, or nanoseconds since 1970");
}

std::string FormatTimestamp(int64_t ns) {
  std::time_t seconds = static_cast<std::time_t>(ns / 1000000000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[80];  // room for any int fields, so that the compiler can prove no truncation
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>((ns % 1000000000) / 1000000));
  return text;
}

}  // namespace rollbook::ledger
