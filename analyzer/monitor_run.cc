// The monitoring loop. One thread per probe samples at the probe's interval. Samples are
// aggregated per window, and threshold changes are recorded and notified as they happen.
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "analyzer/format.h"
#include "analyzer/monitor.h"
#include "analyzer/monitor_probes.h"
#include "analyzer/monitor_thresholds.h"
#include "commands/notifier.h"
#include "ledger/payload.h"
#include "ledger/time_format.h"

namespace rollbook::analyzer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollInterval{100};
constexpr milliseconds kNotificationFlushTimeout{15000};

// Aggregates the samples of one probe over one window.
struct Window {
  int64_t start_ns = 0;
  uint32_t samples = 0;
  uint32_t failures = 0;
  uint32_t values = 0;
  double minimum = kUnset;
  double maximum = kUnset;
  double sum = 0;
  double last = kUnset;
  std::string last_error;

  void Add(const ProbeSample& sample) {
    ++samples;
    if (!sample.ok) {
      ++failures;
      last_error = sample.error;
      return;
    }
    ++values;
    minimum = std::isnan(minimum) ? sample.value : std::min(minimum, sample.value);
    maximum = std::isnan(maximum) ? sample.value : std::max(maximum, sample.value);
    sum += sample.value;
    last = sample.value;
  }
};

class MonitorRun {
 public:
  MonitorRun(ledger::Ledger& ledger, const projections::RollbackState& rollback,
             const MonitorSpec& spec, const MonitorOptions& options)
      : ledger_(ledger), rollback_(rollback), spec_(spec), options_(options) {}

  Result<MonitorSummary> Run() {
    ROLLBOOK_RETURN_IF_ERROR(MakeProbes());
    uint64_t duration_ms = options_.duration_ms.value_or(spec_.duration_ms);
    auto started = AppendStarted(duration_ms);
    if (!started.ok()) return started.status();
    causation_ = "pos:" + std::to_string(started->last_position);
    if (options_.notify) MakeNotifier();
    spdlog::info("monitoring rollback {} for {} with {} probes", rollback_.id,
                 FormatMs(static_cast<int64_t>(duration_ms)), probes_.size());

    std::vector<std::thread> threads;
    for (size_t i = 0; i < probes_.size(); ++i) threads.emplace_back([this, i] { SampleLoop(i); });
    bool interrupted = WaitForEnd(Clock::now() + milliseconds(duration_ms));
    Stop();
    for (std::thread& thread : threads) thread.join();

    for (size_t i = 0; i < probes_.size(); ++i) FlushWindow(i, ledger::NowNs());
    if (notifier_) notifier_->Flush(kNotificationFlushTimeout);
    MonitorSummary summary = Summarize(interrupted);
    ROLLBOOK_RETURN_IF_ERROR(AppendCompleted(summary));
    notifier_.reset();
    if (!append_error_.ok()) return append_error_;
    spdlog::info("monitoring of rollback {} ended: {}", rollback_.id, summary.text);
    return summary;
  }

 private:
  struct ProbeState {
    const ProbeSpec* spec = nullptr;
    std::unique_ptr<internal::Probe> probe;
    std::unique_ptr<ProbeThresholds> thresholds;
    Window window;
  };

  Status MakeProbes() {
    for (const ProbeSpec& spec : spec_.probes) {
      auto probe = internal::MakeProbe(spec, redactor_);
      if (!probe.ok()) return probe.status();
      ProbeState state;
      state.spec = &spec;
      state.probe = std::move(probe).value();
      state.thresholds = std::make_unique<ProbeThresholds>(spec);
      probes_.push_back(std::move(state));
    }
    return Status::Ok();
  }

  template <typename Fill>
  Result<ledger::AppendResult> Append(Fill&& fill) {
    ledger::AppendRequest request;
    request.stream = rollback_.id;
    request.actor = options_.actor;
    request.correlation_id = rollback_.id;
    request.causation_id = causation_;
    request.events.push_back(ledger::MakeEvent(std::forward<Fill>(fill)));
    return ledger_.Append(request);
  }

  // Appends from a probe thread; the first failure is kept and ends monitoring.
  template <typename Fill>
  void AppendFromProbe(Fill&& fill) {
    auto appended = Append(std::forward<Fill>(fill));
    if (appended.ok()) return;
    spdlog::error("monitoring of rollback {}: cannot append to the ledger: {}", rollback_.id,
                  appended.status().ToString());
    std::lock_guard<std::mutex> lock(mutex_);
    if (append_error_.ok()) append_error_ = appended.status();
    stopping_ = true;
    wake_.notify_all();
  }

  Result<ledger::AppendResult> AppendStarted(uint64_t duration_ms) {
    return Append([&](schema::Payload::Builder payload) {
      auto started = payload.initMonitorStarted();
      started.setRollbackId(rollback_.id);
      started.setDurationMs(duration_ms);
      auto definitions = started.initProbes(static_cast<unsigned>(probes_.size()));
      for (unsigned i = 0; i < probes_.size(); ++i) {
        const ProbeSpec& spec = *probes_[i].spec;
        auto definition = definitions[i];
        definition.setName(spec.name);
        definition.setKind(spec.kind);
        definition.setTarget(redactor_.Apply(probes_[i].probe->Target()));
        definition.setIntervalMs(spec.interval_ms);
        definition.setMaximum(spec.maximum);
        definition.setMinimum(spec.minimum);
        definition.setMaxErrorRate(spec.max_error_rate);
        definition.setWindowSamples(spec.window_samples);
        definition.setMaxConsecutiveFailures(spec.max_consecutive_failures);
      }
    });
  }

  void MakeNotifier() {
    nlohmann::json targets = nlohmann::json::parse(rollback_.notifications_json, nullptr, false);
    if (!targets.is_array()) return;
    std::vector<commands::NotifierTarget> resolved;
    for (const auto& target : targets) {
      commands::NotifierTarget notifier_target;
      notifier_target.name = target.value("name", "notification");
      notifier_target.kind = target.value("kind", "webhook");
      notifier_target.triggers = target.value("on", std::vector<std::string>{});
      auto expanded = internal::ExpandVariables(target.value("url", ""), options_.variables);
      if (!expanded.ok()) {
        spdlog::warn("monitoring of rollback {}: notification target {} left out: {}", rollback_.id,
                     notifier_target.name, expanded.status().message());
        continue;
      }
      auto url = commands::ResolveSecrets(*expanded, redactor_);
      if (!url.ok() || !url->is_string() || url->get<std::string>().empty()) {
        spdlog::warn("monitoring of rollback {}: notification target {} left out: {}", rollback_.id,
                     notifier_target.name, url.ok() ? "the URL is empty" : url.status().message());
        continue;
      }
      notifier_target.url = url->get<std::string>();
      resolved.push_back(std::move(notifier_target));
    }
    if (resolved.empty()) return;
    notifier_ = std::make_unique<commands::Notifier>(
        std::move(resolved),
        [this](const commands::NotificationOutcome& outcome) { RecordNotification(outcome); });
  }

  void RecordNotification(const commands::NotificationOutcome& outcome) {
    auto appended = Append([&](schema::Payload::Builder payload) {
      auto event =
          outcome.delivered() ? payload.initNotificationSent() : payload.initNotificationFailed();
      event.setRollbackId(rollback_.id);
      event.setChannel(outcome.target);
      event.setTrigger(outcome.trigger);
      event.setStatusCode(static_cast<uint32_t>(outcome.http_status));
      event.setAttempts(static_cast<uint32_t>(outcome.attempts));
      event.setError(redactor_.Apply(outcome.error));
    });
    if (!appended.ok()) {
      spdlog::error("monitoring of rollback {}: cannot record a notification: {}", rollback_.id,
                    appended.status().ToString());
    }
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stopping_;
  }

  void Stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }

  // Waits for the deadline; returns true when keep_running ended it first.
  bool WaitForEnd(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_ && Clock::now() < deadline) {
      wake_.wait_until(lock, std::min(deadline, Clock::now() + kPollInterval));
      if (options_.keep_running && !options_.keep_running()) return true;
    }
    return false;
  }

  void SampleLoop(size_t index) {
    ProbeState& state = probes_[index];
    milliseconds interval(state.spec->interval_ms);
    auto stop = [this] { return Stopping(); };
    for (auto next = Clock::now(); !Stopping(); next += interval) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
      }
      ProbeSample sample = state.probe->Sample(stop);
      if (Stopping()) return;  // a sample cut short by the stop is no measurement of the system
      Record(index, sample);
      if (Clock::now() > next + interval) next = Clock::now() - interval;  // skip missed ticks
    }
  }

  void Record(size_t index, const ProbeSample& sample) {
    ProbeState& state = probes_[index];
    int64_t now_ns = ledger::NowNs();
    std::vector<ThresholdChange> changes;
    {
      std::lock_guard<std::mutex> lock(probe_mutex_);
      if (state.window.samples == 0) state.window.start_ns = now_ns;
      state.window.Add(sample);
      samples_ += 1;
      failed_samples_ += sample.ok ? 0 : 1;
      changes = state.thresholds->Add(sample);
    }
    for (const ThresholdChange& change : changes) RecordChange(*state.spec, change);
    if (now_ns - state.window.start_ns >= static_cast<int64_t>(spec_.window_ms) * 1000000) {
      FlushWindow(index, now_ns);
    }
  }

  void RecordChange(const ProbeSpec& spec, const ThresholdChange& change) {
    AppendFromProbe([&](schema::Payload::Builder payload) {
      auto decision =
          change.breached ? payload.initThresholdBreached() : payload.initThresholdRecovered();
      decision.setRollbackId(rollback_.id);
      decision.setProbe(spec.name);
      decision.setThreshold(change.threshold);
      decision.setValue(change.value);
      decision.setDecision(change.decision);
    });
    std::string text = fmt::format("Rollback {} of {} in {}: probe {} {} {} ({})", rollback_.id,
                                   rollback_.feature, rollback_.environment, spec.name,
                                   change.breached ? "breached" : "recovered from",
                                   change.threshold, change.decision);
    {
      std::lock_guard<std::mutex> lock(probe_mutex_);
      ++(change.breached ? breaches_ : recoveries_);
    }
    spdlog::info("{}", text);
    if (options_.progress) options_.progress(text);
    if (notifier_) {
      notifier_->Enqueue("alert", text,
                         {{"rollback_id", rollback_.id},
                          {"feature", rollback_.feature},
                          {"environment", rollback_.environment},
                          {"probe", spec.name},
                          {"threshold", change.threshold},
                          {"state", change.breached ? "breached" : "recovered"}});
    }
  }

  void FlushWindow(size_t index, int64_t now_ns) {
    Window window;
    {
      std::lock_guard<std::mutex> lock(probe_mutex_);
      window = probes_[index].window;
      probes_[index].window = Window{};
    }
    if (window.samples == 0) return;
    const ProbeSpec& spec = *probes_[index].spec;
    AppendFromProbe([&](schema::Payload::Builder payload) {
      auto sample = payload.initMonitorSample();
      sample.setRollbackId(rollback_.id);
      sample.setProbe(spec.name);
      sample.setSamples(window.samples);
      sample.setFailures(window.failures);
      sample.setMinimum(window.minimum);
      sample.setMaximum(window.maximum);
      sample.setMean(window.values == 0 ? kUnset : window.sum / window.values);
      sample.setLast(window.last);
      sample.setWindowStartNs(window.start_ns);
      sample.setWindowEndNs(now_ns);
      sample.setLastError(window.last_error);
    });
  }

  MonitorSummary Summarize(bool interrupted) {
    MonitorSummary summary;
    std::lock_guard<std::mutex> lock(probe_mutex_);
    summary.samples = samples_;
    summary.failed_samples = failed_samples_;
    summary.breaches = breaches_;
    summary.recoveries = recoveries_;
    summary.interrupted = interrupted;
    for (const ProbeState& state : probes_) {
      for (const std::string& threshold : state.thresholds->Breached()) {
        summary.unrecovered.push_back(state.spec->name + ": " + threshold);
      }
    }
    summary.text =
        fmt::format("{} samples ({} failed), {} breaches, {} recoveries{}; {}", samples_,
                    failed_samples_, breaches_, recoveries_, interrupted ? ", interrupted" : "",
                    summary.unrecovered.empty()
                        ? "every threshold passes at the end"
                        : "still breached at the end: " + JoinList(summary.unrecovered));
    return summary;
  }

  Status AppendCompleted(const MonitorSummary& summary) {
    auto appended = Append([&](schema::Payload::Builder payload) {
      auto completed = payload.initMonitorCompleted();
      completed.setRollbackId(rollback_.id);
      completed.setBreaches(summary.breaches);
      completed.setSamples(static_cast<uint32_t>(summary.samples));
      completed.setSummary(summary.text);
      completed.setInterrupted(summary.interrupted);
    });
    return appended.ok() ? Status::Ok() : appended.status();
  }

  ledger::Ledger& ledger_;
  const projections::RollbackState& rollback_;
  const MonitorSpec& spec_;
  const MonitorOptions& options_;
  commands::Redactor redactor_;
  std::string causation_;
  std::vector<ProbeState> probes_;
  std::unique_ptr<commands::Notifier> notifier_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  Status append_error_;    // guarded by mutex_

  std::mutex probe_mutex_;  // guards the windows, thresholds and counters below
  uint64_t samples_ = 0;
  uint64_t failed_samples_ = 0;
  uint32_t breaches_ = 0;
  uint32_t recoveries_ = 0;
};

}  // namespace

Result<MonitorSummary> RunMonitor(ledger::Ledger& ledger,
                                  const projections::RollbackState& rollback,
                                  const MonitorSpec& spec, const MonitorOptions& options) {
  MonitorSpec scoped = spec;
  std::erase_if(scoped.probes, [&](const ProbeSpec& probe) {
    return !probe.scopes.empty() && std::find(probe.scopes.begin(), probe.scopes.end(),
                                              rollback.scope) == probe.scopes.end();
  });
  if (scoped.probes.empty()) {
    return InvalidArgument("no probe of the monitor: section applies to scope " + rollback.scope +
                           "; list the scope under a probe's scopes:, or leave scopes: out");
  }
  return MonitorRun(ledger, rollback, scoped, options).Run();
}

Result<std::optional<MonitorSummary>> MonitorAfterRollback(
    ledger::Ledger& ledger, const projections::RollbackState& rollback,
    const std::map<std::string, std::string>& variables, const MonitorOptions& options) {
  if (rollback.monitor_json.empty() || rollback.dry_run) return std::optional<MonitorSummary>();
  auto spec = ParseMonitorSpec(rollback.monitor_json, variables);
  if (!spec.ok()) return spec.status().WithContext("rollback " + rollback.id);
  MonitorOptions with_variables = options;
  with_variables.variables = variables;
  auto summary = RunMonitor(ledger, rollback, *spec, with_variables);
  if (!summary.ok()) return summary.status();
  return std::optional<MonitorSummary>(std::move(summary).value());
}

}  // namespace rollbook::analyzer
