// ctest-labels: integration
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "commands/drivers/drivers.h"
#include "commands/secrets.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/temp_dir.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::HttpServerRequest;
using testing::HttpServerResponse;

class HttpDriverTest : public ::testing::Test {
 protected:
  void Respond(int status, std::string body, milliseconds delay = milliseconds(0)) {
    server_.SetHandler([=](const HttpServerRequest&) {
      HttpServerResponse response;
      response.status = status;
      response.body = body;
      response.delay = delay;
      return response;
    });
  }

  StepContext Context(StepRole role, bool dry_run) {
    StepContext context;
    context.rollback_id = "rb-3";
    context.component = "external-services";
    context.step = "call";
    context.action = "request";
    context.role = role;
    context.params = &params_;
    context.dry_run = dry_run;
    context.timeout = milliseconds(5000);
    context.backups = &store_;
    context.redactor = &redactor_;
    return context;
  }

  StepOutcome Run(json params, StepRole role = StepRole::kChange, bool dry_run = false) {
    params_ = std::move(params);
    return driver_->Run(Context(role, dry_run));
  }

  testing::TempDir dir_;
  testing::LoopbackHttpServer server_;
  std::unique_ptr<Driver> driver_ = MakeHttpDriver();
  json params_;
  BackupStore store_{dir_.Join("backups")};
  Redactor redactor_;
};

TEST_F(HttpDriverTest, GetRecordsStatusAndBody) {
  Respond(200, "hello");

  StepOutcome outcome = Run({{"url", server_.Url("/health?token=abc")}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.output.stdout_text, "hello");
  EXPECT_EQ(outcome.result.host, "127.0.0.1");
  EXPECT_EQ(outcome.result.summary, "GET " + server_.Url("/health") + " -> 200");
  ASSERT_EQ(server_.RequestCount(), 1u);
  EXPECT_EQ(server_.Requests()[0].target, "/health?token=abc");
}

TEST_F(HttpDriverTest, PostSendsHeadersAndJsonBody) {
  Respond(202, "");

  StepOutcome outcome = Run({{"url", server_.Url("/integrations/ai/disable")},
                             {"method", "POST"},
                             {"headers", {{"X-Request-Source", "rollbook"}}},
                             {"body", {{"enabled", false}}}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_EQ(server_.RequestCount(), 1u);
  HttpServerRequest request = server_.Requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.Header("x-request-source"), "rollbook");
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(json::parse(request.body), json({{"enabled", false}}));
}

TEST_F(HttpDriverTest, StringBodyIsSentAsWritten) {
  Respond(200, "");
  StepOutcome outcome = Run({{"url", server_.Url("/")}, {"method", "PUT"}, {"body", "a=1&b=2"}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(server_.Requests()[0].method, "PUT");
  EXPECT_EQ(server_.Requests()[0].body, "a=1&b=2");
}

TEST_F(HttpDriverTest, ServerErrorFails) {
  Respond(500, "database is down");

  StepOutcome outcome = Run({{"url", server_.Url("/purge")}, {"method", "POST"}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(outcome.status.message().find("500"), std::string::npos);
  EXPECT_NE(outcome.status.message().find("database is down"), std::string::npos);
  EXPECT_EQ(outcome.result.output.stdout_text, "database is down");
}

TEST_F(HttpDriverTest, ClientErrorFailsAsPrecondition) {
  Respond(404, "");
  StepOutcome outcome = Run({{"url", server_.Url("/missing")}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kFailedPrecondition);
}

TEST_F(HttpDriverTest, ExpectStatusAcceptsListedCode) {
  Respond(404, "");
  StepOutcome outcome = Run({{"url", server_.Url("/gone")}, {"expect_status", {404, 410}}});
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
}

TEST_F(HttpDriverTest, SlowServerTimesOut) {
  Respond(200, "late", milliseconds(3000));
  auto start = std::chrono::steady_clock::now();

  StepOutcome outcome = Run({{"url", server_.Url("/slow")}, {"timeout_ms", 200}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

TEST_F(HttpDriverTest, RefusedConnectionIsUnavailable) {
  int port = testing::FreeLoopbackPort();
  StepOutcome outcome = Run({{"url", "http://127.0.0.1:" + std::to_string(port) + "/"}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(outcome.result.host, "127.0.0.1");
}

TEST_F(HttpDriverTest, OnlyHttpSchemesAreAccepted) {
  for (const char* url : {"ftp://127.0.0.1/file", "file:///etc/passwd", "not a url"}) {
    StepOutcome outcome = Run({{"url", url}});
    EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument) << url;
  }
}

TEST_F(HttpDriverTest, ResponseBodyIsCapped) {
  Respond(200, std::string(100000, 'x'));

  StepOutcome outcome = Run({{"url", server_.Url("/big")}, {"max_body_bytes", 1000}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.output.stdout_text.size(), 1000u);
  EXPECT_TRUE(outcome.result.output.truncated);
}

TEST_F(HttpDriverTest, VerifyRoleChecksBody) {
  Respond(200, "{\"status\": \"ok\"}");
  StepOutcome passed =
      Run({{"url", server_.Url("/health")}, {"expect_body_contains", "\"ok\""}}, StepRole::kVerify);
  ASSERT_TRUE(passed.status.ok()) << passed.status.ToString();
  ASSERT_TRUE(passed.result.verification.has_value());
  EXPECT_TRUE(passed.result.verification->passed);

  Respond(200, "{\"status\": \"degraded\"}");
  StepOutcome failed =
      Run({{"url", server_.Url("/health")}, {"expect_body_contains", "\"ok\""}}, StepRole::kVerify);
  EXPECT_EQ(failed.status.code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(failed.result.verification.has_value());
  EXPECT_FALSE(failed.result.verification->passed);
}

TEST_F(HttpDriverTest, VerifyRoleFailsOnStatus) {
  Respond(503, "");
  StepOutcome outcome = Run({{"url", server_.Url("/health")}}, StepRole::kVerify);
  EXPECT_EQ(outcome.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(outcome.result.verification->actual, "status 503");
}

TEST_F(HttpDriverTest, SecretsAreRedacted) {
  std::string token = "token-0123456789";
  std::string secret_url = server_.Url("/hooks/T000/B000/" + token);
  redactor_.Add(token);
  redactor_.Add(secret_url);
  server_.SetHandler([](const HttpServerRequest& request) {
    return HttpServerResponse{500, {}, "echo: " + request.Header("authorization")};
  });

  StepOutcome outcome =
      Run({{"url", secret_url}, {"method", "POST"}, {"headers", {{"Authorization", token}}}});

  ASSERT_EQ(server_.Requests()[0].Header("authorization"), token);
  EXPECT_EQ(outcome.result.output.stdout_text, "echo: [redacted]");
  EXPECT_EQ(outcome.result.summary.find(token), std::string::npos) << outcome.result.summary;
  EXPECT_EQ(outcome.status.message().find(token), std::string::npos) << outcome.status.message();
  EXPECT_EQ(outcome.status.message().find("/hooks/"), std::string::npos);
}

TEST_F(HttpDriverTest, SaveResponseAsBackup) {
  Respond(200, "{\"provider\": \"ai\", \"enabled\": true}");

  StepOutcome outcome = Run({{"url", server_.Url("/config")},
                             {"save_response_as_backup", true},
                             {"origin", "ai-provider:config"}},
                            StepRole::kBackup);

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_EQ(outcome.result.backups.size(), 1u);
  EXPECT_EQ(outcome.result.backups[0].format, "http-response");
  EXPECT_EQ(outcome.result.backups[0].origin, "ai-provider:config");
  EXPECT_EQ(*store_.ReadChecked(outcome.result.backups[0]),
            "{\"provider\": \"ai\", \"enabled\": true}");
}

TEST_F(HttpDriverTest, DryRunSendsNothing) {
  StepOutcome outcome =
      Run({{"url", server_.Url("/disable")}, {"method", "DELETE"}}, StepRole::kChange, true);

  ASSERT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.result.summary, "would send DELETE " + server_.Url("/disable") +
                                        ", expecting status 200, 201, 202 or 204");
  EXPECT_EQ(outcome.result.summary, driver_->Describe(Context(StepRole::kChange, true)));
  EXPECT_FALSE(server_.WaitForRequests(1, milliseconds(100)));
}

TEST_F(HttpDriverTest, DescribeShowsUnresolvedReference) {
  params_ = {{"url", "${env:PURGE_URL}"}, {"method", "POST"}};
  EXPECT_EQ(driver_->Describe(Context(StepRole::kChange, true)),
            "would send POST ${env:PURGE_URL}, expecting status 200, 201, 202 or 204");
}

TEST_F(HttpDriverTest, HeaderWithLineBreakIsRejected) {
  StepOutcome outcome =
      Run({{"url", server_.Url("/")}, {"headers", {{"X-Test", "a\r\nInjected: yes"}}}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server_.RequestCount(), 0u);
}

}  // namespace
}  // namespace rollbook::commands
