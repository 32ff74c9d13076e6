#include "tools/bench/append_bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

namespace rollbook::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadCount = 100;
constexpr auto kReadInterval = std::chrono::milliseconds(10);
constexpr uint64_t kSubscriberLag = 10000;

// State shared by the benchmark threads.
struct Shared {
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> claimed{0};  // appends started, for count-bound runs
  std::mutex mutex;
  Status first_error;                 // guarded by mutex
  std::vector<int64_t> latencies_ns;  // guarded by mutex
  uint64_t appends = 0;               // guarded by mutex
  uint64_t retries = 0;               // guarded by mutex

  void Fail(const Status& status) {
    std::lock_guard<std::mutex> lock(mutex);
    if (first_error.ok()) first_error = status;
    stop = true;
  }
};

void WaitForGo(const Shared& shared) {
  while (!shared.go.load(std::memory_order_acquire)) std::this_thread::yield();
}

void RunWriter(size_t index, Session& session, const Workload& workload,
               const AppendBenchOptions& options, Clock::time_point& deadline, Shared& shared) {
  std::mt19937_64 random(0x5eed + index);
  std::vector<const ledger::NewEvent*> events(options.events_per_append);
  std::vector<int64_t> latencies;
  uint64_t done = 0;
  uint64_t payload = index * 7919;
  WaitForGo(shared);

  while (!shared.stop.load(std::memory_order_relaxed)) {
    if (options.duration.count() == 0 && shared.claimed.fetch_add(1) >= options.appends) break;
    if (options.duration.count() > 0 && Clock::now() >= deadline) break;
    for (auto& event : events) event = &workload.Payload(payload++);
    std::string stream = workload.ChooseStream(random);

    auto started = Clock::now();
    Status appended = session.Append(stream, events);
    if (!appended.ok()) {
      shared.Fail(appended);
      break;
    }
    if (options.record_latency) {
      latencies.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count());
    }
    ++done;
  }

  std::lock_guard<std::mutex> lock(shared.mutex);
  shared.appends += done;
  shared.retries += session.retries();
  shared.latencies_ns.insert(shared.latencies_ns.end(), latencies.begin(), latencies.end());
}

// Reads at a fixed rate, like a dashboard polling the newest events, so that a store with
// faster reads does not take more CPU time away from its writers.
void RunReader(Session& session, Shared& shared, std::atomic<uint64_t>& reads) {
  WaitForGo(shared);
  auto next = Clock::now();
  while (!shared.stop.load(std::memory_order_relaxed)) {
    auto read = session.ReadNewest(kReadCount);
    if (!read.ok()) return shared.Fail(read.status());
    reads.fetch_add(1, std::memory_order_relaxed);
    next += kReadInterval;
    std::this_thread::sleep_until(next);
  }
}

void RunSubscriber(Session& session, Shared& shared, std::atomic<uint64_t>& delivered) {
  auto last = session.LastPosition();
  if (!last.ok()) return shared.Fail(last.status());
  uint64_t start = *last > kSubscriberLag ? *last - kSubscriberLag : 0;
  uint64_t position = start;
  WaitForGo(shared);
  while (!shared.stop.load(std::memory_order_relaxed)) {
    auto reached = session.CatchUp(position);
    if (!reached.ok()) return shared.Fail(reached.status());
    position = *reached;
  }
  delivered = position - start;
}

struct CpuTimes {
  uint64_t busy = 0;   // jiffies of all cores not idle and not waiting for I/O
  uint64_t total = 0;  // all jiffies of all cores
  double process_seconds = 0;
};

CpuTimes ReadCpuTimes() {
  CpuTimes times;
  std::ifstream stat("/proc/stat");
  std::string label;
  stat >> label;  // "cpu": the sum over all cores
  uint64_t value = 0;
  for (int field = 0; field < 8 && stat >> value; ++field) {
    times.total += value;
    if (field != 3 && field != 4) times.busy += value;  // fields 3 and 4: idle and iowait
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  times.process_seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                          (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return times;
}

double Percentile(std::vector<int64_t>& values, double fraction) {
  if (values.empty()) return 0;
  size_t index = std::min(values.size() - 1, static_cast<size_t>(fraction * values.size()));
  std::nth_element(values.begin(), values.begin() + index, values.end());
  return values[index] / 1000.0;
}

}  // namespace

Result<AppendBenchResult> RunAppendBench(Store& store, const Workload& workload,
                                         const AppendBenchOptions& options) {
  if (options.writers == 0 || options.events_per_append == 0) {
    return InvalidArgument("the append benchmark needs at least one writer and one event");
  }
  if (options.duration.count() == 0 && options.appends == 0) {
    return InvalidArgument("the append benchmark needs a duration or an append count");
  }

  // Sessions are opened before timing starts: connection setup is not part of an append.
  std::vector<std::unique_ptr<Session>> writers;
  for (size_t i = 0; i < options.writers; ++i) {
    auto session = store.NewSession();
    if (!session.ok()) return session.status();
    writers.push_back(std::move(session).value());
  }
  std::unique_ptr<Session> reader, subscriber;
  if (options.with_reader) {
    auto session = store.NewSession();
    if (!session.ok()) return session.status();
    reader = std::move(session).value();
  }
  if (options.with_subscriber) {
    auto session = store.NewSession();
    if (!session.ok()) return session.status();
    subscriber = std::move(session).value();
  }

  Shared shared;
  std::atomic<uint64_t> reads{0}, delivered{0};
  Clock::time_point deadline;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < options.writers; ++i) {
    threads.emplace_back(RunWriter, i, std::ref(*writers[i]), std::cref(workload),
                         std::cref(options), std::ref(deadline), std::ref(shared));
  }
  std::thread reader_thread, subscriber_thread;
  if (reader)
    reader_thread = std::thread(RunReader, std::ref(*reader), std::ref(shared), std::ref(reads));
  if (subscriber) {
    subscriber_thread =
        std::thread(RunSubscriber, std::ref(*subscriber), std::ref(shared), std::ref(delivered));
  }

  CpuTimes cpu_before = ReadCpuTimes();
  auto started = Clock::now();
  deadline = started + options.duration;
  shared.go.store(true, std::memory_order_release);
  for (auto& thread : threads) thread.join();
  auto finished = Clock::now();
  CpuTimes cpu_after = ReadCpuTimes();
  shared.stop = true;
  if (reader_thread.joinable()) reader_thread.join();
  if (subscriber_thread.joinable()) subscriber_thread.join();
  if (!shared.first_error.ok()) return shared.first_error;

  AppendBenchResult result;
  result.appends = shared.appends;
  result.events = shared.appends * options.events_per_append;
  result.seconds = std::chrono::duration<double>(finished - started).count();
  result.appends_per_second = result.appends / result.seconds;
  result.events_per_second = result.events / result.seconds;
  result.reads = reads;
  result.subscribed_events = delivered;
  result.retries = shared.retries;
  if (cpu_after.total > cpu_before.total) {
    result.machine_cpu_busy = static_cast<double>(cpu_after.busy - cpu_before.busy) /
                              static_cast<double>(cpu_after.total - cpu_before.total);
  }
  result.process_cpu_seconds = cpu_after.process_seconds - cpu_before.process_seconds;
  if (options.record_latency && !shared.latencies_ns.empty()) {
    result.p50_us = Percentile(shared.latencies_ns, 0.50);
    result.p99_us = Percentile(shared.latencies_ns, 0.99);
    result.max_us =
        *std::max_element(shared.latencies_ns.begin(), shared.latencies_ns.end()) / 1000.0;
  }
  return result;
}

}  // namespace rollbook::bench
