// Endpoints that read events: /v1/events, /v1/events/{position}, /v1/streams/{id} and the
// Server-Sent Events stream /v1/subscribe.
#include <nlohmann/json.hpp>

#include "ledger/event_json.h"
#include "ledger/keys.h"
#include "ledger/ledger.h"
#include "ledger/time_format.h"
#include "projections/event_query.h"
#include "tools/server/api_internal.h"
#include "tools/server/response_caches.h"

namespace rollbook::server {
namespace {

constexpr uint64_t kDefaultPageSize = 100;
constexpr uint64_t kMaxPageSize = 1000;
constexpr uint64_t kDefaultExportSize = 1000;
constexpr uint64_t kMaxExportSize = 10000;
constexpr uint64_t kMaxPosition = uint64_t{1} << 62;

Status ReadFilter(const QueryParams& query, projections::EventFilter& filter) {
  filter.stream = query.Get("stream").value_or("");
  filter.types = query.GetList("type");
  filter.actor = query.Get("actor").value_or("");
  filter.component = query.Get("component").value_or("");
  filter.rollback_id = query.Get("rollback").value_or("");
  auto since = query.GetTime("since");
  if (!since.ok()) return since.status();
  auto until = query.GetTime("until");
  if (!until.ok()) return until.status();
  filter.since_ns = *since;
  filter.until_ns = *until;
  if (filter.since_ns != 0 && filter.until_ns != 0 && filter.until_ns <= filter.since_ns) {
    return InvalidArgument("invalid value for parameter 'until': it must be later than 'since'");
  }
  return Status::Ok();
}

bool WantsNdjson(const ApiCall& call) {
  auto format = call.query.Get("format");
  if (format) return *format == "ndjson";
  return call.request.Header("accept").find("application/x-ndjson") != std::string::npos;
}

// Returns whether the request's time window moves with the clock: a duration such as since=15m
// on a first page. Such a page is never asked for again, so caching it would only evict others.
bool HasMovingWindow(const QueryParams& query) {
  if (query.Get("cursor")) return false;  // the cursor fixed the window
  for (const char* name : {"since", "until"}) {
    auto text = query.Get(name);
    if (text && ledger::ParseDuration(*text).ok()) return true;
  }
  return false;
}

// Returns the JSON of one event, from the cache when the server has one.
Result<std::shared_ptr<const std::string>> EventJson(ResponseCaches* caches,
                                                     const ledger::RecordedEvent& event) {
  std::string key;
  if (caches != nullptr) {
    ledger::AppendBigEndian64(&key, event.position);
    if (auto cached = caches->event_json.Find(key)) return cached;
  }
  auto json = ledger::EventToJson(event);
  if (!json.ok()) return json.status();
  auto shared = std::make_shared<const std::string>(std::move(json).value());
  if (caches != nullptr) caches->event_json.Insert(key, shared, shared->size() + key.size());
  return shared;
}

// Renders the events of a page as a JSON array, or as NDJSON lines.
Result<RenderedPage> RenderPage(ResponseCaches* caches, const projections::EventPage& page,
                                bool ndjson) {
  RenderedPage rendered;
  rendered.next_after = page.next_after;
  rendered.has_more = page.has_more;
  if (!ndjson) rendered.events.push_back('[');
  for (size_t i = 0; i < page.events.size(); ++i) {
    auto json = EventJson(caches, page.events[i]);
    if (!json.ok()) return json.status();
    if (!ndjson && i > 0) rendered.events.push_back(',');
    rendered.events += **json;
    if (ndjson) rendered.events.push_back('\n');
  }
  if (!ndjson) rendered.events.push_back(']');
  return rendered;
}

// Returns the rendered page of `limit` events after `after` that pass `filter`. A page that has
// more after it ends below the head and never changes, so it is cached under its parameters.
Result<std::shared_ptr<const RenderedPage>> FindPage(ApiCall& call,
                                                     const projections::EventFilter& filter,
                                                     uint64_t after, uint64_t limit, bool ndjson) {
  ResponseCaches* caches = call.dependencies.caches;
  std::string key;
  if (caches != nullptr) {
    key = (ndjson ? "ndjson\n" : "json\n") + filter.CanonicalText() + "\n" + std::to_string(after) +
          "\n" + std::to_string(limit);
    if (auto cached = caches->pages.Find(key)) return cached;
  }
  if (call.cached_only) {
    call.needs_handler_thread = true;
    return std::shared_ptr<const RenderedPage>();
  }
  auto page = projections::QueryEvents(*call.dependencies.ledger, call.dependencies.runner, filter,
                                       after, limit);
  if (!page.ok()) return page.status();
  auto rendered = RenderPage(caches, *page, ndjson);
  if (!rendered.ok()) return rendered.status();
  auto shared = std::make_shared<const RenderedPage>(std::move(rendered).value());
  if (caches != nullptr && shared->has_more && !HasMovingWindow(call.query)) {
    caches->pages.Insert(key, shared, shared->events.size() + key.size());
  }
  return shared;
}

// Builds the JSON page body: {"events": [...], <fields>, "next_cursor", "has_more"}.
HttpResponse PageResponse(const RenderedPage& page, const projections::EventFilter& filter,
                          nlohmann::json fields) {
  fields["next_cursor"] = EncodeCursor(page.next_after, filter);
  fields["has_more"] = page.has_more;
  std::string tail = fields.dump();
  HttpResponse response;
  response.body.reserve(page.events.size() + tail.size() + 16);
  response.body = "{\"events\":";
  response.body += page.events;
  response.body += ",";
  response.body.append(tail, 1);
  response.body += "\n";
  return response;
}

HttpResponse NdjsonResponse(const RenderedPage& page, const projections::EventFilter& filter) {
  HttpResponse response;
  response.content_type = "application/x-ndjson";
  response.body = page.events;
  response.headers.emplace_back("Rollbook-Next-Cursor", EncodeCursor(page.next_after, filter));
  response.headers.emplace_back("Rollbook-Has-More", page.has_more ? "true" : "false");
  return response;
}

}  // namespace

Result<uint64_t> ReadStart(const QueryParams& query, projections::EventFilter* filter) {
  auto cursor = query.Get("cursor");
  if (cursor && query.Get("after")) {
    return InvalidArgument("invalid parameters: use either 'after' or 'cursor', not both");
  }
  if (cursor) return DecodeCursor(*cursor, filter);
  return query.GetUnsigned("after", 0, 0, kMaxPosition);
}

HttpResponse EventPageResponse(ApiCall& call, const projections::EventFilter& filter,
                               uint64_t after, uint64_t limit, nlohmann::json fields) {
  auto page = FindPage(call, filter, after, limit, /*ndjson=*/false);
  if (!page.ok()) return ErrorResponse(page.status());
  if (*page == nullptr) return HttpResponse();  // not cached; see ApiCall::cached_only
  return PageResponse(**page, filter, std::move(fields));
}

HttpResponse ListEvents(ApiCall& call) {
  Status known = call.query.CheckKnown({"stream", "type", "actor", "component", "rollback", "since",
                                        "until", "after", "cursor", "limit", "format"});
  if (!known.ok()) return ErrorResponse(known);
  auto format = call.query.Get("format");
  if (format && *format != "json" && *format != "ndjson") {
    return ErrorResponse(
        400, "invalid_argument",
        "invalid value '" + *format + "' for parameter 'format': use json or ndjson");
  }
  bool ndjson = WantsNdjson(call);

  projections::EventFilter filter;
  Status read = ReadFilter(call.query, filter);
  if (!read.ok()) return ErrorResponse(read);
  auto after = ReadStart(call.query, &filter);
  if (!after.ok()) return ErrorResponse(after.status());
  auto limit = call.query.GetUnsigned("limit", ndjson ? kDefaultExportSize : kDefaultPageSize, 1,
                                      ndjson ? kMaxExportSize : kMaxPageSize);
  if (!limit.ok()) return ErrorResponse(limit.status());

  auto page = FindPage(call, filter, *after, *limit, ndjson);
  if (!page.ok()) return ErrorResponse(page.status());
  if (*page == nullptr) return HttpResponse();  // not cached; see ApiCall::cached_only
  if (ndjson) return NdjsonResponse(**page, filter);
  // Read after the page, so that the head is never below the page's last event.
  return PageResponse(**page, filter, {{"head", call.dependencies.ledger->HeadPosition()}});
}

HttpResponse GetEvent(ApiCall& call) {
  Status known = call.query.CheckKnown({});
  if (!known.ok()) return ErrorResponse(known);
  QueryParams path({{"position", call.path_params["position"]}});
  auto position = path.GetUnsigned("position", 0, 1, kMaxPosition);
  if (!position.ok()) return ErrorResponse(position.status());
  auto event = call.dependencies.ledger->ReadEvent(*position);
  if (!event.ok()) return ErrorResponse(event.status());
  auto json = EventJson(call.dependencies.caches, *event);
  if (!json.ok()) return ErrorResponse(json.status());
  HttpResponse response;
  response.body = **json + "\n";
  return response;
}

HttpResponse GetStream(ApiCall& call) {
  Status known = call.query.CheckKnown({"after", "cursor", "limit"});
  if (!known.ok()) return ErrorResponse(known);
  projections::EventFilter filter;
  filter.stream = call.path_params["id"];
  auto version = call.dependencies.ledger->StreamVersion(filter.stream);
  if (!version.ok()) return ErrorResponse(version.status());
  if (*version == 0) return ErrorResponse(NotFound("no stream named '" + filter.stream + "'"));
  auto after = ReadStart(call.query, &filter);
  if (!after.ok()) return ErrorResponse(after.status());
  auto limit = call.query.GetUnsigned("limit", kDefaultPageSize, 1, kMaxPageSize);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto page = FindPage(call, filter, *after, *limit, /*ndjson=*/false);
  if (!page.ok()) return ErrorResponse(page.status());
  if (*page == nullptr) return HttpResponse();  // not cached; see ApiCall::cached_only

  // Read after the page, so that the version is never below the page's last event.
  auto current = call.dependencies.ledger->StreamVersion(filter.stream);
  if (!current.ok()) return ErrorResponse(current.status());
  return PageResponse(**page, filter, {{"stream", filter.stream}, {"version", *current}});
}

HttpResponse Subscribe(ApiCall& call) {
  Status known =
      call.query.CheckKnown({"stream", "type", "actor", "component", "rollback", "after"});
  if (!known.ok()) return ErrorResponse(known);
  SseStart start;
  Status read = ReadFilter(call.query, start.filter);
  if (!read.ok()) return ErrorResponse(read);

  // A reconnecting EventSource sends the id of the last event it received.
  std::string last_event_id = call.request.Header("last-event-id");
  QueryParams resume = last_event_id.empty() ? call.query : QueryParams({{"after", last_event_id}});
  auto after = resume.GetUnsigned("after", 0, 0, kMaxPosition);
  if (!after.ok()) {
    return ErrorResponse(400, "invalid_argument",
                         last_event_id.empty() ? after.status().message()
                                               : "invalid Last-Event-ID header '" + last_event_id +
                                                     "': expected an event position");
  }
  start.after = *after;

  if (call.dependencies.subscription_available && !call.dependencies.subscription_available()) {
    HttpResponse response = ErrorResponse(
        429, "too_many_requests", "too many open subscriptions on this server; retry later");
    response.headers.emplace_back("Retry-After", "5");
    return response;
  }
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.sse = start;
  return response;
}

}  // namespace rollbook::server
