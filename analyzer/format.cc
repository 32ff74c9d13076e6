#include "analyzer/format.h"

#include <fmt/core.h>

#include <cmath>

#include "ledger/time_format.h"

namespace rollbook::analyzer {

std::string FormatMs(int64_t ms) {
  if (ms < 0) return "-" + FormatMs(-ms);
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60000) return fmt::format("{}.{}s", ms / 1000, (ms % 1000) / 100);
  if (ms < 3600000) return fmt::format("{}m{:02}s", ms / 60000, (ms % 60000) / 1000);
  return fmt::format("{}h{:02}m", ms / 3600000, (ms % 3600000) / 60000);
}

std::string FormatOffset(int64_t ms) {
  std::string sign = ms < 0 ? "-" : "+";
  if (ms < 0) ms = -ms;
  int64_t hours = ms / 3600000;
  int64_t minutes = (ms % 3600000) / 60000;
  int64_t seconds = (ms % 60000) / 1000;
  if (hours > 0)
    return fmt::format("{}{}:{:02}:{:02}.{:03}", sign, hours, minutes, seconds, ms % 1000);
  return fmt::format("{}{:02}:{:02}.{:03}", sign, minutes, seconds, ms % 1000);
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "none";
  if (std::isinf(value)) return value > 0 ? "infinity" : "-infinity";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  std::string text = fmt::format("{:.3f}", value);
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

std::string FormatTime(int64_t ns) { return ns == 0 ? "none" : ledger::FormatTimestamp(ns); }

std::string JoinList(const std::vector<std::string>& items, std::string_view empty) {
  if (items.empty()) return std::string(empty);
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

std::string FormatPositions(const std::vector<uint64_t>& positions) {
  std::string text;
  for (uint64_t position : positions) {
    text += (text.empty() ? "#" : ", #") + std::to_string(position);
  }
  return text;
}

}  // namespace rollbook::analyzer
