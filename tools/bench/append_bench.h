// The append benchmark: concurrent writers append to Zipf-chosen streams while a reader reads
// the newest events and a catch-up subscriber follows the log, for a fixed time or count.
#pragma once

#include <chrono>
#include <cstdint>

#include "ledger/status.h"
#include "tools/bench/stores.h"
#include "tools/bench/workload.h"

namespace rollbook::bench {

struct AppendBenchOptions {
  size_t writers = 16;
  size_t events_per_append = 1;
  std::chrono::milliseconds duration{0};  // stop after this long, when non-zero
  uint64_t appends = 0;                   // otherwise stop after this many appends in total
  bool with_reader = true;                // reads the newest 100 events every 10 ms
  bool with_subscriber = true;            // follows the log from 10,000 events behind the head
  bool record_latency = false;            // time every append (for p50 and p99)
};

struct AppendBenchResult {
  uint64_t appends = 0;
  uint64_t events = 0;
  double seconds = 0;
  double appends_per_second = 0;
  double events_per_second = 0;
  double p50_us = 0;  // set when latency was recorded
  double p99_us = 0;
  double max_us = 0;
  uint64_t reads = 0;              // ReadNewest calls completed by the reader
  uint64_t subscribed_events = 0;  // events the subscriber caught up over
  uint64_t retries = 0;            // version-conflict retries of the SQL stores
  // CPU use while the writers ran: the whole machine's busy share of all cores (0..1, includes
  // server processes and anything else running), and this process's user + system seconds.
  double machine_cpu_busy = 0;
  double process_cpu_seconds = 0;
};

Result<AppendBenchResult> RunAppendBench(Store& store, const Workload& workload,
                                         const AppendBenchOptions& options);

}  // namespace rollbook::bench
