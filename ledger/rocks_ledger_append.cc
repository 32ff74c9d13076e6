// The append path: validation, group commit and the hash chain.
//
// Appenders queue up; the one at the front of the queue is the leader. The leader takes every
// queued append, assigns positions and stream versions, chains hashes, and writes everything as
// one WriteBatch with one WAL sync. It then wakes the others with their results, and the next
// front of the queue leads the next batch. Appends that fail their checks (version conflict)
// are answered with an error and write nothing; the rest of the batch proceeds.
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "ledger/hash.h"
#include "ledger/keys.h"
#include "ledger/rocks_ledger.h"

namespace rollbook::ledger {
namespace {

constexpr size_t kMaxIdBytes = 200;
constexpr size_t kMaxEventsPerBatch = 16384;  // one leader writes at most this many events

bool IsValidStreamId(const std::string& stream) {
  if (stream.empty() || stream.size() > kMaxIdBytes) return false;
  if (!std::isalnum(static_cast<unsigned char>(stream[0]))) return false;
  return std::all_of(stream.begin(), stream.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':' || c == '/' || c == '@';
  });
}

bool IsPrintable(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
}

std::string DescribeExpected(const ExpectedVersion& expected) {
  switch (expected.kind) {
    case ExpectedVersion::Kind::kAny: return "any";
    case ExpectedVersion::Kind::kNoStream: return "no stream";
    case ExpectedVersion::Kind::kExact: return "version " + std::to_string(expected.version);
  }
  return "?";
}

std::string EncodeCommandRecord(const AppendResult& result) {
  std::string value;
  AppendBigEndian64(&value, result.first_position);
  AppendBigEndian64(&value, result.last_position);
  AppendBigEndian64(&value, result.last_stream_version);
  return value;
}

}  // namespace

struct RocksLedger::PendingAppend {
  const AppendRequest* request = nullptr;
  std::vector<PreparedEvent> events;
  std::optional<Result<AppendResult>> result;
  bool done = false;
  std::condition_variable woken;
};

// What one leader has decided so far for its batch, before the write.
struct RocksLedger::BatchState {
  rocksdb::WriteBatch batch;
  uint64_t head_position = 0;
  std::string head_hash;
  int64_t last_recorded_at_ns = 0;
  std::unordered_map<std::string, uint64_t> stream_versions;  // streams written in this batch
  std::unordered_map<std::string, AppendResult> commands;     // command ids in this batch
};

Status RocksLedger::ValidateRequest(const AppendRequest& request) const {
  if (options_.read_only) {
    return FailedPrecondition("ledger " + options_.directory + " is open read-only");
  }
  if (!IsValidStreamId(request.stream)) {
    return InvalidArgument("invalid stream id '" + request.stream +
                           "': use 1 to 200 characters from letters, digits and -_.:/@, "
                           "starting with a letter or digit");
  }
  if (request.events.empty()) {
    return InvalidArgument("append to stream '" + request.stream + "' has no events");
  }
  if (request.events.size() > options_.max_events_per_append) {
    return Status(StatusCode::kLimitExceeded,
                  "append to stream '" + request.stream + "' has " +
                      std::to_string(request.events.size()) + " events, above the limit of " +
                      std::to_string(options_.max_events_per_append) + "; split it");
  }
  for (const auto* field : {&request.actor, &request.command_id, &request.correlation_id,
                            &request.causation_id}) {
    if (field->size() > kMaxIdBytes || !IsPrintable(*field)) {
      return InvalidArgument("invalid actor, command, correlation or causation id '" + *field +
                             "': at most 200 printable characters");
    }
  }
  return Status::Ok();
}

Result<AppendResult> RocksLedger::Append(const AppendRequest& request) {
  ROLLBOOK_RETURN_IF_ERROR(ValidateRequest(request));

  // Decode and copy payloads before taking the queue, so that work runs in parallel.
  PendingAppend pending;
  pending.request = &request;
  pending.events.reserve(request.events.size());
  EnvelopeInput envelope{&request.stream, &request.actor, &request.correlation_id,
                         &request.causation_id, &request.command_id};
  for (size_t i = 0; i < request.events.size(); ++i) {
    auto prepared = PrepareEvent(envelope, request.events[i].payload, options_.max_event_bytes);
    if (!prepared.ok()) {
      return prepared.status().WithContext("event " + std::to_string(i + 1) + " of stream '" +
                                           request.stream + "'");
    }
    pending.events.push_back(std::move(prepared).value());
  }

  std::unique_lock<std::mutex> lock(queue_mutex_);
  if (!write_error_.ok()) return write_error_;
  queue_.push_back(&pending);
  pending.woken.wait(lock, [&] { return pending.done || queue_.front() == &pending; });
  if (pending.done) return std::move(*pending.result);
  RunLeader(lock, &pending);
  return std::move(*pending.result);
}

void RocksLedger::RunLeader(std::unique_lock<std::mutex>& lock, PendingAppend* leader) {
  // Take the queued appends up to the batch limit. Later arrivals wait for the next leader.
  std::vector<PendingAppend*> batch;
  size_t event_count = 0;
  for (PendingAppend* pending : queue_) {
    if (!batch.empty() && event_count + pending->events.size() > kMaxEventsPerBatch) break;
    batch.push_back(pending);
    event_count += pending->events.size();
  }
  assert(batch.front() == leader);
  Status previous_error = write_error_;
  lock.unlock();

  BatchState state;
  state.head_position = head_position_;
  state.head_hash = head_hash_;
  state.last_recorded_at_ns = last_recorded_at_ns_;
  Status write_status = previous_error;
  if (write_status.ok()) {
    BuildBatch(batch, state);
    std::string head_value;
    AppendBigEndian64(&head_value, state.head_position);
    head_value += state.head_hash;
    state.batch.Put(families_[kMeta], std::string(kHeadKey), head_value);

    rocksdb::WriteOptions write_options;
    write_options.sync = options_.sync;
    rocksdb::Status written = db_->Write(write_options, &state.batch);
    if (!written.ok()) {
      write_status = IoError("ledger write failed: " + written.ToString() +
                             "; the ledger rejects appends until it is reopened");
      spdlog::critical("ledger {}: {}", options_.directory, write_status.message());
    }
  }

  if (write_status.ok()) {
    head_position_ = state.head_position;
    head_hash_ = state.head_hash;
    last_recorded_at_ns_ = state.last_recorded_at_ns;
    if (stream_versions_.size() > 1000000) stream_versions_.clear();  // bound the cache
    for (auto& [stream, version] : state.stream_versions) stream_versions_[stream] = version;
    PublishCommit(state.head_position);
  }

  lock.lock();
  if (!write_status.ok()) write_error_ = write_status;
  for (PendingAppend* pending : batch) {
    if (!write_status.ok()) pending->result.emplace(write_status);
    pending->done = true;
    queue_.pop_front();
    if (pending != leader) pending->woken.notify_one();
  }
  if (!queue_.empty()) queue_.front()->woken.notify_one();
}

void RocksLedger::BuildBatch(const std::vector<PendingAppend*>& batch, BatchState& state) {
  for (PendingAppend* pending : batch) BuildOne(*pending, state);
}

void RocksLedger::BuildOne(PendingAppend& pending, BatchState& state) {
  const AppendRequest& request = *pending.request;

  // A repeated command id returns the first result and writes nothing.
  if (!request.command_id.empty()) {
    if (auto earlier = FindCommand(request.command_id, state)) {
      earlier->duplicate = true;
      pending.result.emplace(*earlier);
      return;
    }
  }

  auto current = CurrentStreamVersion(request.stream, state);
  if (!current.ok()) {
    pending.result.emplace(current.status());
    return;
  }
  const ExpectedVersion& expected = request.expected;
  bool matches = expected.kind == ExpectedVersion::Kind::kAny ||
                 (expected.kind == ExpectedVersion::Kind::kNoStream && *current == 0) ||
                 (expected.kind == ExpectedVersion::Kind::kExact && *current == expected.version);
  if (!matches) {
    pending.result.emplace(Conflict("stream '" + request.stream + "' expected " +
                                    DescribeExpected(expected) + " but is at version " +
                                    std::to_string(*current) +
                                    "; re-read the stream and retry"));
    return;
  }

  AppendResult result;
  result.first_position = state.head_position + 1;
  uint64_t version = *current;
  for (PreparedEvent& event : pending.events) {
    uint64_t position = ++state.head_position;
    ++version;
    // Recorded time never decreases, even when the wall clock steps back.
    int64_t now = std::max(options_.wall_clock_ns(), state.last_recorded_at_ns);
    state.last_recorded_at_ns = now;
    std::string body = FinishBody(event, position, version, now, state.head_hash);
    std::string hash = ChainHash(state.head_hash, body);

    std::string value;
    value.reserve(kHashBytes + body.size());
    value += hash;
    value += body;
    std::string position_value = PositionKey(position);
    state.batch.Put(families_[kEvents], position_value, value);
    state.batch.Put(families_[kStreams], StreamKey(request.stream, version), position_value);
    state.batch.Put(families_[kTime], TimeKey(now, position), rocksdb::Slice());
    state.head_hash = std::move(hash);
  }
  result.last_position = state.head_position;
  result.last_stream_version = version;
  state.stream_versions[request.stream] = version;
  if (!request.command_id.empty()) {
    state.batch.Put(families_[kCommands], request.command_id, EncodeCommandRecord(result));
    state.commands[request.command_id] = result;
  }
  pending.result.emplace(result);
}

Result<uint64_t> RocksLedger::CurrentStreamVersion(const std::string& stream,
                                                   const BatchState& state) {
  if (auto it = state.stream_versions.find(stream); it != state.stream_versions.end()) {
    return it->second;
  }
  if (auto it = stream_versions_.find(stream); it != stream_versions_.end()) return it->second;
  auto stored = StreamVersion(stream);
  if (!stored.ok()) return stored.status();
  stream_versions_[stream] = *stored;
  return *stored;
}

std::optional<AppendResult> RocksLedger::FindCommand(const std::string& command_id,
                                                     const BatchState& state) {
  if (auto it = state.commands.find(command_id); it != state.commands.end()) return it->second;
  std::string value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), families_[kCommands], command_id, &value);
  if (!status.ok() || value.size() != 24) return std::nullopt;
  AppendResult result;
  result.first_position = ReadBigEndian64(value);
  result.last_position = ReadBigEndian64(std::string_view(value).substr(8));
  result.last_stream_version = ReadBigEndian64(std::string_view(value).substr(16));
  return result;
}

Result<uint64_t> RocksLedger::StreamVersion(const std::string& stream) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), families_[kStreams]));
  std::string prefix = StreamPrefix(stream);
  it->SeekForPrev(StreamKey(stream, kLastPosition));
  if (!it->status().ok()) return IoError("cannot read stream '" + stream + "': " + it->status().ToString());
  if (!it->Valid() || !it->key().starts_with(prefix) || it->key().size() != prefix.size() + 8) {
    return uint64_t{0};
  }
  return ReadBigEndian64(std::string_view(it->key().data() + prefix.size(), 8));
}

Status RocksLedger::AppendVerbatim(const RecordedEvent& event) {
  std::unique_lock<std::mutex> lock(queue_mutex_);
  if (options_.read_only) return FailedPrecondition("ledger is open read-only");
  if (!write_error_.ok()) return write_error_;
  if (!queue_.empty()) return FailedPrecondition("verbatim appends need an idle ledger");
  std::string where = "event at position " + std::to_string(event.position);
  if (event.position != head_position_ + 1) {
    return InvalidArgument(where + " does not follow the head " + std::to_string(head_position_));
  }
  if (event.previous_hash != head_hash_) {
    return Corruption(where + " does not chain to the head: its previous hash differs");
  }
  if (ChainHash(event.previous_hash, event.body) != event.hash) {
    return Corruption(where + " has a hash that does not match its content");
  }
  RecordedEvent decoded;
  ROLLBOOK_RETURN_IF_ERROR(DecodeBody(event.body, &decoded));
  if (decoded.position != event.position) {
    return Corruption(where + " carries position " + std::to_string(decoded.position));
  }
  auto current = StreamVersion(decoded.stream);
  if (!current.ok()) return current.status();
  if (decoded.stream_version != *current + 1) {
    return Corruption(where + " has stream version " + std::to_string(decoded.stream_version) +
                      " but stream '" + decoded.stream + "' is at " + std::to_string(*current));
  }

  rocksdb::WriteBatch batch;
  std::string position_value = PositionKey(event.position);
  batch.Put(families_[kEvents], position_value, event.hash + event.body);
  batch.Put(families_[kStreams], StreamKey(decoded.stream, decoded.stream_version), position_value);
  batch.Put(families_[kTime], TimeKey(decoded.recorded_at_ns, event.position), rocksdb::Slice());
  if (!decoded.command_id.empty()) {
    // Keep imported command ids idempotent: the record spans all events of that command.
    BatchState none;
    AppendResult record{event.position, event.position, decoded.stream_version, false};
    if (auto earlier = FindCommand(decoded.command_id, none)) record.first_position = earlier->first_position;
    batch.Put(families_[kCommands], decoded.command_id, EncodeCommandRecord(record));
  }
  std::string head_value = position_value + event.hash;
  batch.Put(families_[kMeta], std::string(kHeadKey), head_value);
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  rocksdb::Status written = db_->Write(write_options, &batch);
  if (!written.ok()) {
    write_error_ = IoError("ledger write failed: " + written.ToString());
    return write_error_;
  }
  head_position_ = event.position;
  head_hash_ = event.hash;
  last_recorded_at_ns_ = std::max(last_recorded_at_ns_, decoded.recorded_at_ns);
  stream_versions_[decoded.stream] = decoded.stream_version;
  PublishCommit(head_position_);
  return Status::Ok();
}

}  // namespace rollbook::ledger
