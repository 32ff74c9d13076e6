// Key layout of the ledger's column families. All integers are big-endian, so RocksDB's
// bytewise order is numeric order.
//
//   events   BE64(position)                      -> hash(32) || canonical body
//   streams  stream_id || 0x00 || BE64(version)  -> BE64(position)
//   commands command_id                          -> BE64(first) BE64(last) BE64(last version)
//   time     BE64(recorded_at_ns) || BE64(pos)   -> empty
//   meta     "head"                              -> BE64(position) || hash(32)
//            "ledger_id", "format_version"       -> text
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rollbook::ledger {

void AppendBigEndian64(std::string* out, uint64_t value);
uint64_t ReadBigEndian64(std::string_view bytes);  // REQUIRES: bytes.size() >= 8

std::string PositionKey(uint64_t position);
std::string StreamKey(std::string_view stream, uint64_t version);
std::string StreamPrefix(std::string_view stream);  // stream_id || 0x00
std::string TimeKey(int64_t recorded_at_ns, uint64_t position);

inline constexpr std::string_view kHeadKey = "head";
inline constexpr std::string_view kLedgerIdKey = "ledger_id";
inline constexpr std::string_view kFormatVersionKey = "format_version";
inline constexpr uint32_t kFormatVersion = 1;

}  // namespace rollbook::ledger
