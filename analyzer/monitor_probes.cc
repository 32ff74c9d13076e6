#include "analyzer/monitor_probes.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "analyzer/format.h"
#include "commands/drivers/drivers.h"
#include "commands/drivers/postgres_client.h"

namespace rollbook::analyzer::internal {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr size_t kHttpBodyBytes = 4096;  // a health probe needs the status, not the body

ProbeSample Failed(const commands::Redactor& redactor, const std::string& error) {
  return ProbeSample{false, kUnset, redactor.Apply(error)};
}

ProbeSample Succeeded(double value) { return ProbeSample{true, value, ""}; }

class HttpProbe final : public Probe {
 public:
  HttpProbe(const ProbeSpec& spec, commands::HttpRequest request,
            const commands::Redactor& redactor)
      : spec_(spec), request_(std::move(request)), redactor_(redactor) {}

  ProbeSample Sample(const std::function<bool()>& stop) override {
    commands::HttpRequest request = request_;
    request.abort = stop;
    auto started = std::chrono::steady_clock::now();
    auto response = commands::SendHttpRequest(request);
    double latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (!response.ok()) return Failed(redactor_, response.status().message());
    bool expected = spec_.expect_status.empty()
                        ? (spec_.value == "status" || response->status < 400)
                        : std::find(spec_.expect_status.begin(), spec_.expect_status.end(),
                                    response->status) != spec_.expect_status.end();
    if (!expected) return Failed(redactor_, "HTTP status " + std::to_string(response->status));
    return Succeeded(spec_.value == "status" ? static_cast<double>(response->status)
                                             : std::round(latency_ms * 1000) / 1000);
  }

  std::string Target() const override { return spec_.method + " " + spec_.url; }

 private:
  const ProbeSpec spec_;
  const commands::HttpRequest request_;
  const commands::Redactor& redactor_;
};

constexpr milliseconds kStopPoll{50};  // how often a running SQL probe checks for the stop

class SqlProbe final : public Probe {
 public:
  SqlProbe(const ProbeSpec& spec, commands::PgTarget target, const commands::Redactor& redactor)
      : spec_(spec), target_(std::move(target)), redactor_(redactor) {}

  // Connects for every sample, so a restarted server or a dropped connection costs one failed
  // sample and nothing more.
  ProbeSample Sample(const std::function<bool()>& stop) override {
    milliseconds timeout(spec_.timeout_ms);
    auto connection = commands::PgConnection::Connect(target_, timeout);
    if (!connection.ok()) return Failed(redactor_, connection.status().message());
    Status status = connection->SetStatementTimeout(timeout);
    if (status.ok()) status = connection->Run("BEGIN READ ONLY");
    if (!status.ok()) return Failed(redactor_, status.message());

    // The end of monitoring, or Ctrl-C, cancels the query instead of waiting out its timeout.
    std::atomic<bool> answered{false};
    std::thread watcher([&] {
      while (!answered.load()) {
        if (stop()) {
          (void)connection->RequestCancel();
          return;
        }
        std::this_thread::sleep_for(kStopPoll);
      }
    });
    auto rows = connection->Execute(spec_.query);
    answered = true;
    watcher.join();
    (void)connection->Run("ROLLBACK");
    if (!rows.ok()) return Failed(redactor_, rows.status().message());

    pg_result* answer = rows->get();
    if (PQntuples(answer) != 1 || PQnfields(answer) != 1) {
      return Failed(redactor_, "the query returned " + std::to_string(PQntuples(answer)) +
                                   " rows of " + std::to_string(PQnfields(answer)) +
                                   " columns; a probe needs one value");
    }
    if (PQgetisnull(answer, 0, 0)) return Failed(redactor_, "the query returned NULL");
    auto value = ParseProbeNumber(PQgetvalue(answer, 0, 0));
    if (!value.ok()) return Failed(redactor_, value.status().message());
    return Succeeded(*value);
  }

  std::string Target() const override { return "postgres " + target_.Location(); }

 private:
  const ProbeSpec spec_;
  const commands::PgTarget target_;
  const commands::Redactor& redactor_;
};

class CommandProbe final : public Probe {
 public:
  CommandProbe(const ProbeSpec& spec, json params, const commands::Redactor& redactor)
      : spec_(spec), params_(std::move(params)), redactor_(redactor) {}

  ProbeSample Sample(const std::function<bool()>& stop) override {
    commands::Driver* exec = commands::DriverRegistry::BuiltIn().FindMutable("exec");
    commands::StepContext context;
    context.component = "monitor";
    context.step = spec_.name;
    context.action = "run";
    context.params = &params_;
    context.timeout = milliseconds(spec_.timeout_ms);
    context.redactor = &redactor_;
    context.cancelled = stop;
    commands::StepOutcome outcome = exec->Run(context);
    if (!outcome.status.ok()) return Failed(redactor_, outcome.status.message());
    auto value = ParseProbeNumber(outcome.result.output.stdout_text);
    if (!value.ok()) return Failed(redactor_, value.status().message());
    return Succeeded(*value);
  }

  std::string Target() const override {
    if (spec_.shell) return spec_.command;
    return JoinList(spec_.argv, "");
  }

 private:
  const ProbeSpec spec_;
  const json params_;
  const commands::Redactor& redactor_;
};

Result<json> Resolve(const json& value, commands::Redactor& redactor, const ProbeSpec& spec) {
  auto resolved = commands::ResolveSecrets(value, redactor);
  if (!resolved.ok()) return resolved.status().WithContext("probe " + spec.name);
  return resolved;
}

Result<std::unique_ptr<Probe>> MakeHttpProbe(const ProbeSpec& spec, commands::Redactor& redactor) {
  auto resolved = Resolve(json{{"url", spec.url}, {"headers", spec.headers}}, redactor, spec);
  if (!resolved.ok()) return resolved.status();
  commands::HttpRequest request;
  request.method = spec.method;
  request.url = (*resolved)["url"].get<std::string>();
  for (const auto& [name, value] : (*resolved)["headers"].items()) {
    request.headers.emplace_back(name, value.get<std::string>());
  }
  request.timeout = milliseconds(spec.timeout_ms);
  request.max_body_bytes = kHttpBodyBytes;
  auto host = commands::HttpUrlHost(request.url);
  if (!host.ok()) return host.status().WithContext("probe " + spec.name);
  return std::unique_ptr<Probe>(std::make_unique<HttpProbe>(spec, std::move(request), redactor));
}

Result<std::unique_ptr<Probe>> MakeSqlProbe(const ProbeSpec& spec, commands::Redactor& redactor) {
  auto resolved = Resolve(json(spec.dsn), redactor, spec);
  if (!resolved.ok()) return resolved.status();
  auto target = commands::ParsePgTarget(resolved->get<std::string>());
  if (!target.ok()) return target.status().WithContext("probe " + spec.name);
  return std::unique_ptr<Probe>(
      std::make_unique<SqlProbe>(spec, std::move(target).value(), redactor));
}

Result<std::unique_ptr<Probe>> MakeCommandProbe(const ProbeSpec& spec,
                                                commands::Redactor& redactor) {
  json params =
      spec.shell ? json{{"command", spec.command}, {"shell", true}} : json{{"argv", spec.argv}};
  auto resolved = Resolve(params, redactor, spec);
  if (!resolved.ok()) return resolved.status();
  return std::unique_ptr<Probe>(
      std::make_unique<CommandProbe>(spec, std::move(resolved).value(), redactor));
}

}  // namespace

Result<double> ParseProbeNumber(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos)
    return InvalidArgument("the probe printed no number (empty output)");
  size_t end = text.find_last_not_of(" \t\r\n");
  std::string number = text.substr(begin, end - begin + 1);
  char* parsed_end = nullptr;
  double value = std::strtod(number.c_str(), &parsed_end);
  bool whole = parsed_end == number.c_str() + number.size();
  if (!whole || std::isnan(value) || std::isinf(value)) {
    std::string shown = number.size() > 80 ? number.substr(0, 80) + "..." : number;
    return InvalidArgument("the probe output '" + shown + "' is not a finite number");
  }
  return value;
}

Result<std::unique_ptr<Probe>> MakeProbe(const ProbeSpec& spec, commands::Redactor& redactor) {
  if (spec.kind == "http") return MakeHttpProbe(spec, redactor);
  if (spec.kind == "sql") return MakeSqlProbe(spec, redactor);
  if (spec.kind == "command") return MakeCommandProbe(spec, redactor);
  return InvalidArgument("probe " + spec.name + " has unknown kind '" + spec.kind + "'");
}

}  // namespace rollbook::analyzer::internal
