// Monitoring after a rollback: `rollbook monitor ID`, and the automatic run after a rollback
// whose runbook has a `monitor:` section.
//
// Each probe (HTTP status and latency, a SQL query returning a number, a command printing a
// number) is sampled at its interval and checked against its thresholds: maximum, minimum,
// error rate over the last N samples, and consecutive failed samples. A sample that yields no
// number (an error, a timeout, NaN, empty output) is a failed sample and never passes a
// threshold. Evidence goes to the ledger, in the rollback's stream with its id as correlation:
//   monitorStarted      the probe definitions and the planned duration
//   monitorSample       per probe and aggregation window: counts, minimum, maximum, mean, last
//   thresholdBreached   a threshold went from passing to failing, with the decision in words
//   thresholdRecovered  it passes again
//   monitorCompleted    totals, and whether an interrupt ended it early
// Breaches and recoveries are sent to the runbook's notification targets subscribed to the
// "alert" trigger, and each delivery is recorded as notificationSent or notificationFailed.
//
// docs/rollback-procedures.md describes the `monitor:` section.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "projections/rollback_state.h"

namespace rollbook::analyzer {

inline constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();

struct ProbeSpec {
  std::string name;
  std::string kind;                 // "http", "sql" or "command"
  std::vector<std::string> scopes;  // the rollback scopes it applies to; empty for every scope

  // http
  std::string url;
  std::string method = "GET";
  std::map<std::string, std::string> headers;
  std::vector<long> expect_status;   // empty: any status below 400 passes
  std::string value = "latency_ms";  // or "status": the number a sample yields

  // sql
  std::string dsn;
  std::string query;

  // command
  std::vector<std::string> argv;
  std::string command;  // run with /bin/sh -c when `shell` is true
  bool shell = false;

  uint64_t interval_ms = 10000;
  uint64_t timeout_ms = 5000;

  // Thresholds; NaN or 0 when not set.
  double maximum = kUnset;
  double minimum = kUnset;
  double max_error_rate = kUnset;  // failed / all over the last `window_samples` samples
  uint32_t window_samples = 10;
  uint32_t max_consecutive_failures = 0;
};

struct MonitorSpec {
  uint64_t duration_ms = 15 * 60 * 1000;
  uint64_t window_ms = 60 * 1000;  // one monitorSample event per probe per window
  std::vector<ProbeSpec> probes;
};

// Parses a runbook's `monitor:` section in its recorded JSON form, substituting ${vars.NAME}
// from `variables`. Secret references (${env:NAME}, ${file:PATH}) stay until the probes run.
// Fails with kInvalidArgument naming the probe and key for an unknown key, a missing or
// invalid value, or a variable that `variables` lacks.
Result<MonitorSpec> ParseMonitorSpec(const std::string& monitor_json,
                                     const std::map<std::string, std::string>& variables);

struct MonitorOptions {
  std::optional<uint64_t> duration_ms;  // overrides the spec's duration
  // Polled about every 100 ms; returning false ends monitoring early as interrupted.
  std::function<bool()> keep_running;
  std::string actor = "rollbook";
  bool notify = true;  // send breaches and recoveries to the "alert" targets
  // Receives one line per breach and recovery as it happens, for the terminal.
  std::function<void(const std::string&)> progress;
  // Fills ${vars.NAME} in the notification target URLs recorded with the rollback.
  std::map<std::string, std::string> variables;
};

struct MonitorSummary {
  uint64_t samples = 0;
  uint64_t failed_samples = 0;
  uint32_t breaches = 0;
  uint32_t recoveries = 0;
  bool interrupted = false;
  std::vector<std::string> unrecovered;  // "probe: threshold" still breached at the end
  std::string text;                      // one sentence, also recorded in monitorCompleted
};

// Monitors `rollback` with the probes of `spec` that apply to its scope, until the duration
// passes or keep_running returns false, and records the events listed above. Fails with
// kInvalidArgument when no probe applies to the scope. Blocks for the whole duration. Fails only
// when the ledger rejects an append or a probe's secret reference cannot be resolved; probe
// failures are samples, not errors.
Result<MonitorSummary> RunMonitor(ledger::Ledger& ledger,
                                  const projections::RollbackState& rollback,
                                  const MonitorSpec& spec, const MonitorOptions& options);

// The automatic start after a rollback, for the process that ran it (and owns the ledger).
// Returns nullopt at once when the rollback's runbook had no `monitor:` section or the rollback
// was a dry run. Otherwise it parses the section with `variables`, which are the environment's
// runbook variables after --set overrides, and runs RunMonitor() for the whole duration.
Result<std::optional<MonitorSummary>> MonitorAfterRollback(
    ledger::Ledger& ledger, const projections::RollbackState& rollback,
    const std::map<std::string, std::string>& variables, const MonitorOptions& options);

}  // namespace rollbook::analyzer
