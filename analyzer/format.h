// Number and time formats shared by the analyzer's text, Markdown and HTML output. Every
// function is deterministic: the same input gives the same text on every machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rollbook::analyzer {

// Formats a duration for people: "850ms", "12.3s", "4m05s", "1h02m".
std::string FormatMs(int64_t ms);

// Formats an offset from the rollback's request: "+00:12.345", "+1:02:03.456".
std::string FormatOffset(int64_t ms);

// Formats a measured value: integers without a fraction, others with up to 3 decimals, and
// "none" for NaN.
std::string FormatValue(double value);

// Formats UTC nanoseconds as an RFC 3339 timestamp, or "none" for 0.
std::string FormatTime(int64_t ns);

// Returns "a, b, c", or `empty` when there are none.
std::string JoinList(const std::vector<std::string>& items, std::string_view empty = "none");

// Returns the positions as "#12, #15".
std::string FormatPositions(const std::vector<uint64_t>& positions);

}  // namespace rollbook::analyzer
