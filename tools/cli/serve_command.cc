#include "tools/cli/serve_command.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "commands/command_socket.h"
#include "commands/orchestrator.h"
#include "projections/runner.h"
#include "tools/cli/analysis_commands.h"
#include "tools/cli/background_monitors.h"
#include "tools/cli/cli.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/ledger_access.h"
#include "tools/cli/token_command.h"
#include "tools/server/http_server.h"

namespace rollbook::cli {
namespace {

struct ServeArguments {
  std::string listen = "127.0.0.1:8080";
  std::string tokens_file;
  size_t max_connections = 256;
  int request_timeout_ms = 10000;
};

// Returns the tokens file to use: --tokens, else <ledger>/tokens.json when it exists, else none.
std::string ChooseTokensFile(const GlobalOptions& options, const ServeArguments& arguments) {
  if (!arguments.tokens_file.empty()) return arguments.tokens_file;
  std::string fallback = DefaultTokensFile(options);
  std::error_code ignored;
  return std::filesystem::exists(fallback, ignored) ? fallback : "";
}

int RunServe(const GlobalOptions& options, const ServeArguments& arguments) {
  // Own the ledger, then bring up the read side, the executors and the command socket.
  auto opened = OpenLedger(options, LedgerAccess::kWrite, "serve");
  if (!opened.ok()) return ReportFailure(opened.status());
  ledger::Ledger& ledger = **opened;

  auto runner = projections::ProjectionRunner::Open(ledger, projections::MakeDefaultProjections(),
                                                    projections::RunnerOptions());
  if (!runner.ok()) return ReportFailure(runner.status());
  (*runner)->Start();

  BackgroundMonitors monitors(ledger);  // declared first, so it stops after the orchestrator
  commands::OrchestratorOptions orchestrator_options;
  orchestrator_options.resume_unfinished = true;
  orchestrator_options.extra_commands = OwnerCommands(ledger, monitors);
  commands::Orchestrator orchestrator(ledger, orchestrator_options);
  Status started = orchestrator.Start();
  if (!started.ok()) return ReportFailure(started);
  std::unique_ptr<commands::CommandSocketServer> command_socket;
  auto socket = commands::CommandSocketServer::Start(ledger, orchestrator);
  if (socket.ok()) {
    command_socket = std::move(socket).value();
  } else {
    spdlog::warn("other rollbook processes cannot reach this server through its command socket: {}",
                 socket.status().ToString());
  }

  server::ServerOptions server_options;
  server_options.listen = arguments.listen;
  server_options.tokens_file = ChooseTokensFile(options, arguments);
  server_options.max_connections = arguments.max_connections;
  server_options.request_timeout = std::chrono::milliseconds(arguments.request_timeout_ms);
  server_options.handle_signals = true;
  auto server = server::HttpServer::Create(ledger, runner->get(), &orchestrator, server_options);
  if (!server.ok()) {
    orchestrator.Stop();
    return ReportFailure(server.status());
  }
  Status recorded = ledger.SetOwnerDetail("http", (*server)->url());
  if (!recorded.ok()) spdlog::warn("cannot record the server address: {}", recorded.ToString());
  fmt::print("Serving {} on {}{}; stop with Ctrl-C or SIGTERM.\n", ledger.directory(),
             (*server)->url(),
             (*server)->authenticated() ? " with tokens from " + server_options.tokens_file
                                        : " without authentication");
  std::fflush(stdout);

  (*server)->Run();

  // The HTTP side has drained. Stop taking commands, let running steps reach an event boundary,
  // then stop the projections; the ledger closes when `opened` goes out of scope.
  server->reset();
  command_socket.reset();
  orchestrator.Stop();
  (*runner)->Stop();
  spdlog::info("serve: stopped cleanly");
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, GlobalOptions& options) {
  auto arguments = std::make_shared<ServeArguments>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Own the ledger, run rollbacks and serve the HTTP audit API (docs/http-api.md)");
  serve
      ->add_option("--listen", arguments->listen,
                   "Address and port to listen on; a non-loopback address needs --tokens")
      ->capture_default_str();
  serve->add_option("--tokens", arguments->tokens_file,
                    "Tokens file for bearer authentication (default: tokens.json in the ledger "
                    "directory when it exists; without one, loopback only and no authentication)");
  serve
      ->add_option("--max-connections", arguments->max_connections,
                   "Open connections allowed at once; more get 503")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  serve
      ->add_option("--request-timeout-ms", arguments->request_timeout_ms,
                   "Milliseconds a client has to send a whole request before it is disconnected")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  SetAction(*serve, options, [&options, arguments] { return RunServe(options, *arguments); });
}

}  // namespace rollbook::cli
