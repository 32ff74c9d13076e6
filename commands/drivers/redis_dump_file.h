// The "redis-dump" backup format: keys with their DUMP payloads and remaining time to live.
//
// Layout, version 1; integers are unsigned big-endian unless noted:
//   header   8 bytes  "RBREDIS1"
//   record   1 byte   'K'
//            4 bytes  key length, then the key's bytes
//            4 bytes  payload length, then the payload: the reply of DUMP for the key, which is
//                     Redis's own serialization with its RDB version and a CRC64 checksum
//            8 bytes  signed remaining time to live in milliseconds when the backup was taken
//                     (the PTTL reply), -1 for a key without expiry
//   trailer  1 byte   'E'
//            8 bytes  number of records
// A file that ends before the trailer, or whose trailer count differs, is rejected as corrupt.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace rollbook::commands {

struct RedisDumpEntry {
  std::string key;
  std::string payload;  // DUMP reply
  int64_t ttl_ms = -1;  // -1: no expiry
};

// Writes a redis-dump file. Call Finish() after the last Add(); a file without the trailer is
// invalid by design.
class RedisDumpWriter {
 public:
  static Result<RedisDumpWriter> Open(const std::string& path);

  Status Add(std::string_view key, std::string_view payload, int64_t ttl_ms);
  Status Finish();
  uint64_t count() const { return count_; }

 private:
  RedisDumpWriter(std::ofstream out, std::string path) : out_(std::move(out)), path_(path) {}

  std::ofstream out_;
  std::string path_;
  uint64_t count_ = 0;
};

// Parses a whole redis-dump file. Fails with kCorruption naming the byte offset of the problem.
Result<std::vector<RedisDumpEntry>> ParseRedisDump(std::string_view bytes);

}  // namespace rollbook::commands
