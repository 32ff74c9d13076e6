// Endpoints for operators and monitoring: commands, chain verification, metrics and health.
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "commands/command_service.h"
#include "ledger/ledger.h"
#include "projections/runner.h"
#include "tools/server/api_internal.h"
#include "tools/server/background_jobs.h"

namespace rollbook::server {
namespace {

constexpr size_t kMaxIdempotencyKeyBytes = 200;

// Returns how many events a command result's "positions": [first, last] covers.
uint64_t AppendedEvents(const nlohmann::json& result) {
  auto positions = result.find("positions");
  if (positions == result.end() || !positions->is_array() || positions->size() != 2) return 0;
  if (!(*positions)[0].is_number_unsigned() || !(*positions)[1].is_number_unsigned()) return 0;
  uint64_t first = (*positions)[0].get<uint64_t>();
  uint64_t last = (*positions)[1].get<uint64_t>();
  return first == 0 || last < first ? 0 : last - first + 1;
}

bool IsJsonContentType(const std::string& content_type) {
  return content_type.empty() || content_type.starts_with("application/json") ||
         content_type.find("+json") != std::string::npos;
}

}  // namespace

HttpResponse GetVerify(ApiCall& call) {
  Status known = call.query.CheckKnown({"refresh"});
  if (!known.ok()) return ErrorResponse(known);
  auto refresh = call.query.GetBool("refresh", false);
  if (!refresh.ok()) return ErrorResponse(refresh.status());
  return JsonResponse(call.dependencies.verify->Poll(*refresh));
}

HttpResponse PostCommand(ApiCall& call) {
  Status known = call.query.CheckKnown({});
  if (!known.ok()) return ErrorResponse(known);
  if (call.dependencies.commands == nullptr) {
    return ErrorResponse(503, "unavailable", "this server accepts no commands");
  }
  if (!IsJsonContentType(call.request.Header("content-type"))) {
    return ErrorResponse(415, "unsupported_media_type",
                         "invalid Content-Type '" + call.request.Header("content-type") +
                             "'; send the command as application/json");
  }

  // Parse {"command": "...", "args": {...}}.
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(call.request.body);
  } catch (const nlohmann::json::parse_error& e) {
    return ErrorResponse(400, "invalid_argument",
                         std::string("request body is not valid JSON: ") + e.what());
  }
  if (!body.is_object() || !body.contains("command") || !body["command"].is_string()) {
    return ErrorResponse(400, "invalid_argument",
                         "request body must be a JSON object with a string field 'command' and an "
                         "object field 'args'");
  }
  nlohmann::json args = body.value("args", nlohmann::json::object());
  if (!args.is_object()) {
    return ErrorResponse(400, "invalid_argument", "field 'args' must be a JSON object");
  }
  std::string key = call.request.Header("idempotency-key");
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return ErrorResponse(400, "invalid_argument",
                         "invalid Idempotency-Key header: longer than " +
                             std::to_string(kMaxIdempotencyKeyBytes) + " bytes");
  }

  commands::CommandRequest request;
  request.command = body["command"].get<std::string>();
  request.args = &args;
  request.actor = call.actor;
  request.idempotency_key = key;
  auto started = std::chrono::steady_clock::now();
  auto result = call.dependencies.commands->Execute(request);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  call.dependencies.metrics->RecordAppend(seconds, result.ok() ? AppendedEvents(*result) : 0,
                                          result.ok());
  if (!result.ok()) {
    spdlog::warn("command {} by {} failed: {}", request.command, call.actor,
                 result.status().ToString());
    return ErrorResponse(result.status());
  }
  return JsonResponse(*result);
}

HttpResponse GetMetrics(ApiCall& call) {
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  ScrapeGauges gauges;
  if (call.dependencies.gauges) gauges = call.dependencies.gauges();
  response.body = call.dependencies.metrics->Render(gauges);
  return response;
}

HttpResponse GetHealth(ApiCall&) { return JsonResponse({{"status", "ok"}}); }

HttpResponse GetReady(ApiCall& call) {
  bool ready = call.dependencies.runner == nullptr || call.dependencies.runner->CaughtUp();
  nlohmann::json body = {{"ready", ready},
                         {"head", call.dependencies.ledger->HeadPosition()},
                         {"projections", ProjectionStatusesJson(call.dependencies)}};
  if (!ready) body["reason"] = "projections are still catching up with the ledger";
  return JsonResponse(body, ready ? 200 : 503);
}

}  // namespace rollbook::server
