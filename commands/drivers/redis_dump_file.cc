#include "commands/drivers/redis_dump_file.h"

#include <optional>

namespace rollbook::commands {
namespace {

constexpr std::string_view kMagic = "RBREDIS1";
constexpr char kRecordTag = 'K';
constexpr char kEndTag = 'E';

void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out += static_cast<char>((value >> shift) & 0xff);
  }
}

// Reads fields front to back; every read checks the remaining length.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  std::optional<uint64_t> Integer(int size) {
    if (bytes_.size() - pos_ < static_cast<size_t>(size)) return std::nullopt;
    uint64_t value = 0;
    for (int i = 0; i < size; ++i)
      value = (value << 8) | static_cast<unsigned char>(bytes_[pos_++]);
    return value;
  }
  std::optional<std::string_view> Bytes(uint64_t size) {
    if (bytes_.size() - pos_ < size) return std::nullopt;
    std::string_view view = bytes_.substr(pos_, size);
    pos_ += size;
    return view;
  }
  size_t pos() const { return pos_; }
  bool AtEnd() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

Status Malformed(const std::string& what, size_t offset) {
  return Corruption("redis-dump file is malformed: " + what + " at byte " + std::to_string(offset));
}

}  // namespace

Result<RedisDumpWriter> RedisDumpWriter::Open(const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return IoError("cannot open " + path + " for writing");
  out.write(kMagic.data(), kMagic.size());
  return RedisDumpWriter(std::move(out), path);
}

Status RedisDumpWriter::Add(std::string_view key, std::string_view payload, int64_t ttl_ms) {
  std::string record(1, kRecordTag);
  AppendBigEndian(record, key.size(), 4);
  record += key;
  AppendBigEndian(record, payload.size(), 4);
  record += payload;
  AppendBigEndian(record, static_cast<uint64_t>(ttl_ms), 8);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  if (!out_) return IoError("cannot write to " + path_);
  ++count_;
  return Status::Ok();
}

Status RedisDumpWriter::Finish() {
  std::string trailer(1, kEndTag);
  AppendBigEndian(trailer, count_, 8);
  out_.write(trailer.data(), static_cast<std::streamsize>(trailer.size()));
  out_.close();
  if (!out_) return IoError("cannot finish writing " + path_);
  return Status::Ok();
}

Result<std::vector<RedisDumpEntry>> ParseRedisDump(std::string_view bytes) {
  Reader reader(bytes);
  std::optional<std::string_view> magic = reader.Bytes(kMagic.size());
  if (!magic || *magic != kMagic) return Malformed("missing RBREDIS1 header", 0);

  std::vector<RedisDumpEntry> entries;
  while (true) {
    size_t offset = reader.pos();
    std::optional<uint64_t> tag = reader.Integer(1);
    if (!tag) return Malformed("missing trailer (truncated file)", offset);
    if (*tag == static_cast<unsigned char>(kEndTag)) break;
    if (*tag != static_cast<unsigned char>(kRecordTag)) return Malformed("unknown tag", offset);

    RedisDumpEntry entry;
    std::optional<uint64_t> key_size = reader.Integer(4);
    std::optional<std::string_view> key = key_size ? reader.Bytes(*key_size) : std::nullopt;
    std::optional<uint64_t> payload_size = key ? reader.Integer(4) : std::nullopt;
    std::optional<std::string_view> payload =
        payload_size ? reader.Bytes(*payload_size) : std::nullopt;
    std::optional<uint64_t> ttl = payload ? reader.Integer(8) : std::nullopt;
    if (!ttl) return Malformed("record cut short", offset);
    entries.push_back(
        RedisDumpEntry{std::string(*key), std::string(*payload), static_cast<int64_t>(*ttl)});
  }
  size_t trailer_offset = reader.pos();
  std::optional<uint64_t> count = reader.Integer(8);
  if (!count) return Malformed("trailer cut short (truncated file)", trailer_offset);
  if (*count != entries.size()) {
    return Malformed("trailer counts " + std::to_string(*count) + " records but the file has " +
                         std::to_string(entries.size()),
                     trailer_offset);
  }
  if (!reader.AtEnd()) return Malformed("data after the trailer", reader.pos());
  return entries;
}

}  // namespace rollbook::commands
