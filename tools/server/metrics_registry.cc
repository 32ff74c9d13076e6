#include "tools/server/metrics_registry.h"

#include <fmt/format.h>

#include <tuple>

namespace rollbook::server {
namespace {

const std::vector<double> kRequestBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,   1,    2.5,   5,    10};
const std::vector<double> kAppendBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                           0.05,   0.1,   0.25,   0.5,   1,    2.5};

void Help(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string FormatDouble(double value) { return fmt::format("{}", value); }

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double seconds) {
  size_t bucket = 0;
  while (bucket < bounds_.size() && seconds > bounds_[bucket]) ++bucket;
  ++counts_[bucket];
  sum_ += seconds;
  ++count_;
}

void Histogram::Render(const std::string& name, const std::string& labels, std::string& out) const {
  std::string prefix = labels.empty() ? "" : labels + ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, prefix, FormatDouble(bounds_[i]),
                       cumulative);
  }
  cumulative += counts_.back();
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, prefix, cumulative);
  std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, FormatDouble(sum_), name, braces,
                     count_);
}

MetricsRegistry::MetricsRegistry() : append_seconds_(kAppendBounds) {}

void MetricsRegistry::CountRequest(const std::string& method, const std::string& route, int status,
                                   double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{method, route, status}];
  request_seconds_.try_emplace(route, kRequestBounds).first->second.Observe(seconds);
}

void MetricsRegistry::RecordAppend(double seconds, uint64_t events, bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  append_seconds_.Observe(seconds);
  if (ok) {
    appended_events_ += events;
  } else {
    ++append_failures_;
  }
}

std::string MetricsRegistry::Render(const ScrapeGauges& gauges) const {
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);

  Help(out, "rollbook_http_requests_total", "counter",
       "HTTP requests by method, route and status.");
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    out +=
        fmt::format("rollbook_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                    EscapeLabelValue(method), EscapeLabelValue(route), status, count);
  }
  Help(out, "rollbook_http_request_duration_seconds", "histogram",
       "Time from a complete request to its response, by route.");
  for (const auto& [route, histogram] : request_seconds_) {
    histogram.Render("rollbook_http_request_duration_seconds",
                     "route=\"" + EscapeLabelValue(route) + "\"", out);
  }

  Help(out, "rollbook_appends_total", "counter", "Events appended by commands this server ran.");
  out += fmt::format("rollbook_appends_total {}\n", appended_events_);
  Help(out, "rollbook_append_failures_total", "counter", "Commands this server ran that failed.");
  out += fmt::format("rollbook_append_failures_total {}\n", append_failures_);
  Help(out, "rollbook_append_duration_seconds", "histogram",
       "Latency of the commands this server ran, each ending in one ledger append.");
  append_seconds_.Render("rollbook_append_duration_seconds", "", out);

  Help(out, "rollbook_ledger_head_position", "gauge", "Position of the last committed event.");
  out += fmt::format("rollbook_ledger_head_position {}\n", gauges.ledger_head);
  Help(out, "rollbook_http_open_connections", "gauge", "Open HTTP connections, streams included.");
  out += fmt::format("rollbook_http_open_connections {}\n", gauges.open_connections);
  Help(out, "rollbook_subscriptions", "gauge", "Open Server-Sent Events subscriptions.");
  out += fmt::format("rollbook_subscriptions {}\n", gauges.subscriptions);
  Help(out, "rollbook_subscription_lag_events", "gauge",
       "Events the slowest subscription is behind the ledger head.");
  out += fmt::format("rollbook_subscription_lag_events {}\n", gauges.max_subscription_lag);
  Help(out, "rollbook_projection_lag_events", "gauge",
       "Events a projection has not applied yet, by projection.");
  for (const auto& [name, lag] : gauges.projection_lag) {
    out += fmt::format("rollbook_projection_lag_events{{projection=\"{}\"}} {}\n",
                       EscapeLabelValue(name), lag);
  }
  return out;
}

}  // namespace rollbook::server
