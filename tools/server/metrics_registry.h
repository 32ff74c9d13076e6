// The server's own Prometheus metrics, rendered in the text exposition format 0.0.4.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace rollbook::server {

// A cumulative histogram with fixed upper bounds in seconds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double seconds);
  // Appends the _bucket, _sum and _count lines of `name` with the given label text
  // (such as `route="/v1/events"`, or empty).
  void Render(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // one per bound, plus +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Values the server reads at scrape time rather than counting.
struct ScrapeGauges {
  uint64_t ledger_head = 0;
  uint64_t open_connections = 0;
  uint64_t subscriptions = 0;
  uint64_t max_subscription_lag = 0;  // events behind the head, over all SSE subscriptions
  std::vector<std::pair<std::string, uint64_t>> projection_lag;  // name, events behind the head
};

class MetricsRegistry {
 public:
  MetricsRegistry();

  void CountRequest(const std::string& method, const std::string& route, int status,
                    double seconds);
  // Records one append made on behalf of a request: its latency and how many events it wrote.
  void RecordAppend(double seconds, uint64_t events, bool ok);

  std::string Render(const ScrapeGauges& gauges) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // guarded by mutex_
  std::map<std::string, Histogram> request_seconds_;                        // guarded by mutex_
  Histogram append_seconds_;                                                // guarded by mutex_
  uint64_t appended_events_ = 0;                                            // guarded by mutex_
  uint64_t append_failures_ = 0;                                            // guarded by mutex_
};

// Escapes a label value for the exposition format: backslash, double quote and newline.
std::string EscapeLabelValue(const std::string& value);

}  // namespace rollbook::server
