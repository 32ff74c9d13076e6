// ctest-labels: integration
#include "commands/notifier.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

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

// Returns the listed responses in turn, then 200.
class ScriptedResponses {
 public:
  explicit ScriptedResponses(std::vector<HttpServerResponse> script) : script_(std::move(script)) {}
  HttpServerResponse operator()(const HttpServerRequest&) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (next_ < script_.size()) return script_[next_++];
    return HttpServerResponse{};
  }

 private:
  std::mutex mutex_;
  std::vector<HttpServerResponse> script_;
  size_t next_ = 0;
};

class NotifierTest : public ::testing::Test {
 protected:
  // Makes the server respond with `script` in order, then with 200.
  void Script(std::vector<HttpServerResponse> script) {
    auto responses = std::make_shared<ScriptedResponses>(std::move(script));
    server_.SetHandler(
        [responses](const HttpServerRequest& request) { return (*responses)(request); });
  }

  NotifierTarget Target(std::string kind, std::vector<std::string> triggers = {}) {
    return {"incident-channel", std::move(kind), server_.Url("/services/T0/B0/secret-path"),
            std::move(triggers)};
  }

  std::unique_ptr<Notifier> MakeNotifier(std::vector<NotifierTarget> targets) {
    return std::make_unique<Notifier>(
        std::move(targets),
        [this](const NotificationOutcome& outcome) {
          std::lock_guard<std::mutex> lock(mutex_);
          outcomes_.push_back(outcome);
        },
        options_);
  }

  std::vector<NotificationOutcome> Outcomes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return outcomes_;
  }

  static milliseconds Gap(const HttpServerRequest& first, const HttpServerRequest& second) {
    return std::chrono::duration_cast<milliseconds>(second.received_at - first.received_at);
  }

  testing::LoopbackHttpServer server_;
  NotifierOptions options_ = [] {
    NotifierOptions options;
    options.initial_backoff = milliseconds(20);
    options.request_timeout = milliseconds(2000);
    return options;
  }();
  std::mutex mutex_;
  std::vector<NotificationOutcome> outcomes_;
};

TEST_F(NotifierTest, SlackMessageIsDelivered) {
  auto notifier = MakeNotifier({Target("slack", {"start"})});

  notifier->Enqueue("start", "Rollback rb-1 started: Critical performance issues", json::object());

  ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  ASSERT_EQ(server_.RequestCount(), 1u);
  HttpServerRequest request = server_.Requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/services/T0/B0/secret-path");
  EXPECT_EQ(json::parse(request.body),
            json({{"text", "Rollback rb-1 started: Critical performance issues"}}));
  ASSERT_EQ(Outcomes().size(), 1u);
  EXPECT_TRUE(Outcomes()[0].delivered());
  EXPECT_EQ(Outcomes()[0].http_status, 200);
  EXPECT_EQ(Outcomes()[0].attempts, 1);
  EXPECT_EQ(Outcomes()[0].target, "incident-channel");
}

TEST_F(NotifierTest, OnlySubscribedTriggersAreSent) {
  auto notifier = MakeNotifier({Target("slack", {"failure"})});

  notifier->Enqueue("start", "started", json::object());
  notifier->Enqueue("failure", "failed", json::object());

  ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  ASSERT_EQ(server_.RequestCount(), 1u);
  EXPECT_EQ(json::parse(server_.Requests()[0].body)["text"], "failed");
}

TEST_F(NotifierTest, WebhookBodyCarriesFields) {
  auto notifier = MakeNotifier({Target("webhook")});

  notifier->Enqueue("completion", "Rollback rb-1 succeeded",
                    {{"rollback_id", "rb-1"}, {"outcome", "succeeded"}, {"text", "ignored"}});

  ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  EXPECT_EQ(json::parse(server_.Requests()[0].body), json({{"trigger", "completion"},
                                                           {"text", "Rollback rb-1 succeeded"},
                                                           {"rollback_id", "rb-1"},
                                                           {"outcome", "succeeded"}}));
}

TEST_F(NotifierTest, SlackBlocksAreIncluded) {
  auto notifier = MakeNotifier({Target("slack")});
  json blocks =
      json::array({{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", "*x*"}}}}});

  notifier->Enqueue("alert", "alert", {{"blocks", blocks}, {"rollback_id", "rb-2"}});

  ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  EXPECT_EQ(json::parse(server_.Requests()[0].body), json({{"text", "alert"}, {"blocks", blocks}}));
}

TEST_F(NotifierTest, SlackGetsOneMessagePerSecond) {
  auto notifier = MakeNotifier({Target("slack")});

  for (int i = 0; i < 3; ++i)
    notifier->Enqueue("alert", "message " + std::to_string(i), json::object());

  ASSERT_TRUE(notifier->Flush(milliseconds(10000)));
  std::vector<HttpServerRequest> requests = server_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  for (size_t i = 1; i < requests.size(); ++i) {
    EXPECT_GE(Gap(requests[i - 1], requests[i]), milliseconds(950))
        << "between " << i - 1 << " and " << i;
    EXPECT_EQ(json::parse(requests[i].body)["text"], "message " + std::to_string(i));
  }
}

TEST_F(NotifierTest, WebhookIsNotRateLimited) {
  auto notifier = MakeNotifier({Target("webhook")});

  for (int i = 0; i < 3; ++i) notifier->Enqueue("alert", "message", json::object());

  ASSERT_TRUE(notifier->Flush(milliseconds(900)));
  EXPECT_EQ(server_.RequestCount(), 3u);
}

TEST_F(NotifierTest, TooManyRequestsWaitsForRetryAfter) {
  Script({HttpServerResponse{429, {{"Retry-After", "1"}}, "rate_limited"}});
  options_.slack_interval = milliseconds(0);
  auto notifier = MakeNotifier({Target("slack")});

  notifier->Enqueue("start", "started", json::object());

  ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  std::vector<HttpServerRequest> requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_GE(Gap(requests[0], requests[1]), milliseconds(950));
  ASSERT_EQ(Outcomes().size(), 1u);
  EXPECT_TRUE(Outcomes()[0].delivered());
  EXPECT_EQ(Outcomes()[0].attempts, 2);
}

TEST_F(NotifierTest, ServerErrorsAreRetried) {
  Script({HttpServerResponse{500, {}, ""}, HttpServerResponse{503, {}, ""}});
  auto notifier = MakeNotifier({Target("webhook")});

  notifier->Enqueue("failure", "failed", json::object());

  ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  EXPECT_EQ(server_.RequestCount(), 3u);
  ASSERT_EQ(Outcomes().size(), 1u);
  EXPECT_TRUE(Outcomes()[0].delivered());
  EXPECT_EQ(Outcomes()[0].attempts, 3);
}

TEST_F(NotifierTest, GivesUpAfterMaxAttempts) {
  server_.SetHandler([](const HttpServerRequest&) { return HttpServerResponse{500, {}, ""}; });
  options_.max_attempts = 3;
  auto notifier = MakeNotifier({Target("webhook")});

  notifier->Enqueue("failure", "failed", json::object());

  ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  EXPECT_EQ(server_.RequestCount(), 3u);
  ASSERT_EQ(Outcomes().size(), 1u);
  EXPECT_FALSE(Outcomes()[0].delivered());
  EXPECT_EQ(Outcomes()[0].http_status, 500);
  EXPECT_NE(Outcomes()[0].error.find("gave up after 3 attempts"), std::string::npos);
}

TEST_F(NotifierTest, ClientErrorIsNotRetried) {
  server_.SetHandler([](const HttpServerRequest&) {
    return HttpServerResponse{404, {}, "no_service"};
  });
  auto notifier = MakeNotifier({Target("slack")});

  notifier->Enqueue("start", "started", json::object());

  ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  EXPECT_EQ(server_.RequestCount(), 1u);
  EXPECT_EQ(Outcomes()[0].error, "status 404");
}

TEST_F(NotifierTest, RefusedConnectionIsReported) {
  options_.max_attempts = 2;
  NotifierTarget target = Target("slack");
  target.url = "http://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()) + "/hook";
  auto notifier = MakeNotifier({target});

  notifier->Enqueue("start", "started", json::object());

  ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  ASSERT_EQ(Outcomes().size(), 1u);
  EXPECT_FALSE(Outcomes()[0].delivered());
  EXPECT_EQ(Outcomes()[0].attempts, 2);
  EXPECT_EQ(Outcomes()[0].http_status, 0);
}

TEST_F(NotifierTest, EnqueueDoesNotWaitForServer) {
  server_.SetHandler([](const HttpServerRequest&) {
    return HttpServerResponse{200, {}, "", milliseconds(500)};
  });
  auto notifier = MakeNotifier({Target("webhook")});

  auto start = std::chrono::steady_clock::now();
  notifier->Enqueue("start", "started", json::object());
  notifier->Enqueue("alert", "alert", json::object());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(100));

  ASSERT_TRUE(server_.WaitForRequests(1, milliseconds(2000)));
}

TEST_F(NotifierTest, DestructorWaitIsBounded) {
  server_.SetHandler([](const HttpServerRequest&) {
    return HttpServerResponse{200, {}, "", milliseconds(10000)};
  });
  options_.drain_timeout = milliseconds(200);
  options_.request_timeout = milliseconds(20000);
  auto notifier = MakeNotifier({Target("webhook")});
  notifier->Enqueue("start", "first", json::object());
  notifier->Enqueue("alert", "second", json::object());
  ASSERT_TRUE(server_.WaitForRequests(1, milliseconds(2000)));

  auto start = std::chrono::steady_clock::now();
  notifier.reset();

  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
  std::vector<NotificationOutcome> outcomes = Outcomes();
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0].delivered());
  EXPECT_FALSE(outcomes[1].delivered());
  EXPECT_NE(outcomes[1].error.find("not sent"), std::string::npos);
}

TEST_F(NotifierTest, LogsNameTargetButNotUrl) {
  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  server_.SetHandler([](const HttpServerRequest&) { return HttpServerResponse{500, {}, ""}; });
  options_.max_attempts = 2;
  {
    auto notifier = MakeNotifier({Target("slack")});
    notifier->Enqueue("failure", "failed", json::object());
    ASSERT_TRUE(notifier->Flush(milliseconds(5000)));
  }
  spdlog::set_default_logger(previous);

  EXPECT_NE(log.str().find("incident-channel"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("secret-path"), std::string::npos) << log.str();
}

// --- The notify driver ---------------------------------------------------------------------

class NotifyDriverTest : public ::testing::Test {
 protected:
  StepContext Context(bool dry_run) {
    StepContext context;
    context.rollback_id = "rb-5";
    context.component = "application";
    context.step = "tell-payments";
    context.action = "send";
    context.params = &params_;
    context.dry_run = dry_run;
    context.timeout = milliseconds(5000);
    context.redactor = &redactor_;
    return context;
  }

  StepOutcome Run(json params, bool dry_run = false) {
    params_ = std::move(params);
    return driver_->Run(Context(dry_run));
  }

  testing::LoopbackHttpServer server_;
  std::unique_ptr<Driver> driver_ = MakeNotifyDriver();
  json params_;
  Redactor redactor_;
};

TEST_F(NotifyDriverTest, SlackMessageWithBlocksAndChannel) {
  json blocks = json::array({{{"type", "divider"}}});
  StepOutcome outcome = Run({{"url", server_.Url("/hook")},
                             {"text", "AI search rolled back"},
                             {"blocks", blocks},
                             {"channel", "#payments"}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(
      json::parse(server_.Requests()[0].body),
      json({{"text", "AI search rolled back"}, {"blocks", blocks}, {"channel", "#payments"}}));
  EXPECT_EQ(outcome.result.summary,
            "sent slack notification to 127.0.0.1: status 200 after 1 attempt");
}

TEST_F(NotifyDriverTest, WebhookMessageNamesStep) {
  StepOutcome outcome =
      Run({{"url", server_.Url("/hook")}, {"kind", "webhook"}, {"text", "rolled back"}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  json body = json::parse(server_.Requests()[0].body);
  EXPECT_EQ(body["rollback_id"], "rb-5");
  EXPECT_EQ(body["step"], "tell-payments");
  EXPECT_EQ(body["text"], "rolled back");
}

TEST_F(NotifyDriverTest, FailureDoesNotFailStepByDefault) {
  server_.SetHandler([](const HttpServerRequest&) { return HttpServerResponse{403, {}, ""}; });

  StepOutcome outcome = Run({{"url", server_.Url("/hook")}, {"text", "hello"}});

  EXPECT_TRUE(outcome.status.ok());
  EXPECT_NE(outcome.result.summary.find("failed after 1 attempt: status 403"), std::string::npos)
      << outcome.result.summary;
}

TEST_F(NotifyDriverTest, RequiredFailureFailsStep) {
  server_.SetHandler([](const HttpServerRequest&) { return HttpServerResponse{500, {}, ""}; });

  StepOutcome outcome = Run({{"url", server_.Url("/hook")}, {"text", "hello"}, {"required", true}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(server_.RequestCount(), 3u);
}

TEST_F(NotifyDriverTest, SecretUrlStaysOutOfSummary) {
  std::string url = server_.Url("/services/T0/B0/XXXXsecret");
  redactor_.Add(url);
  server_.SetHandler([](const HttpServerRequest&) { return HttpServerResponse{404, {}, ""}; });

  StepOutcome outcome = Run({{"url", url}, {"text", "hello"}});

  EXPECT_EQ(outcome.result.summary.find("XXXXsecret"), std::string::npos);
  EXPECT_EQ(driver_->Describe(Context(true)).find("XXXXsecret"), std::string::npos);
}

TEST_F(NotifyDriverTest, DryRunSendsNothing) {
  StepOutcome outcome = Run({{"url", server_.Url("/hook")}, {"text", "hello"}}, true);

  ASSERT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.result.summary, "would send a slack notification to 127.0.0.1: \"hello\"");
  EXPECT_FALSE(server_.WaitForRequests(1, milliseconds(100)));
}

TEST_F(NotifyDriverTest, DescribeShowsUnresolvedReference) {
  params_ = {{"url", "${env:SLACK_WEBHOOK_URL}"}, {"text", "hello"}};
  EXPECT_EQ(driver_->Describe(Context(true)),
            "would send a slack notification to ${env:SLACK_WEBHOOK_URL}: \"hello\"");
}

TEST_F(NotifyDriverTest, InvalidKindIsRejected) {
  StepOutcome outcome = Run({{"url", server_.Url("/hook")}, {"text", "x"}, {"kind", "email"}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server_.RequestCount(), 0u);
}

}  // namespace
}  // namespace rollbook::commands
