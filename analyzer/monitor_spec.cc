// Parsing and checking the runbook's `monitor:` section.
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "analyzer/monitor.h"
#include "analyzer/monitor_probes.h"
#include "commands/runbook.h"

namespace rollbook::analyzer {
namespace {

using nlohmann::json;

const std::set<std::string> kSectionKeys = {"duration", "window", "probes"};
const std::set<std::string> kCommonKeys = {
    "name",    "kind",    "scopes",         "interval",       "timeout",
    "maximum", "minimum", "max_error_rate", "window_samples", "max_consecutive_failures"};
const std::map<std::string, std::set<std::string>> kKindKeys = {
    {"http", {"url", "method", "headers", "expect_status", "value"}},
    {"sql", {"dsn", "query"}},
    {"command", {"argv", "command", "shell"}}};
constexpr int kMaxVariableDepth = 10;
constexpr uint64_t kMinIntervalMs = 100;

Status ExpandAll(json& value, const std::map<std::string, std::string>& variables) {
  if (value.is_string()) {
    auto expanded = internal::ExpandVariables(value.get<std::string>(), variables);
    if (!expanded.ok()) return expanded.status();
    value = *expanded;
  } else if (value.is_object() || value.is_array()) {
    for (auto& child : value) ROLLBOOK_RETURN_IF_ERROR(ExpandAll(child, variables));
  }
  return Status::Ok();
}

// Reads the members of one probe, keeping the first problem with the probe's name in it.
class ProbeReader {
 public:
  ProbeReader(const json& object, std::string where) : object_(object), where_(std::move(where)) {}

  std::string String(const char* key, bool required, std::string fallback = "") {
    auto it = object_.find(key);
    if (it == object_.end()) {
      if (required) Fail(std::string("the key '") + key + "' is required");
      return fallback;
    }
    if (!it->is_string()) Fail(std::string("'") + key + "' must be a string");
    return it->is_string() ? it->get<std::string>() : fallback;
  }

  uint64_t Duration(const char* key, uint64_t fallback) {
    auto it = object_.find(key);
    if (it == object_.end()) return fallback;
    std::string text = it->is_string() ? it->get<std::string>() : it->dump();
    auto parsed = commands::ParseDurationMs(text);
    if (!parsed.ok()) {
      Fail(std::string("'") + key + "': " + parsed.status().message());
      return fallback;
    }
    return *parsed;
  }

  double Number(const char* key) {
    auto it = object_.find(key);
    if (it == object_.end()) return kUnset;
    if (!it->is_number()) {
      Fail(std::string("'") + key + "' must be a number");
      return kUnset;
    }
    return it->get<double>();
  }

  uint32_t Count(const char* key, uint32_t fallback) {
    auto it = object_.find(key);
    if (it == object_.end()) return fallback;
    if (!it->is_number_unsigned() || it->get<uint64_t>() > 1000000) {
      Fail(std::string("'") + key + "' must be a whole number from 0 to 1000000");
      return fallback;
    }
    return it->get<uint32_t>();
  }

  void Fail(const std::string& problem) {
    if (status_.ok()) status_ = InvalidArgument(where_ + ": " + problem);
  }

  const json& object() const { return object_; }
  const Status& status() const { return status_; }

 private:
  const json& object_;
  std::string where_;
  Status status_;
};

void ReadKindFields(ProbeReader& reader, ProbeSpec& probe) {
  const json& object = reader.object();
  if (probe.kind == "http") {
    probe.url = reader.String("url", true);
    probe.method = reader.String("method", false, "GET");
    probe.value = reader.String("value", false, "latency_ms");
    if (probe.value != "latency_ms" && probe.value != "status") {
      reader.Fail("'value' must be latency_ms or status");
    }
    if (auto headers = object.find("headers"); headers != object.end()) {
      if (!headers->is_object()) reader.Fail("'headers' must be a mapping of names to values");
      for (const auto& [name, value] : headers->items()) {
        if (value.is_string())
          probe.headers[name] = value.get<std::string>();
        else
          reader.Fail("header '" + name + "' must be a string");
      }
    }
    if (auto statuses = object.find("expect_status"); statuses != object.end()) {
      json list = statuses->is_array() ? *statuses : json::array({*statuses});
      for (const json& status : list) {
        if (status.is_number_integer())
          probe.expect_status.push_back(status.get<long>());
        else
          reader.Fail("'expect_status' must be a status code or a list of them");
      }
    }
  } else if (probe.kind == "sql") {
    probe.dsn = reader.String("dsn", true);
    probe.query = reader.String("query", true);
  } else if (probe.kind == "command") {
    probe.command = reader.String("command", false);
    if (auto shell = object.find("shell"); shell != object.end()) {
      if (shell->is_boolean())
        probe.shell = shell->get<bool>();
      else
        reader.Fail("'shell' must be true or false");
    }
    if (auto argv = object.find("argv"); argv != object.end()) {
      if (!argv->is_array() || argv->empty()) reader.Fail("'argv' must be a non-empty list");
      for (const json& arg : *argv) {
        if (arg.is_string())
          probe.argv.push_back(arg.get<std::string>());
        else
          reader.Fail("every 'argv' entry must be a string");
      }
    }
    if (probe.argv.empty() == probe.command.empty() || probe.shell == probe.command.empty()) {
      reader.Fail("give either 'argv' (run without a shell) or 'command' with 'shell: true'");
    }
  }
}

void CheckThresholds(ProbeReader& reader, const ProbeSpec& probe) {
  if (!std::isnan(probe.max_error_rate) && (probe.max_error_rate < 0 || probe.max_error_rate > 1)) {
    reader.Fail("'max_error_rate' must be between 0 and 1, such as 0.2 for 20%");
  }
  if (probe.window_samples == 0) reader.Fail("'window_samples' must be at least 1");
  if (probe.interval_ms < kMinIntervalMs) {
    reader.Fail("'interval' must be at least " + std::to_string(kMinIntervalMs) + "ms");
  }
  if (probe.timeout_ms == 0) reader.Fail("'timeout' must be more than 0");
  if (!std::isnan(probe.minimum) && !std::isnan(probe.maximum) && probe.minimum > probe.maximum) {
    reader.Fail("'minimum' is above 'maximum', so every sample would breach one of them");
  }
}

Result<ProbeSpec> ReadProbe(const json& object, size_t index, std::set<std::string>& names) {
  std::string where = "monitor.probes[" + std::to_string(index) + "]";
  if (!object.is_object())
    return InvalidArgument(where + " must be a mapping with name, kind and the probe's keys");
  ProbeSpec probe;
  auto name = object.find("name");
  if (name == object.end() || !name->is_string() || name->get<std::string>().empty()) {
    return InvalidArgument(where + ": the key 'name' is required and must be a string");
  }
  probe.name = name->get<std::string>();
  ProbeReader reader(object, where + " (" + probe.name + ")");
  if (!names.insert(probe.name).second)
    return InvalidArgument("monitor: two probes are named " + probe.name);
  probe.kind = reader.String("kind", true);

  auto kind_keys = kKindKeys.find(probe.kind);
  if (kind_keys == kKindKeys.end()) {
    reader.Fail("unknown kind '" + probe.kind + "'; use http, sql or command");
    return reader.status();
  }
  for (const auto& [key, value] : object.items()) {
    if (!kCommonKeys.contains(key) && !kind_keys->second.contains(key)) {
      reader.Fail("unknown key '" + key + "' for a " + probe.kind + " probe");
    }
  }

  ReadKindFields(reader, probe);
  if (auto scopes = object.find("scopes"); scopes != object.end()) {
    if (!scopes->is_array() || scopes->empty())
      reader.Fail("'scopes' must be a non-empty list of scope names");
    for (const json& scope : *scopes) {
      if (scope.is_string())
        probe.scopes.push_back(scope.get<std::string>());
      else
        reader.Fail("every 'scopes' entry must be a scope name");
    }
  }
  probe.interval_ms = reader.Duration("interval", probe.interval_ms);
  probe.timeout_ms = reader.Duration("timeout", probe.timeout_ms);
  probe.maximum = reader.Number("maximum");
  probe.minimum = reader.Number("minimum");
  probe.max_error_rate = reader.Number("max_error_rate");
  probe.window_samples = reader.Count("window_samples", probe.window_samples);
  probe.max_consecutive_failures = reader.Count("max_consecutive_failures", 0);
  CheckThresholds(reader, probe);
  if (!reader.status().ok()) return reader.status();
  return probe;
}

}  // namespace

namespace internal {

Result<std::string> ExpandVariables(const std::string& text,
                                    const std::map<std::string, std::string>& variables,
                                    int depth) {
  if (depth > kMaxVariableDepth) {
    return InvalidArgument("variables refer to each other more than " +
                           std::to_string(kMaxVariableDepth) + " levels deep in '" + text + "'");
  }
  std::string output;
  size_t position = 0;
  for (;;) {
    size_t start = text.find("${vars.", position);
    if (start == std::string::npos) break;
    size_t end = text.find('}', start);
    if (end == std::string::npos)
      return InvalidArgument("unterminated ${vars. reference in '" + text + "'");
    std::string name = text.substr(start + 7, end - start - 7);
    auto found = variables.find(name);
    if (found == variables.end()) {
      return InvalidArgument("variable " + name +
                             " is not defined for this rollback's environment; pass --set " + name +
                             "=VALUE");
    }
    auto value = ExpandVariables(found->second, variables, depth + 1);
    if (!value.ok()) return value.status();
    output += text.substr(position, start - position) + *value;
    position = end + 1;
  }
  return output + text.substr(position);
}

}  // namespace internal

Result<MonitorSpec> ParseMonitorSpec(const std::string& monitor_json,
                                     const std::map<std::string, std::string>& variables) {
  json section = json::parse(monitor_json, nullptr, /*allow_exceptions=*/false);
  if (section.is_discarded() || !section.is_object()) {
    return InvalidArgument(
        "the runbook's monitor: section must be a mapping with duration, window and probes");
  }
  for (const auto& [key, value] : section.items()) {
    if (!kSectionKeys.contains(key)) {
      return InvalidArgument("monitor: unknown key '" + key +
                             "'; known keys: duration, window, probes");
    }
  }
  ROLLBOOK_RETURN_IF_ERROR(ExpandAll(section, variables));

  MonitorSpec spec;
  ProbeReader top(section, "monitor");
  spec.duration_ms = top.Duration("duration", spec.duration_ms);
  spec.window_ms = top.Duration("window", spec.window_ms);
  if (!top.status().ok()) return top.status();
  if (spec.window_ms < kMinIntervalMs)
    return InvalidArgument("monitor: 'window' must be at least 100ms");
  if (spec.duration_ms < kMinIntervalMs) {
    return InvalidArgument(
        "monitor: 'duration' must be at least 100ms; it is how long "
        "monitoring runs, such as 15m");
  }
  auto probes = section.find("probes");
  if (probes == section.end() || !probes->is_array() || probes->empty()) {
    return InvalidArgument("monitor: 'probes' must be a non-empty list of probes");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < probes->size(); ++i) {
    auto probe = ReadProbe((*probes)[i], i, names);
    if (!probe.ok()) return probe.status();
    spec.probes.push_back(std::move(probe).value());
  }
  return spec;
}

}  // namespace rollbook::analyzer
