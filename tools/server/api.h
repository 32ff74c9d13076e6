// The HTTP API without the transport: requests in, responses out. The Beast session layer
// (http_server.cc) parses bytes into HttpRequest and writes HttpResponse back; everything
// between, routing, authentication, validation and the endpoints, lives here.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"
#include "projections/event_filter.h"
#include "tools/server/metrics_registry.h"
#include "tools/server/tokens.h"

namespace rollbook::ledger {
class Ledger;
}
namespace rollbook::projections {
class ProjectionRunner;
}
namespace rollbook::commands {
class CommandService;
}

namespace rollbook::server {

class VerifyJob;
class RebuildJobs;
struct ResponseCaches;

struct HttpRequest {
  std::string method;
  std::string target;  // as received: path and query, still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;

  // Returns the first value of the header, or "". `name` must be lower case.
  std::string Header(std::string_view name) const;
};

// Start position and filter of a Server-Sent Events stream, for a response that switches to one.
struct SseStart {
  uint64_t after = 0;
  projections::EventFilter filter;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<SseStart> sse;  // set: the connection becomes an event stream; body is unused
};

struct HandledRequest {
  HttpResponse response;
  std::string route;  // the matched route template, such as "/v1/events/{position}"
  std::string actor;  // the token name, "local" without tokens, "-" when not authenticated
};

struct ApiDependencies {
  ledger::Ledger* ledger = nullptr;
  projections::ProjectionRunner* runner = nullptr;  // optional
  commands::CommandService* commands =
      nullptr;  // optional; without it POST /v1/commands returns 503
  MetricsRegistry* metrics = nullptr;
  TokenAuthenticator* tokens = nullptr;  // null: no authentication, every request acts as "local"
  VerifyJob* verify = nullptr;
  RebuildJobs* rebuilds = nullptr;
  ResponseCaches* caches = nullptr;  // optional; null: every response is rendered afresh
  std::function<ScrapeGauges()> gauges;
  std::function<bool()> subscription_available;  // false: GET /v1/subscribe returns 429
};

// Routes and handles requests. Thread-safe: the server calls Handle() from several threads.
class Api {
 public:
  explicit Api(ApiDependencies dependencies) : dependencies_(std::move(dependencies)) {}
  HandledRequest Handle(const HttpRequest& request);
  // Handles the request only when that takes no reading of the ledger beyond a point lookup: a
  // cached events page, or an error found before any reading. Returns nullopt otherwise; then
  // call Handle() on a thread that may block. Lets the I/O threads serve cached pages at once.
  std::optional<HandledRequest> HandleFromCache(const HttpRequest& request);

 private:
  std::optional<HandledRequest> Dispatch(const HttpRequest& request, bool cached_only);

  ApiDependencies dependencies_;
};

// Maps a StatusCode to its HTTP status. The only place that does.
int HttpStatusFor(StatusCode code);

// Builds {"error": {"code": code, "message": message}} with the given HTTP status.
HttpResponse ErrorResponse(int http_status, std::string_view code, const std::string& message);
HttpResponse ErrorResponse(const Status& status);
HttpResponse JsonResponse(const nlohmann::json& body, int http_status = 200);

}  // namespace rollbook::server
