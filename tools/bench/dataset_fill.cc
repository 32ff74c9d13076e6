// Filling a ledger for the replay, verify, growth and memory benchmarks.
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "tools/bench/dataset.h"

namespace rollbook::bench {
namespace {

struct FillState {
  std::atomic<uint64_t> next_chunk{0};
  std::atomic<uint64_t> rollbacks{0};
  std::mutex mutex;
  Status first_error;  // guarded by mutex
};

// Appends `events` to `stream`; `correlation_id` names the rollback they belong to, if any.
Status AppendTo(ledger::Ledger& ledger, const std::string& stream,
                std::vector<ledger::NewEvent> events, const std::string& correlation_id = "") {
  ledger::AppendRequest request;
  request.stream = stream;
  request.actor = "bench";
  request.correlation_id = correlation_id;
  request.events = std::move(events);
  auto appended = ledger.Append(request);
  return appended.ok() ? Status::Ok() : appended.status();
}

// Appends chunks of annotation events; some chunks also carry a probe event or a rollback.
Status FillChunks(ledger::Ledger& ledger, const Workload& workload, const FillOptions& options,
                  size_t thread_index, FillState& state) {
  uint64_t chunks = (options.events + options.events_per_append - 1) / options.events_per_append;
  uint64_t probe_every =
      std::max<uint64_t>(1, chunks / std::max<uint64_t>(1, options.probe_events));
  uint64_t rollback_every =
      std::max<uint64_t>(1, options.rollback_every / options.events_per_append);
  std::mt19937_64 random(0xf111 + thread_index);

  for (;;) {
    uint64_t chunk = state.next_chunk.fetch_add(1);
    if (chunk >= chunks) return Status::Ok();
    std::vector<ledger::NewEvent> events;
    for (size_t i = 0; i < options.events_per_append; ++i) {
      events.push_back(workload.Payload(chunk * options.events_per_append + i));
    }
    ROLLBOOK_RETURN_IF_ERROR(AppendTo(ledger, workload.ChooseStream(random), std::move(events)));

    if (options.probe_events > 0 && chunk % probe_every == 0 &&
        chunk / probe_every < options.probe_events) {
      ROLLBOOK_RETURN_IF_ERROR(AppendTo(ledger, kProbeStream, {workload.Payload(chunk)}));
    }
    if (options.rollback_every > 0 && chunk % rollback_every == rollback_every - 1) {
      uint64_t number = state.rollbacks.fetch_add(1) + 1;
      std::string id = "rb-" + std::to_string(number);
      ROLLBOOK_RETURN_IF_ERROR(AppendTo(ledger, id, MakeRollbackEvents(number), id));
    }
  }
}

}  // namespace

Status FlushLedgerMemtables(const std::string& directory) {
  std::vector<std::string> names;
  rocksdb::Status status = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), directory, &names);
  if (!status.ok())
    return IoError("cannot list column families of " + directory + ": " + status.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names)
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  status = rocksdb::DB::Open(rocksdb::DBOptions(), directory, descriptors, &handles, &raw);
  if (!status.ok()) return IoError("cannot open " + directory + ": " + status.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  status = db->Flush(rocksdb::FlushOptions(), handles);
  for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
  if (!status.ok()) return IoError("flush of " + directory + " failed: " + status.ToString());
  status = db->Close();
  if (!status.ok()) return IoError("closing " + directory + " failed: " + status.ToString());
  return Status::Ok();
}

Result<FillResult> FillLedger(const Workload& workload, const FillOptions& options) {
  if (options.events_per_append == 0 || options.threads == 0) {
    return InvalidArgument("fill needs at least one event per append and one thread");
  }
  ledger::Options ledger_options;
  ledger_options.directory = options.directory;
  ledger_options.sync = false;
  ledger_options.owner = "rollbook-bench fill";
  auto ledger = ledger::Ledger::Create(ledger_options, "bench");
  if (!ledger.ok()) return ledger.status();

  FillState state;
  auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      Status filled = FillChunks(**ledger, workload, options, t, state);
      if (filled.ok()) return;
      std::lock_guard<std::mutex> lock(state.mutex);
      if (state.first_error.ok()) state.first_error = filled;
      state.next_chunk = UINT64_MAX / 2;  // stops the other threads at their next chunk
    });
  }
  for (auto& thread : threads) thread.join();
  if (!state.first_error.ok()) return state.first_error;

  FillResult result;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto info = (*ledger)->Info();
  if (!info.ok()) return info.status();
  result.head = info->head_position;
  result.size_on_disk_bytes = info->size_on_disk_bytes;
  result.rollbacks = state.rollbacks;
  return result;
}

}  // namespace rollbook::bench
