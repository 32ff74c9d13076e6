// The command socket: how other rollbook processes on this machine reach the process that owns
// a ledger. It is a Unix stream socket at <ledger>/rollbook.sock with mode 0600, so only the
// ledger's owner user can connect.
//
// Protocol: the client sends one JSON line {"command", "args", "actor", "idempotency_key",
// "follow"}. The server answers with one line {"ok": true, "result": {...}} or
// {"ok": false, "error": {"code", "message"}}. With "follow" and a result naming a rollback,
// it then sends {"progress": "..."} lines for that rollback's events and ends with
// {"done": <rollback state>} when the rollback completes.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "commands/command_service.h"
#include "ledger/ledger.h"

namespace rollbook::commands {

class Orchestrator;

std::string CommandSocketPath(const std::string& ledger_directory);

class CommandSocketServer {
 public:
  // Listens at CommandSocketPath(ledger.directory()) and records it in the owner file.
  static Result<std::unique_ptr<CommandSocketServer>> Start(ledger::Ledger& ledger,
                                                            Orchestrator& orchestrator);
  ~CommandSocketServer();  // stops accepting, closes connections, removes the socket file

 private:
  CommandSocketServer(ledger::Ledger& ledger, Orchestrator& orchestrator, int fd, std::string path)
      : ledger_(ledger), orchestrator_(orchestrator), listen_fd_(fd), path_(std::move(path)) {}
  void AcceptLoop();
  void Serve(int fd);

  ledger::Ledger& ledger_;
  Orchestrator& orchestrator_;
  int listen_fd_;
  std::string path_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex connections_mutex_;
  std::vector<std::thread> connections_;  // guarded by connections_mutex_
  std::vector<int> connection_fds_;       // guarded by connections_mutex_
};

// Sends one command to the socket at `path`; calls `on_line` for every line after the first.
// Returns the first answer's result, or its error as a Status.
Result<nlohmann::json> SendCommand(const std::string& path, const nlohmann::json& request,
                                   const std::function<void(const nlohmann::json&)>& on_line);

// Follows a rollback's events from `after_position` and calls `on_progress` with each line
// until the rollback completes or `keep_going` returns false. Returns the final state as JSON.
Result<nlohmann::json> FollowRollback(ledger::Ledger& ledger, Orchestrator& orchestrator,
                                      const std::string& rollback_id, uint64_t after_position,
                                      const std::function<void(const std::string&)>& on_progress,
                                      const std::function<bool()>& keep_going);

}  // namespace rollbook::commands
