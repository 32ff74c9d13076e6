#include "ledger/keys.h"

namespace rollbook::ledger {

void AppendBigEndian64(std::string* out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

uint64_t ReadBigEndian64(std::string_view bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

std::string PositionKey(uint64_t position) {
  std::string key;
  key.reserve(8);
  AppendBigEndian64(&key, position);
  return key;
}

std::string StreamPrefix(std::string_view stream) {
  std::string key(stream);
  key.push_back('\0');
  return key;
}

std::string StreamKey(std::string_view stream, uint64_t version) {
  std::string key = StreamPrefix(stream);
  AppendBigEndian64(&key, version);
  return key;
}

std::string TimeKey(int64_t recorded_at_ns, uint64_t position) {
  std::string key;
  key.reserve(16);
  // Times before 1970 do not occur; the cast keeps the order of non-negative values.
  AppendBigEndian64(&key, static_cast<uint64_t>(recorded_at_ns));
  AppendBigEndian64(&key, position);
  return key;
}

}  // namespace rollbook::ledger
