// A fixture that runs the HTTP server on a loopback port over a real ledger, real projections
// and a small command service, with verbs for requests, tokens and appends.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands/command_service.h"
#include "projections/runner.h"
#include "tests/fixtures/ledger_fixture.h"
#include "tests/projections/rollback_script.h"
#include "tests/server/http_client.h"
#include "tools/server/http_server.h"
#include "tools/server/tokens.h"

namespace rollbook::testing {

// Runs "note" (appends an annotation as the caller), "conflict" (fails with kConflict) and
// "block" (waits until Release(), for shutdown tests). Idempotency keys become command ids.
class TestCommandService final : public commands::CommandService {
 public:
  explicit TestCommandService(ledger::Ledger& ledger) : ledger_(ledger) {}

  Result<nlohmann::json> Execute(const commands::CommandRequest& request) override {
    if (request.command == "conflict") return Conflict("another rollback is active");
    if (request.command == "block") {
      std::unique_lock<std::mutex> lock(mutex_);
      blocked_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return released_; });
    } else if (request.command != "note") {
      return InvalidArgument("unknown command '" + request.command + "'");
    }
    ledger::AppendRequest append;
    append.stream = "notes";
    append.actor = request.actor;
    append.command_id = request.idempotency_key;
    std::string text = request.args->value("text", "");
    append.events.push_back(NoteEvent(text));
    auto appended = ledger_.Append(append);
    if (!appended.ok()) return appended.status();
    return nlohmann::json{{"positions", {appended->first_position, appended->last_position}}};
  }

  bool WaitBlocked(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return blocked_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  ledger::Ledger& ledger_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool blocked_ = false;   // guarded by mutex_
  bool released_ = false;  // guarded by mutex_
};

class ServerTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    projections::RunnerOptions runner_options;
    runner_options.commit_interval = std::chrono::milliseconds(20);
    auto runner = projections::ProjectionRunner::Open(
        *ledger_, projections::MakeDefaultProjections(), runner_options);
    ASSERT_TRUE(runner.ok()) << runner.status().ToString();
    runner_ = std::move(runner).value();
    runner_->Start();
    commands_ = std::make_unique<TestCommandService>(*ledger_);
    tokens_file_ = dir_.Join("tokens.json");
  }

  void TearDown() override {
    StopServer();
    if (runner_) runner_->Stop();
    runner_.reset();
    LedgerTest::TearDown();
  }

  server::ServerOptions DefaultServerOptions() const {
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.heartbeat_interval = std::chrono::milliseconds(200);
    options.request_timeout = std::chrono::milliseconds(3000);
    return options;
  }

  void StartServer(server::ServerOptions options) {
    auto created = server::HttpServer::Create(*ledger_, runner_.get(), commands_.get(), options);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    server_ = std::move(created).value();
    port_ = server_->port();
    server_thread_ = std::thread([this] { server_->Run(); });
  }
  void StartServer() { StartServer(DefaultServerOptions()); }

  // Starts the server with a tokens file holding one token per scope.
  void StartServerWithTokens(server::ServerOptions options) {
    read_token_ = AddToken("reader", server::Scope::kRead);
    operate_token_ = AddToken("operator", server::Scope::kOperate);
    admin_token_ = AddToken("admin", server::Scope::kAdmin);
    options.tokens_file = tokens_file_;
    StartServer(options);
  }

  void StopServer() {
    if (!server_) return;
    server_->Stop();
    if (server_thread_.joinable()) server_thread_.join();
    server_.reset();
  }

  std::string AddToken(const std::string& name, server::Scope scope) {
    auto token = server::AddToken(tokens_file_, name, scope);
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    return token.ok() ? *token : "";
  }

  HttpReply Get(const std::string& target, const std::string& token = "",
                std::vector<std::string> headers = {}) {
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    return Exchange(port_, BuildRequest("GET", target, headers));
  }

  HttpReply Post(const std::string& target, const std::string& body, const std::string& token = "",
                 std::vector<std::string> headers = {}) {
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    headers.push_back("Content-Type: application/json");
    return Exchange(port_, BuildRequest("POST", target, headers, body));
  }

  void WaitForProjections() {
    ASSERT_TRUE(runner_->WaitForPosition(ledger_->HeadPosition(), std::chrono::seconds(20)));
  }

  RollbackScript Rollback(const std::string& id, const std::string& environment = "production") {
    return RollbackScript(*ledger_, id, environment);
  }

  std::unique_ptr<projections::ProjectionRunner> runner_;
  std::unique_ptr<TestCommandService> commands_;
  std::unique_ptr<server::HttpServer> server_;
  std::thread server_thread_;
  int port_ = 0;
  std::string tokens_file_;
  std::string read_token_;
  std::string operate_token_;
  std::string admin_token_;
};

}  // namespace rollbook::testing
