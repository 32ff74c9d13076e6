// Threshold decisions for one monitoring probe: which thresholds a new sample breaks or stops
// breaking. Pure logic without I/O, so tests can feed it sample sequences.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "analyzer/monitor.h"

namespace rollbook::analyzer {

// One sample of a probe. A failed sample has no value.
struct ProbeSample {
  bool ok = false;
  double value = kUnset;
  std::string error;  // why the sample failed
};

// A threshold that changed state with the last sample.
struct ThresholdChange {
  bool breached = false;  // false: recovered
  std::string threshold;  // such as "maximum 250"
  double value = kUnset;  // the compared value: the sample, the error rate or the failure count
  std::string decision;   // what was compared and the result, in words
};

// Tracks the thresholds of one probe. Rules:
//   maximum / minimum         compared with each successful sample's value; failed samples do
//                             not change them
//   max_error_rate            failed share of the last window_samples samples, evaluated once
//                             the window is full; breached when above the rate
//   max_consecutive_failures  breached when that many samples in a row failed; recovers with
//                             the next successful sample
// Not thread-safe.
class ProbeThresholds {
 public:
  explicit ProbeThresholds(const ProbeSpec& probe);

  // Adds a sample and returns the thresholds whose state it changed, in the order above.
  std::vector<ThresholdChange> Add(const ProbeSample& sample);

  // Returns the thresholds breached now.
  std::vector<std::string> Breached() const;

 private:
  struct State {
    std::string name;
    bool breached = false;
  };

  void Decide(State& state, bool failing, double value, const std::string& decision,
              std::vector<ThresholdChange>& changes);

  ProbeSpec probe_;
  State maximum_;
  State minimum_;
  State error_rate_;
  State consecutive_;
  std::deque<bool> window_;  // true for a failed sample, newest last
  uint32_t consecutive_failures_ = 0;
};

}  // namespace rollbook::analyzer
