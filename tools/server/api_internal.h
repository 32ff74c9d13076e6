// Shared pieces of the API's endpoint files. Internal to tools/server.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/server/api.h"

namespace rollbook::server {

// Decoded query parameters of one request, with validation that names the parameter.
class QueryParams {
 public:
  QueryParams() = default;
  explicit QueryParams(std::vector<std::pair<std::string, std::string>> pairs)
      : pairs_(std::move(pairs)) {}

  // Fails with kInvalidArgument naming the first parameter not in `known`.
  Status CheckKnown(std::initializer_list<std::string_view> known) const;
  // Returns the last value given for `name`, or nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  // Returns every value, splitting each at commas ("type=a,b&type=c" gives a, b, c).
  std::vector<std::string> GetList(std::string_view name) const;
  // Parses an unsigned integer in [min, max]; `fallback` when absent.
  Result<uint64_t> GetUnsigned(std::string_view name, uint64_t fallback, uint64_t min,
                               uint64_t max) const;
  // Parses "true"/"false"/"1"/"0"; `fallback` when absent.
  Result<bool> GetBool(std::string_view name, bool fallback) const;
  // Parses an RFC 3339 time, nanoseconds since the epoch, or a duration ago ("15m"); 0 if absent.
  Result<int64_t> GetTime(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// One request being handled: the request, its decoded parts and the caller.
struct ApiCall {
  const HttpRequest& request;
  ApiDependencies& dependencies;
  QueryParams query;
  std::map<std::string, std::string> path_params;  // from "{name}" segments, decoded
  std::string actor;
  // Set by Api::HandleFromCache(): a handler that would have to read a page from the ledger
  // sets needs_handler_thread instead and returns any response, which is dropped.
  bool cached_only = false;
  bool needs_handler_thread = false;
};

using Handler = HttpResponse (*)(ApiCall& call);

// Encodes a page position, the filter's time window and a digest of the rest of the filter as an
// opaque cursor: base64url(BE64(position) || BE64(since_ns) || BE64(until_ns) || first 8 bytes
// of SHA-256 of the filter, with the window reduced to which bounds are set).
std::string EncodeCursor(uint64_t position, const projections::EventFilter& filter);
// Returns the position and sets the filter's time window from the cursor, so that a relative
// window such as since=15m stays the one of the first page. Fails with kInvalidArgument when the
// cursor is malformed or was made for other filters.
Result<uint64_t> DecodeCursor(std::string_view cursor, projections::EventFilter* filter);

// Reads `after` or `cursor` (not both) as the position to continue after; a cursor also sets
// the filter's time window.
Result<uint64_t> ReadStart(const QueryParams& query, projections::EventFilter* filter);

// Responds with the JSON page of `limit` events after `after` that pass `filter`:
// {"events": [...], <fields>, "next_cursor", "has_more"}, from the page cache when it can.
HttpResponse EventPageResponse(ApiCall& call, const projections::EventFilter& filter,
                               uint64_t after, uint64_t limit, nlohmann::json fields);

// Returns {"name": value, ...} for the statuses of the runner's projections.
nlohmann::json ProjectionStatusesJson(ApiDependencies& dependencies);

// Endpoints, in api_events.cc.
HttpResponse ListEvents(ApiCall& call);
HttpResponse GetEvent(ApiCall& call);
HttpResponse GetStream(ApiCall& call);
HttpResponse Subscribe(ApiCall& call);
// Endpoints, in api_rollbacks.cc.
HttpResponse ListRollbacks(ApiCall& call);
HttpResponse GetRollback(ApiCall& call);
HttpResponse GetRollbackTimeline(ApiCall& call);
HttpResponse ListComponents(ApiCall& call);
HttpResponse ListProjections(ApiCall& call);
HttpResponse GetProjection(ApiCall& call);
HttpResponse RebuildProjection(ApiCall& call);
// Endpoints, in api_operations.cc.
HttpResponse GetVerify(ApiCall& call);
HttpResponse PostCommand(ApiCall& call);
HttpResponse GetMetrics(ApiCall& call);
HttpResponse GetHealth(ApiCall& call);
HttpResponse GetReady(ApiCall& call);

}  // namespace rollbook::server
