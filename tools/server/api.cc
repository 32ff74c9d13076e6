#include "tools/server/api.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "ledger/keys.h"
#include "ledger/time_format.h"
#include "tools/server/api_internal.h"
#include "tools/server/url.h"

namespace rollbook::server {
namespace {

struct Route {
  std::string_view method;
  std::string_view path;       // template; "{name}" segments capture
  std::optional<Scope> scope;  // nullopt: no authentication
  Handler handler;
  bool pages = false;  // serves event pages, which may be in the page cache
};

const Route kRoutes[] = {
    {"GET", "/v1/events", Scope::kRead, ListEvents, true},
    {"GET", "/v1/events/{position}", Scope::kRead, GetEvent},
    {"GET", "/v1/streams/{id}", Scope::kRead, GetStream, true},
    {"GET", "/v1/rollbacks", Scope::kRead, ListRollbacks},
    {"GET", "/v1/rollbacks/{id}", Scope::kRead, GetRollback},
    {"GET", "/v1/rollbacks/{id}/timeline", Scope::kRead, GetRollbackTimeline, true},
    {"GET", "/v1/components", Scope::kRead, ListComponents},
    {"GET", "/v1/projections", Scope::kRead, ListProjections},
    {"GET", "/v1/projections/{name}", Scope::kRead, GetProjection},
    {"POST", "/v1/projections/{name}/rebuild", Scope::kAdmin, RebuildProjection},
    {"GET", "/v1/verify", Scope::kRead, GetVerify},
    {"GET", "/v1/subscribe", Scope::kRead, Subscribe},
    {"POST", "/v1/commands", Scope::kOperate, PostCommand},
    {"GET", "/metrics", Scope::kRead, GetMetrics},
    {"GET", "/healthz", std::nullopt, GetHealth},
    {"GET", "/readyz", std::nullopt, GetReady},
};

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 1;  // skip the leading '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

// Matches decoded path segments against a route template, filling `params` on success.
bool MatchRoute(const Route& route, const std::vector<std::string>& segments,
                std::map<std::string, std::string>& params) {
  std::vector<std::string_view> pattern = SplitPath(route.path);
  if (pattern.size() != segments.size()) return false;
  std::map<std::string, std::string> captured;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i].starts_with('{')) {
      if (segments[i].empty()) return false;
      captured[std::string(pattern[i].substr(1, pattern[i].size() - 2))] = segments[i];
    } else if (pattern[i] != segments[i]) {
      return false;
    }
  }
  params = std::move(captured);
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

HttpResponse Unauthorized(const std::string& message) {
  HttpResponse response = ErrorResponse(401, "unauthenticated", message);
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"rollbook\"");
  return response;
}

// Authenticates the request for `scope`; returns an error response, or nullopt with `actor` set.
std::optional<HttpResponse> Authorize(const HttpRequest& request, TokenAuthenticator* tokens,
                                      Scope scope, std::string& actor) {
  if (tokens == nullptr) {
    actor = "local";
    return std::nullopt;
  }
  std::string header = request.Header("authorization");
  if (header.empty()) {
    return Unauthorized("missing bearer token; send the header 'Authorization: Bearer <token>'");
  }
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size() ||
      !EqualsIgnoreCase(std::string_view(header).substr(0, kScheme.size()), kScheme)) {
    return Unauthorized("invalid Authorization header; expected 'Bearer <token>'");
  }
  auto entry = tokens->Authenticate(std::string_view(header).substr(kScheme.size()));
  if (!entry) return Unauthorized("invalid bearer token; create one with `rollbook token add`");
  actor = entry->name;
  if (entry->scope < scope) {
    return ErrorResponse(403, "permission_denied",
                         "token '" + entry->name + "' has scope " +
                             std::string(ScopeName(entry->scope)) + "; this endpoint needs " +
                             std::string(ScopeName(scope)));
  }
  return std::nullopt;
}

}  // namespace

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kCancelled:
      return 409;
    case StatusCode::kLimitExceeded:
      return 413;
    case StatusCode::kBusy:
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kTimeout:
      return 504;
    case StatusCode::kCorruption:
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(int http_status, std::string_view code, const std::string& message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return JsonResponse(body, http_status);
}

HttpResponse ErrorResponse(const Status& status) {
  return ErrorResponse(HttpStatusFor(status.code()), StatusCodeName(status.code()),
                       status.message());
}

HttpResponse JsonResponse(const nlohmann::json& body, int http_status) {
  HttpResponse response;
  response.status = http_status;
  response.body = body.dump();
  response.body.push_back('\n');
  return response;
}

HandledRequest Api::Handle(const HttpRequest& request) {
  return *Dispatch(request, /*cached_only=*/false);
}

std::optional<HandledRequest> Api::HandleFromCache(const HttpRequest& request) {
  return Dispatch(request, /*cached_only=*/true);
}

std::optional<HandledRequest> Api::Dispatch(const HttpRequest& request, bool cached_only) {
  HandledRequest handled;
  handled.route = "unmatched";
  handled.actor = "-";

  // Split and decode the target.
  std::string_view target = request.target;
  if (target.empty() || target[0] != '/') {
    handled.response = ErrorResponse(400, "invalid_argument",
                                     "request target must be an absolute path starting with '/'");
    return handled;
  }
  size_t question = target.find('?');
  std::string_view raw_path = target.substr(0, question);
  std::string_view raw_query =
      question == std::string_view::npos ? "" : target.substr(question + 1);
  std::vector<std::string> segments;
  for (std::string_view segment : SplitPath(raw_path)) {
    auto decoded = PercentDecode(segment, /*plus_is_space=*/false);
    if (!decoded.ok()) {
      handled.response = ErrorResponse(decoded.status());
      return handled;
    }
    segments.push_back(std::move(decoded).value());
  }
  auto query = ParseQuery(raw_query);
  if (!query.ok()) {
    handled.response = ErrorResponse(query.status());
    return handled;
  }

  // Find the route; a path that matches with another method gets 405.
  const Route* matched = nullptr;
  std::map<std::string, std::string> params;
  std::string allowed;
  for (const Route& route : kRoutes) {
    std::map<std::string, std::string> candidate;
    if (!MatchRoute(route, segments, candidate)) continue;
    if (route.method != request.method) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(route.method);
      handled.route = std::string(route.path);
      continue;
    }
    matched = &route;
    params = std::move(candidate);
    break;
  }
  if (matched == nullptr && !allowed.empty()) {
    handled.response = ErrorResponse(
        405, "method_not_allowed",
        "method " + request.method + " is not allowed on " + handled.route + "; use " + allowed);
    handled.response.headers.emplace_back("Allow", allowed);
    return handled;
  }
  if (matched == nullptr) {
    handled.response = ErrorResponse(
        404, "not_found",
        "no endpoint at " + std::string(raw_path) + "; see docs/http-api.md for the routes");
    return handled;
  }
  handled.route = std::string(matched->path);
  if (cached_only && !matched->pages) return std::nullopt;

  if (matched->scope) {
    auto refused = Authorize(request, dependencies_.tokens, *matched->scope, handled.actor);
    if (refused) {
      handled.response = std::move(*refused);
      return handled;
    }
  }

  ApiCall call{request, dependencies_, QueryParams(std::move(query).value()), std::move(params),
               handled.actor};
  call.cached_only = cached_only;
  try {
    handled.response = matched->handler(call);
  } catch (const std::exception& e) {
    spdlog::error("http {} {}: handler failed: {}", request.method, handled.route, e.what());
    handled.response = ErrorResponse(500, "internal", "internal error while handling the request");
  }
  if (call.needs_handler_thread) return std::nullopt;
  return handled;
}

// --- QueryParams ------------------------------------------------------------------------------

Status QueryParams::CheckKnown(std::initializer_list<std::string_view> known) const {
  for (const auto& [name, value] : pairs_) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string list;
    for (std::string_view candidate : known)
      list += (list.empty() ? "" : ", ") + std::string(candidate);
    if (list.empty()) {
      return InvalidArgument("unknown query parameter '" + name +
                             "'; this endpoint takes no query parameters");
    }
    return InvalidArgument("unknown query parameter '" + name +
                           "'; this endpoint accepts: " + list);
  }
  return Status::Ok();
}

std::optional<std::string> QueryParams::Get(std::string_view name) const {
  std::optional<std::string> found;
  for (const auto& [key, value] : pairs_) {
    if (key == name) found = value;
  }
  return found;
}

std::vector<std::string> QueryParams::GetList(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : pairs_) {
    if (key != name) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      if (!item.empty()) values.emplace_back(item);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return values;
}

Result<uint64_t> QueryParams::GetUnsigned(std::string_view name, uint64_t fallback, uint64_t min,
                                          uint64_t max) const {
  auto text = Get(name);
  if (!text) return fallback;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    return InvalidArgument("invalid value '" + *text + "' for parameter '" + std::string(name) +
                           "': expected an integer from " + std::to_string(min) + " to " +
                           std::to_string(max));
  }
  return value;
}

Result<bool> QueryParams::GetBool(std::string_view name, bool fallback) const {
  auto text = Get(name);
  if (!text) return fallback;
  if (*text == "true" || *text == "1" || text->empty()) return true;
  if (*text == "false" || *text == "0") return false;
  return InvalidArgument("invalid value '" + *text + "' for parameter '" + std::string(name) +
                         "': expected true or false");
}

Result<int64_t> QueryParams::GetTime(std::string_view name) const {
  auto text = Get(name);
  if (!text) return int64_t{0};
  auto parsed = ledger::ParseTimeOrAgo(*text, ledger::NowNs());
  if (!parsed.ok()) {
    return InvalidArgument("invalid value '" + *text + "' for parameter '" + std::string(name) +
                           "': " + parsed.status().message());
  }
  return *parsed;
}

// --- Cursors ----------------------------------------------------------------------------------

namespace {

// Digests the filter with its time window reduced to which bounds are set: the cursor carries
// the window itself, as resolved for the first page.
std::string FilterDigest(const projections::EventFilter& filter) {
  projections::EventFilter shape = filter;
  shape.since_ns = filter.since_ns != 0 ? 1 : 0;
  shape.until_ns = filter.until_ns != 0 ? 1 : 0;
  std::string text = shape.CanonicalText();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), 8);
}

}  // namespace

std::string EncodeCursor(uint64_t position, const projections::EventFilter& filter) {
  std::string bytes;
  ledger::AppendBigEndian64(&bytes, position);
  ledger::AppendBigEndian64(&bytes, static_cast<uint64_t>(filter.since_ns));
  ledger::AppendBigEndian64(&bytes, static_cast<uint64_t>(filter.until_ns));
  bytes += FilterDigest(filter);
  return Base64UrlEncode(bytes);
}

Result<uint64_t> DecodeCursor(std::string_view cursor, projections::EventFilter* filter) {
  auto bytes = Base64UrlDecode(cursor);
  if (!bytes.ok() || bytes->size() != 32) {
    return InvalidArgument("invalid value for parameter 'cursor': not a cursor this server issued");
  }
  if (bytes->substr(24) != FilterDigest(*filter)) {
    return InvalidArgument(
        "invalid value for parameter 'cursor': it was issued for other filters; repeat the "
        "filters of the request that returned it");
  }
  std::string_view view(*bytes);
  filter->since_ns = static_cast<int64_t>(ledger::ReadBigEndian64(view.substr(8)));
  filter->until_ns = static_cast<int64_t>(ledger::ReadBigEndian64(view.substr(16)));
  return ledger::ReadBigEndian64(view);
}

}  // namespace rollbook::server
