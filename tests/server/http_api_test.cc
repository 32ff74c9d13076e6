// ctest-labels: integration
// The HTTP API's endpoints over real loopback sockets: events with filters and cursor paging
// (also while events are appended), streams, rollbacks, components, projections, verification,
// Server-Sent Events with resume, commands and metrics.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <regex>
#include <set>

#include "ledger/time_format.h"
#include "projections/event_filter.h"
#include "tests/server/server_fixture.h"

namespace rollbook::testing {
namespace {

using Outcome = schema::Outcome;

class HttpApiTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    StartServer();
  }

  // Appends a note as `actor` to `stream` directly to the ledger; returns its position.
  uint64_t AppendNoteAs(const std::string& actor, const std::string& stream = "notes") {
    ledger::AppendRequest request;
    request.stream = stream;
    request.actor = actor;
    request.events.push_back(NoteEvent("from " + actor));
    auto appended = ledger_->Append(request);
    EXPECT_TRUE(appended.ok()) << appended.status().ToString();
    return appended.ok() ? appended->last_position : 0;
  }

  // Pages through /v1/events with `query` until has_more is false; returns the positions.
  std::vector<uint64_t> PageAll(const std::string& query, int limit) {
    std::vector<uint64_t> positions;
    std::string cursor_part;
    for (int page = 0; page < 10000; ++page) {
      HttpReply reply = Get("/v1/events?limit=" + std::to_string(limit) + query + cursor_part);
      EXPECT_EQ(reply.status, 200) << reply.body;
      if (reply.status != 200) break;
      nlohmann::json body = reply.Json();
      for (const auto& event : body["events"]) {
        positions.push_back(std::stoull(event["position"].get<std::string>()));
      }
      cursor_part = "&cursor=" + body["next_cursor"].get<std::string>();
      if (!body["has_more"].get<bool>()) break;
    }
    return positions;
  }

  std::vector<uint64_t> ExpectedPositions(const projections::EventFilter& filter) {
    std::vector<uint64_t> positions;
    for (const auto& event : ReadAll()) {
      if (projections::MatchesFilter(filter, event)) positions.push_back(event.position);
    }
    return positions;
  }
};

TEST_F(HttpApiTest, HealthAndReadiness) {
  EXPECT_EQ(Get("/healthz").status, 200);
  WaitForProjections();
  for (int attempt = 0; attempt < 100 && Get("/readyz").status != 200; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  HttpReply ready = Get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_TRUE(ready.Json()["ready"].get<bool>());
  EXPECT_EQ(ready.Json()["projections"].size(), 4u);
}

TEST_F(HttpApiTest, EventsListAndSingleEvent) {
  AppendNotes(5);
  HttpReply page = Get("/v1/events?limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.Header("content-type"), "application/json");
  nlohmann::json body = page.Json();
  ASSERT_EQ(body["events"].size(), 2u);
  EXPECT_EQ(body["events"][0]["position"], "1");
  EXPECT_EQ(body["events"][0]["eventType"], "ledgerInitialized");
  EXPECT_TRUE(body["events"][0]["payload"].contains("ledgerInitialized"));
  EXPECT_EQ(body["events"][0]["hash"].get<std::string>().size(), 64u);
  EXPECT_TRUE(body["has_more"].get<bool>());
  EXPECT_EQ(body["head"], 6);

  HttpReply single = Get("/v1/events/3");
  ASSERT_EQ(single.status, 200);
  EXPECT_EQ(single.Json()["payload"]["annotation"]["text"], "note 1");

  HttpReply missing = Get("/v1/events/999");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.ErrorCode(), "not_found");
  EXPECT_FALSE(missing.ErrorMessage().empty());
  EXPECT_EQ(Get("/v1/events/zero").status, 400);
}

// Full pages come from the page cache; a page that reached the head must not: it grows.
TEST_F(HttpApiTest, CachedPagesStayCorrectAsTheLogGrows) {
  AppendNotes(5);  // head 6
  HttpReply first = Get("/v1/events?limit=4");
  HttpReply again = Get("/v1/events?limit=4");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body, again.body);
  HttpReply lines = Get("/v1/events?limit=4&format=ndjson");
  EXPECT_EQ(lines.Header("content-type"), "application/x-ndjson");
  EXPECT_EQ(std::count(lines.body.begin(), lines.body.end(), '\n'), 4);

  nlohmann::json tail = Get("/v1/events?after=4&limit=4").Json();
  EXPECT_EQ(tail["events"].size(), 2u);
  EXPECT_FALSE(tail["has_more"].get<bool>());

  AppendNotes(3);  // head 9
  nlohmann::json grown = Get("/v1/events?after=4&limit=4").Json();
  ASSERT_EQ(grown["events"].size(), 4u);
  EXPECT_EQ(grown["events"][3]["position"], "8");
  EXPECT_TRUE(grown["has_more"].get<bool>());
  nlohmann::json cached = Get("/v1/events?limit=4").Json();
  EXPECT_EQ(cached["head"], 9);
  EXPECT_EQ(cached["events"], first.Json()["events"]);
  EXPECT_EQ(Get("/v1/events/8").Json()["position"], "8");
}

TEST_F(HttpApiTest, EventsFilterByTypeActorStreamComponent) {
  AppendNoteAs("bob");
  AppendNoteAs("carol", "other");
  Rollback("rb-1")
      .Component("db", {{"restore", "postgres"}})
      .RunToCompletion(Outcome::SUCCEEDED, 40);
  Rollback("rb-2").Component("flags", {{"flip", "flagd"}}).RunToCompletion(Outcome::SUCCEEDED, 40);
  WaitForProjections();

  struct Case {
    std::string query;
    projections::EventFilter filter;
  };
  std::vector<Case> cases(7);
  cases[0] = {"&actor=bob", {}};
  cases[0].filter.actor = "bob";
  cases[1] = {"&stream=other", {}};
  cases[1].filter.stream = "other";
  cases[2] = {"&type=stepStarted,rollbackCompleted", {}};
  cases[2].filter.types = {"stepStarted", "rollbackCompleted"};
  cases[3] = {"&component=db", {}};
  cases[3].filter.component = "db";
  cases[4] = {"&rollback=rb-2", {}};
  cases[4].filter.rollback_id = "rb-2";
  cases[5] = {"&component=flags&type=changeApplied", {}};
  cases[5].filter.component = "flags";
  cases[5].filter.types = {"changeApplied"};
  cases[6] = {"&type=annotation&actor=carol", {}};
  cases[6].filter.types = {"annotation"};
  cases[6].filter.actor = "carol";
  for (const auto& test : cases) {
    SCOPED_TRACE(test.query);
    std::vector<uint64_t> expected = ExpectedPositions(test.filter);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(PageAll(test.query, 3), expected);
  }
}

TEST_F(HttpApiTest, EventsFilterByTime) {
  AppendNotes(3);
  int64_t middle = ledger::NowNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  AppendNotes(2);
  HttpReply since = Get("/v1/events?since=" + std::to_string(middle));
  ASSERT_EQ(since.status, 200) << since.body;
  EXPECT_EQ(since.Json()["events"].size(), 2u);
  HttpReply until = Get("/v1/events?until=" + std::to_string(middle));
  ASSERT_EQ(until.status, 200) << until.body;
  EXPECT_EQ(until.Json()["events"].size(), 4u);
  HttpReply bad = Get("/v1/events?since=yesterday-ish");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.ErrorMessage().find("since"), std::string::npos) << bad.ErrorMessage();
}

TEST_F(HttpApiTest, CursorPagingUnderConcurrentAppends) {
  AppendNotes(50);
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < 400 && writing; ++i) AppendNoteAs(i % 3 == 0 ? "bob" : "alice");
  });

  // Page while the writer appends: every page must continue exactly after the last one.
  std::vector<uint64_t> all = PageAll("", 7);
  std::vector<uint64_t> bob = PageAll("&actor=bob", 5);
  writer.join();
  writing = false;
  std::vector<uint64_t> all_after = PageAll("", 50);
  std::vector<uint64_t> bob_after = PageAll("&actor=bob", 50);

  for (size_t i = 1; i < all.size(); ++i) ASSERT_EQ(all[i], all[i - 1] + 1) << "gap at " << i;
  EXPECT_EQ(all_after.size(), ledger_->HeadPosition());
  projections::EventFilter filter;
  filter.actor = "bob";
  std::vector<uint64_t> expected_bob = ExpectedPositions(filter);
  ASSERT_LE(bob.size(), expected_bob.size());
  EXPECT_TRUE(std::equal(bob.begin(), bob.end(), expected_bob.begin()))
      << "pages read during appends must be a prefix of the final result";
  EXPECT_EQ(bob_after, expected_bob);
  EXPECT_EQ(std::set<uint64_t>(bob.begin(), bob.end()).size(), bob.size()) << "a repeat";
}

TEST_F(HttpApiTest, CursorKeepsRelativeTimeWindow) {
  AppendNotes(5);  // head 6
  nlohmann::json first = Get("/v1/events?since=15m&limit=2").Json();
  ASSERT_EQ(first["events"].size(), 2u);
  std::string cursor = first["next_cursor"];

  HttpReply second = Get("/v1/events?since=15m&limit=2&cursor=" + cursor);
  ASSERT_EQ(second.status, 200) << second.body;
  ASSERT_EQ(second.Json()["events"].size(), 2u);
  EXPECT_EQ(second.Json()["events"][0]["position"], "3");
  EXPECT_EQ(Get("/v1/events?since=15m&actor=x&cursor=" + cursor).status, 400);
}

TEST_F(HttpApiTest, CursorFromBeyondTheHeadSkipsNothing) {
  AppendNotes(2);  // head 3
  nlohmann::json early = Get("/v1/events?after=10").Json();
  EXPECT_TRUE(early["events"].empty());
  AppendNotes(9);  // head 12

  nlohmann::json later = Get("/v1/events?cursor=" + early["next_cursor"].get<std::string>()).Json();
  ASSERT_EQ(later["events"].size(), 9u);
  EXPECT_EQ(later["events"][0]["position"], "4");
}

TEST_F(HttpApiTest, CursorTiedToFilters) {
  AppendNotes(5);
  HttpReply first = Get("/v1/events?limit=2&actor=tester");
  ASSERT_EQ(first.status, 200);
  std::string cursor = first.Json()["next_cursor"];
  HttpReply other = Get("/v1/events?limit=2&actor=someone&cursor=" + cursor);
  EXPECT_EQ(other.status, 400);
  EXPECT_NE(other.ErrorMessage().find("cursor"), std::string::npos);
  EXPECT_EQ(Get("/v1/events?cursor=not-a-cursor").status, 400);
  EXPECT_EQ(Get("/v1/events?cursor=" + cursor + "&after=3&actor=tester").status, 400);
}

TEST_F(HttpApiTest, ParameterErrorsNameTheParameter) {
  HttpReply huge = Get("/v1/events?limit=100000");
  EXPECT_EQ(huge.status, 400);
  EXPECT_EQ(huge.ErrorCode(), "invalid_argument");
  EXPECT_NE(huge.ErrorMessage().find("'limit'"), std::string::npos) << huge.ErrorMessage();
  HttpReply zero = Get("/v1/events?limit=0");
  EXPECT_EQ(zero.status, 400);
  HttpReply unknown = Get("/v1/events?actr=bob");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.ErrorMessage().find("'actr'"), std::string::npos) << unknown.ErrorMessage();
}

TEST_F(HttpApiTest, NdjsonExport) {
  AppendNotes(9);
  HttpReply by_format = Get("/v1/events?format=ndjson&limit=4");
  ASSERT_EQ(by_format.status, 200);
  EXPECT_EQ(by_format.Header("content-type"), "application/x-ndjson");
  EXPECT_EQ(std::count(by_format.body.begin(), by_format.body.end(), '\n'), 4);
  EXPECT_EQ(by_format.Header("rollbook-has-more"), "true");
  std::string cursor = by_format.Header("rollbook-next-cursor");
  HttpReply by_accept = Get("/v1/events?cursor=" + cursor, "", {"Accept: application/x-ndjson"});
  ASSERT_EQ(by_accept.status, 200);
  EXPECT_EQ(std::count(by_accept.body.begin(), by_accept.body.end(), '\n'), 6);
  EXPECT_EQ(nlohmann::json::parse(by_accept.body.substr(0, by_accept.body.find('\n')))["position"],
            "5");
  EXPECT_EQ(Get("/v1/events?format=ndjson&limit=10000").status, 200);
  EXPECT_EQ(Get("/v1/events?format=xml").status, 400);
}

TEST_F(HttpApiTest, StreamEndpoint) {
  AppendNotes(3, "ops");
  HttpReply stream = Get("/v1/streams/ops");
  ASSERT_EQ(stream.status, 200) << stream.body;
  EXPECT_EQ(stream.Json()["version"], 3);
  EXPECT_EQ(stream.Json()["events"].size(), 3u);
  EXPECT_EQ(stream.Json()["events"][2]["streamVersion"], "3");
  EXPECT_EQ(Get("/v1/streams/nothing").status, 404);
  EXPECT_EQ(Get("/v1/streams/o%70s").status, 200) << "path segments are percent-decoded";
}

TEST_F(HttpApiTest, RollbacksListDetailAndTimeline) {
  Rollback("rb-1")
      .Component("db", {{"restore", "postgres"}})
      .RunToCompletion(Outcome::SUCCEEDED, 40);
  Rollback("rb-2", "staging").Component("flags", {{"flip", "flagd"}}).Request().Start();
  WaitForProjections();

  HttpReply all = Get("/v1/rollbacks");
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(all.Json()["rollbacks"].size(), 2u);
  EXPECT_EQ(all.Json()["rollbacks"][0]["id"], "rb-2") << "newest first";
  EXPECT_EQ(Get("/v1/rollbacks?status=completed").Json()["rollbacks"].size(), 1u);
  EXPECT_EQ(Get("/v1/rollbacks?status=active").Json()["rollbacks"][0]["id"], "rb-2");
  EXPECT_EQ(Get("/v1/rollbacks?environment=staging").Json()["total"], 1);
  EXPECT_EQ(Get("/v1/rollbacks?feature=checkout").Json()["total"], 2);
  EXPECT_EQ(Get("/v1/rollbacks?status=sleeping").status, 400);

  HttpReply detail = Get("/v1/rollbacks/rb-1");
  ASSERT_EQ(detail.status, 200);
  EXPECT_EQ(detail.Json()["outcome"], "succeeded");
  EXPECT_EQ(detail.Json()["components"][0]["steps"][0]["status"], "succeeded");
  EXPECT_EQ(Get("/v1/rollbacks/rb-9").status, 404);

  HttpReply timeline = Get("/v1/rollbacks/rb-1/timeline?limit=3");
  ASSERT_EQ(timeline.status, 200) << timeline.body;
  EXPECT_EQ(timeline.Json()["events"][0]["eventType"], "rollbackRequested");
  std::string cursor = timeline.Json()["next_cursor"];
  HttpReply rest = Get("/v1/rollbacks/rb-1/timeline?limit=100&cursor=" + cursor);
  ASSERT_EQ(rest.status, 200);
  projections::EventFilter filter;
  filter.rollback_id = "rb-1";
  EXPECT_EQ(3 + rest.Json()["events"].size(), ExpectedPositions(filter).size());
  EXPECT_EQ(Get("/v1/rollbacks/rb-9/timeline").status, 404);
}

TEST_F(HttpApiTest, ComponentsAndProjections) {
  Rollback("rb-1").Component("flags", {{"flip", "flagd"}}).RunToCompletion(Outcome::SUCCEEDED, 40);
  uint64_t first_end = ledger_->HeadPosition();
  Rollback("rb-2", "staging")
      .Component("flags", {{"flip", "flagd"}})
      .RunToCompletion(Outcome::FAILED, 40);
  WaitForProjections();

  HttpReply components = Get("/v1/components?environment=production");
  ASSERT_EQ(components.status, 200) << components.body;
  ASSERT_EQ(components.Json()["components"].size(), 1u);
  EXPECT_EQ(components.Json()["components"][0]["status"], "succeeded");
  ASSERT_EQ(components.Json()["targets"].size(), 1u);
  EXPECT_EQ(components.Json()["targets"][0]["value"], "off");

  HttpReply list = Get("/v1/projections");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.Json()["projections"].size(), 4u);
  HttpReply live = Get("/v1/projections/metrics");
  ASSERT_EQ(live.status, 200);
  EXPECT_EQ(live.Json()["state"]["production"]["requested"], 2);
  HttpReply past = Get("/v1/projections/metrics?at=" + std::to_string(first_end));
  ASSERT_EQ(past.status, 200) << past.body;
  EXPECT_EQ(past.Json()["state"]["production"]["requested"], 1);
  EXPECT_EQ(Get("/v1/projections/nonsense").status, 404);
}

TEST_F(HttpApiTest, VerifyRunsInBackground) {
  AppendNotes(20);
  HttpReply first = Get("/v1/verify");
  ASSERT_EQ(first.status, 200) << first.body;
  nlohmann::json state = first.Json();
  for (int attempt = 0; attempt < 500 && !state.contains("last_result"); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    state = Get("/v1/verify").Json();
  }
  ASSERT_TRUE(state.contains("last_result")) << state.dump();
  EXPECT_TRUE(state["last_result"]["intact"].get<bool>());
  EXPECT_EQ(state["last_result"]["head_position"], 21);
  EXPECT_FALSE(Get("/v1/verify").Json()["running"].get<bool>())
      << "a result that covers the head is reported without a new run";
  EXPECT_EQ(Get("/v1/verify?refresh=maybe").status, 400);
}

TEST_F(HttpApiTest, SubscribeStreamsAndResumes) {
  AppendNotes(2);
  auto first = std::make_unique<HttpConnection>(port_);
  ASSERT_TRUE(first->Send(BuildRequest("GET", "/v1/subscribe?after=3", {}, "", false)));
  auto head = first->ReadReply();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-type"), "text/event-stream");
  auto subscribed = first->ReadFrame();
  ASSERT_TRUE(subscribed.has_value());
  EXPECT_EQ(subscribed->comment, "subscribed after 3");

  AppendNotes(3);  // positions 4, 5, 6
  std::vector<std::string> ids;
  while (ids.size() < 3) {
    auto frame = first->ReadFrame();
    ASSERT_TRUE(frame.has_value()) << "stream ended after " << ids.size() << " events";
    if (frame->id.empty()) continue;  // a heartbeat
    ids.push_back(frame->id);
    EXPECT_EQ(nlohmann::json::parse(frame->data)["position"], frame->id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"4", "5", "6"}));

  // Disconnect, miss two events, and resume from the last id received. The header wins over
  // the ?after= that a reconnecting EventSource repeats.
  first.reset();
  AppendNotes(2);  // positions 7, 8
  HttpConnection resumed(port_);
  ASSERT_TRUE(
      resumed.Send(BuildRequest("GET", "/v1/subscribe?after=1", {"Last-Event-ID: 6"}, "", false)));
  ASSERT_TRUE(resumed.ReadReply().has_value());
  std::vector<std::string> resumed_ids;
  while (resumed_ids.size() < 2) {
    auto frame = resumed.ReadFrame();
    ASSERT_TRUE(frame.has_value());
    if (!frame->id.empty()) resumed_ids.push_back(frame->id);
  }
  EXPECT_EQ(resumed_ids, (std::vector<std::string>{"7", "8"}));
}

TEST_F(HttpApiTest, SubscribeFiltersAndSendsHeartbeats) {
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.Send(BuildRequest("GET", "/v1/subscribe?actor=bob", {}, "", false)));
  ASSERT_TRUE(connection.ReadReply().has_value());
  ASSERT_TRUE(connection.ReadFrame().has_value());  // the "subscribed" comment
  auto heartbeat = connection.ReadFrame(std::chrono::seconds(5));
  ASSERT_TRUE(heartbeat.has_value());
  EXPECT_EQ(heartbeat->comment, "heartbeat");

  AppendNoteAs("alice");
  uint64_t bob = AppendNoteAs("bob");
  std::optional<SseFrame> frame;
  do {
    frame = connection.ReadFrame();
  } while (frame && frame->id.empty());
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->id, std::to_string(bob));
  EXPECT_EQ(Get("/v1/subscribe?after=x").status, 400);
}

TEST_F(HttpApiTest, CommandsAppendAndAreIdempotent) {
  std::string body = R"({"command": "note", "args": {"text": "paged ops"}})";
  HttpReply first = Post("/v1/commands", body, "", {"Idempotency-Key: key-1"});
  ASSERT_EQ(first.status, 200) << first.body;
  uint64_t position = first.Json()["positions"][1];
  auto event = ledger_->ReadEvent(position);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->actor, "local");
  HttpReply again = Post("/v1/commands", body, "", {"Idempotency-Key: key-1"});
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.Json()["positions"], first.Json()["positions"]);
  EXPECT_EQ(ledger_->HeadPosition(), position);

  EXPECT_EQ(Post("/v1/commands", R"({"command": "conflict"})").status, 409);
  HttpReply unknown = Post("/v1/commands", R"({"command": "dance"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.ErrorCode(), "invalid_argument");
  EXPECT_EQ(Post("/v1/commands", R"({"args": {}})").status, 400);
  EXPECT_EQ(Post("/v1/commands", R"({"command": "note", "args": 3})").status, 400);
}

TEST_F(HttpApiTest, MetricsInPrometheusFormat) {
  Get("/v1/events");
  Get("/v1/events/999");
  Post("/v1/commands", R"({"command": "note", "args": {"text": "x"}})");
  HttpReply metrics = Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");

  const std::string& text = metrics.body;
  EXPECT_NE(text.find("# TYPE rollbook_http_requests_total counter"), std::string::npos);
  EXPECT_NE(
      text.find(R"(rollbook_http_requests_total{method="GET",route="/v1/events",status="200"} 1)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(route="/v1/events/{position}",status="404"} 1)"), std::string::npos);
  EXPECT_NE(text.find("rollbook_appends_total 1"), std::string::npos);
  EXPECT_NE(text.find(R"(rollbook_append_duration_seconds_bucket{le="+Inf"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(rollbook_projection_lag_events{projection="audit"})"), std::string::npos);
  EXPECT_NE(text.find("rollbook_ledger_head_position "), std::string::npos);
  EXPECT_NE(text.find("rollbook_subscription_lag_events "), std::string::npos);

  // name{label="value",...} number, where a quoted value may contain braces and escapes.
  std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? )"
      R"(-?[0-9.e+-]+$)");
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << "not a sample line: " << line;
  }
}

}  // namespace
}  // namespace rollbook::testing
