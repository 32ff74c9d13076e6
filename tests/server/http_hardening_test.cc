// ctest-labels: integration
// The HTTP server under hostile or unusual clients: token scopes, malformed requests, size and
// connection limits, slow clients, keep-alive, and graceful shutdown with requests in flight.
#include <gtest/gtest.h>

#include <csignal>
#include <sys/stat.h>

#include "tests/server/server_fixture.h"

namespace rollbook::testing {
namespace {

using Clock = std::chrono::steady_clock;

class HttpHardeningTest : public ServerTest {};

TEST_F(HttpHardeningTest, TokensAndScopes) {
  StartServerWithTokens(DefaultServerOptions());
  std::string note = R"({"command": "note", "args": {"text": "from the API"}})";

  HttpReply anonymous = Get("/v1/events");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.ErrorCode(), "unauthenticated");
  EXPECT_EQ(anonymous.Header("www-authenticate"), "Bearer realm=\"rollbook\"");
  EXPECT_EQ(Get("/v1/events", "rbk_wrong").status, 401);
  EXPECT_EQ(Get("/v1/events", "", {"Authorization: Basic dXNlcjpwYXNz"}).status, 401);
  EXPECT_EQ(Get("/healthz").status, 200) << "health checks need no token";

  EXPECT_EQ(Get("/v1/events", read_token_).status, 200);
  EXPECT_EQ(Get("/metrics", read_token_).status, 200);
  HttpReply refused = Post("/v1/commands", note, read_token_);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.ErrorCode(), "permission_denied");
  EXPECT_NE(refused.ErrorMessage().find("operate"), std::string::npos) << refused.ErrorMessage();

  HttpReply accepted = Post("/v1/commands", note, operate_token_);
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  auto event = ledger_->ReadEvent(accepted.Json()["positions"][1].get<uint64_t>());
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->actor, "operator") << "the token name is the actor";
  EXPECT_EQ(Post("/v1/commands", note, admin_token_).status, 200) << "admin includes operate";
  EXPECT_EQ(Post("/v1/projections/metrics/rebuild", "", operate_token_).status, 403);
  EXPECT_EQ(Post("/v1/projections/metrics/rebuild", "", admin_token_).status, 202);
}

TEST_F(HttpHardeningTest, TokenFileKeepsOnlyHashes) {
  std::string token = AddToken("ci", server::Scope::kRead);
  ASSERT_TRUE(token.starts_with("rbk_"));
  struct stat info {};
  ASSERT_EQ(::stat(tokens_file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::string content;
  ASSERT_EQ(RunShell("cat " + tokens_file_, &content), 0);
  EXPECT_EQ(content.find(token), std::string::npos) << "the token itself must not be stored";
  EXPECT_NE(content.find(server::TokenHash(token)), std::string::npos);

  auto again = server::AddToken(tokens_file_, "ci", server::Scope::kAdmin);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(server::AddToken(tokens_file_, "bad name!", server::Scope::kRead).ok());
  EXPECT_TRUE(server::RemoveToken(tokens_file_, "ci").ok());
  EXPECT_EQ(server::RemoveToken(tokens_file_, "ci").code(), StatusCode::kNotFound);
}

TEST_F(HttpHardeningTest, TokenAddedWhileRunningIsAccepted) {
  StartServerWithTokens(DefaultServerOptions());
  std::string late = AddToken("late", server::Scope::kRead);
  int status = 0;
  for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
    status = Get("/v1/events", late).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 200) << "the server reloads the tokens file when it changes";
}

TEST_F(HttpHardeningTest, RefusesPublicAddressWithoutTokens) {
  server::ServerOptions options = DefaultServerOptions();
  options.listen = "0.0.0.0:0";
  auto created = server::HttpServer::Create(*ledger_, runner_.get(), commands_.get(), options);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(created.status().message().find("--tokens"), std::string::npos);

  options.listen = "127.0.0.1:notaport";
  EXPECT_FALSE(server::HttpServer::Create(*ledger_, nullptr, nullptr, options).ok());
  options.listen = "example.com:80";
  EXPECT_FALSE(server::HttpServer::Create(*ledger_, nullptr, nullptr, options).ok());
  options.listen = "[::1]:0";
  EXPECT_TRUE(server::HttpServer::Create(*ledger_, nullptr, nullptr, options).ok());
}

TEST_F(HttpHardeningTest, MalformedRequests) {
  StartServer();
  struct Case {
    std::string name;
    std::string request;
    int status;
  };
  std::string huge_header = "X-Padding: " + std::string(10 * 1024, 'a');
  std::string big_body = R"({"command": "note", "args": {"text": ")" + std::string(70 * 1024, 'b') +
                         R"("}})";
  std::vector<Case> cases = {
      {"bad percent-encoding in query", BuildRequest("GET", "/v1/events?actor=%zz"), 400},
      {"truncated percent-encoding", BuildRequest("GET", "/v1/events?actor=%4"), 400},
      {"bad percent-encoding in path", BuildRequest("GET", "/v1/streams/a%G1"), 400},
      {"encoded NUL", BuildRequest("GET", "/v1/events?actor=a%00b"), 400},
      {"oversized header", BuildRequest("GET", "/v1/events", {huge_header}), 431},
      {"oversized body", BuildRequest("POST", "/v1/commands", {}, big_body), 413},
      {"invalid JSON body", BuildRequest("POST", "/v1/commands", {}, "{\"command\": "), 400},
      {"JSON of the wrong type", BuildRequest("POST", "/v1/commands", {}, "[1, 2]"), 400},
      {"unknown route", BuildRequest("GET", "/v2/everything"), 404},
      {"wrong method", BuildRequest("DELETE", "/v1/events"), 405},
      {"relative target", BuildRequest("GET", "v1/events"), 400},
      {"garbage request line", "HELLO THERE\r\n\r\n", 400},
      {"wrong content type",
       BuildRequest("POST", "/v1/commands", {"Content-Type: text/plain"}, "{}"), 415},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    HttpReply reply = Exchange(port_, test.request);
    EXPECT_EQ(reply.status, test.status) << reply.body;
    EXPECT_FALSE(reply.ErrorCode().empty()) << "error body: " << reply.body;
    EXPECT_FALSE(reply.ErrorMessage().empty());
  }
  EXPECT_EQ(Get("/healthz").status, 200) << "the server still serves after bad requests";
}

TEST_F(HttpHardeningTest, KeepAliveServesSeveralRequests) {
  StartServer();
  HttpConnection connection(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(connection.Send(BuildRequest("GET", "/healthz", {}, "", /*close=*/false)));
    auto reply = connection.ReadReply();
    ASSERT_TRUE(reply.has_value()) << "request " << i;
    EXPECT_EQ(reply->status, 200);
  }
}

TEST_F(HttpHardeningTest, SlowClientIsDisconnected) {
  server::ServerOptions options = DefaultServerOptions();
  options.request_timeout = std::chrono::milliseconds(400);
  StartServer(options);

  HttpConnection slow(port_);
  ASSERT_TRUE(slow.Send("GET /v1/ev"));
  Clock::time_point sent = Clock::now();
  EXPECT_TRUE(slow.WaitClosed(std::chrono::seconds(5)));
  EXPECT_GE(Clock::now() - sent, std::chrono::milliseconds(300));

  HttpConnection idle(port_);
  ASSERT_TRUE(idle.Send(BuildRequest("GET", "/healthz", {}, "", /*close=*/false)));
  ASSERT_TRUE(idle.ReadReply().has_value());
  EXPECT_TRUE(idle.WaitClosed(std::chrono::seconds(5))) << "idle keep-alive connections end too";
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(HttpHardeningTest, ConnectionLimit) {
  server::ServerOptions options = DefaultServerOptions();
  options.max_connections = 2;
  StartServer(options);
  HttpConnection first(port_);
  HttpConnection second(port_);
  for (HttpConnection* connection : {&first, &second}) {
    ASSERT_TRUE(connection->Send(BuildRequest("GET", "/healthz", {}, "", /*close=*/false)));
    ASSERT_TRUE(connection->ReadReply().has_value());
  }
  HttpReply third = Get("/healthz");
  EXPECT_EQ(third.status, 503);
  EXPECT_EQ(third.ErrorCode(), "unavailable");
}

TEST_F(HttpHardeningTest, SubscriptionLimit) {
  server::ServerOptions options = DefaultServerOptions();
  options.max_subscriptions = 1;
  StartServer(options);
  HttpConnection stream(port_);
  ASSERT_TRUE(stream.Send(BuildRequest("GET", "/v1/subscribe", {}, "", false)));
  ASSERT_TRUE(stream.ReadReply().has_value());
  HttpReply second = Get("/v1/subscribe");
  EXPECT_EQ(second.status, 429);
  EXPECT_EQ(second.Header("retry-after"), "5");
}

TEST_F(HttpHardeningTest, GracefulShutdownFinishesInFlightRequests) {
  StartServer();
  HttpConnection stream(port_);
  ASSERT_TRUE(stream.Send(BuildRequest("GET", "/v1/subscribe", {}, "", false)));
  ASSERT_TRUE(stream.ReadReply().has_value());
  HttpConnection idle(port_);
  ASSERT_TRUE(idle.Send(BuildRequest("GET", "/healthz", {}, "", false)));
  ASSERT_TRUE(idle.ReadReply().has_value());

  HttpConnection in_flight(port_);
  ASSERT_TRUE(in_flight.Send(BuildRequest("POST", "/v1/commands", {"Content-Type: application/json"},
                                          R"({"command": "block", "args": {"text": "last"}})")));
  ASSERT_TRUE(commands_->WaitBlocked(std::chrono::seconds(10)));
  server_->Stop();

  EXPECT_TRUE(idle.WaitClosed(std::chrono::seconds(5))) << "idle connections close at once";
  EXPECT_TRUE(stream.WaitClosed(std::chrono::seconds(5))) << "event streams end";
  HttpConnection late(port_);
  EXPECT_FALSE(late.connected() && late.Send(BuildRequest("GET", "/healthz")) &&
               late.ReadReply(std::chrono::seconds(2)).has_value())
      << "no new requests are served while stopping";

  commands_->Release();
  auto reply = in_flight.ReadReply();
  ASSERT_TRUE(reply.has_value()) << "the in-flight request must still be answered";
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("connection"), "close");
  server_thread_.join();
  EXPECT_EQ(ledger_->ReadEvent(ledger_->HeadPosition())->actor, "local");
}

TEST_F(HttpHardeningTest, StopsOnSigterm) {
  server::ServerOptions options = DefaultServerOptions();
  options.handle_signals = true;
  StartServer(options);
  ASSERT_EQ(Get("/healthz").status, 200);
  std::raise(SIGTERM);
  server_thread_.join();
  EXPECT_EQ(Get("/healthz").status, 0) << "the listening socket is closed";
}

}  // namespace
}  // namespace rollbook::testing
