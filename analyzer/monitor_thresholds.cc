#include "analyzer/monitor_thresholds.h"

#include <fmt/core.h>

#include <cmath>

#include "analyzer/format.h"

namespace rollbook::analyzer {

ProbeThresholds::ProbeThresholds(const ProbeSpec& probe) : probe_(probe) {
  maximum_.name = "maximum " + FormatValue(probe.maximum);
  minimum_.name = "minimum " + FormatValue(probe.minimum);
  error_rate_.name = fmt::format("error rate {} over {} samples", FormatValue(probe.max_error_rate),
                                 probe.window_samples);
  consecutive_.name = fmt::format("consecutive failures {}", probe.max_consecutive_failures);
}

void ProbeThresholds::Decide(State& state, bool failing, double value, const std::string& decision,
                             std::vector<ThresholdChange>& changes) {
  if (failing == state.breached) return;
  state.breached = failing;
  changes.push_back(ThresholdChange{failing, state.name, value, decision});
}

std::vector<ThresholdChange> ProbeThresholds::Add(const ProbeSample& sample) {
  std::vector<ThresholdChange> changes;
  std::string quantity = probe_.kind == "http" ? probe_.value : "value";

  if (sample.ok && !std::isnan(probe_.maximum)) {
    bool above = sample.value > probe_.maximum;
    Decide(maximum_, above, sample.value,
           fmt::format("{} {} {} maximum {}: {}", quantity, FormatValue(sample.value),
                       above ? ">" : "<=", FormatValue(probe_.maximum),
                       above ? "breached" : "recovered"),
           changes);
  }
  if (sample.ok && !std::isnan(probe_.minimum)) {
    bool below = sample.value < probe_.minimum;
    Decide(minimum_, below, sample.value,
           fmt::format("{} {} {} minimum {}: {}", quantity, FormatValue(sample.value),
                       below ? "<" : ">=", FormatValue(probe_.minimum),
                       below ? "breached" : "recovered"),
           changes);
  }

  window_.push_back(!sample.ok);
  if (window_.size() > probe_.window_samples) window_.pop_front();
  if (!std::isnan(probe_.max_error_rate) && window_.size() == probe_.window_samples) {
    size_t failed = 0;
    for (bool failure : window_) failed += failure ? 1 : 0;
    double rate = static_cast<double>(failed) / static_cast<double>(window_.size());
    bool above = rate > probe_.max_error_rate;
    Decide(error_rate_, above, rate,
           fmt::format("error rate {} ({} of the last {} samples failed) {} {}: {}",
                       FormatValue(rate), failed, window_.size(), above ? ">" : "<=",
                       FormatValue(probe_.max_error_rate), above ? "breached" : "recovered"),
           changes);
  }

  consecutive_failures_ = sample.ok ? 0 : consecutive_failures_ + 1;
  if (probe_.max_consecutive_failures > 0) {
    bool failing = consecutive_failures_ >= probe_.max_consecutive_failures;
    std::string decision =
        failing ? fmt::format("{} samples in a row failed, limit {}: breached; last error: {}",
                              consecutive_failures_, probe_.max_consecutive_failures, sample.error)
                : fmt::format("a sample succeeded with {} {}: recovered", quantity,
                              FormatValue(sample.value));
    Decide(consecutive_, failing, static_cast<double>(consecutive_failures_), decision, changes);
  }
  return changes;
}

std::vector<std::string> ProbeThresholds::Breached() const {
  std::vector<std::string> breached;
  for (const State* state : {&maximum_, &minimum_, &error_rate_, &consecutive_}) {
    if (state->breached) breached.push_back(state->name);
  }
  return breached;
}

}  // namespace rollbook::analyzer
