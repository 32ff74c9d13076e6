#include "commands/command_socket.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands/orchestrator.h"
#include "commands/rollback_events.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;

constexpr size_t kMaxRequestBytes = 64 * 1024;
constexpr size_t kMaxConnections = 32;

bool WriteLine(int fd, const json& message) {
  std::string line = message.dump() + "\n";
  size_t written = 0;
  while (written < line.size()) {
    ssize_t count = ::send(fd, line.data() + written, line.size() - written, MSG_NOSIGNAL);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return false;
    written += static_cast<size_t>(count);
  }
  return true;
}

// Reads one line; gives up after `timeout_ms` of silence or kMaxRequestBytes.
bool ReadLine(int fd, std::string* buffer, std::string* line, int timeout_ms) {
  for (;;) {
    if (auto newline = buffer->find('\n'); newline != std::string::npos) {
      *line = buffer->substr(0, newline);
      buffer->erase(0, newline + 1);
      return true;
    }
    if (buffer->size() > kMaxRequestBytes) return false;
    pollfd poll_fd{fd, POLLIN, 0};
    int ready = ::poll(&poll_fd, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char chunk[4096];
    ssize_t count = ::recv(fd, chunk, sizeof(chunk), 0);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return false;
    buffer->append(chunk, static_cast<size_t>(count));
  }
}

json ErrorMessage(const Status& status) {
  return {{"ok", false},
          {"error",
           {{"code", std::string(StatusCodeName(status.code()))}, {"message", status.message()}}}};
}

StatusCode CodeFromName(const std::string& name) {
  for (int code = 0; code <= static_cast<int>(StatusCode::kInternal); ++code) {
    if (StatusCodeName(static_cast<StatusCode>(code)) == name) return static_cast<StatusCode>(code);
  }
  return StatusCode::kInternal;
}

}  // namespace

std::string CommandSocketPath(const std::string& ledger_directory) {
  return ledger_directory + "/rollbook.sock";
}

Result<std::unique_ptr<CommandSocketServer>> CommandSocketServer::Start(
    ledger::Ledger& ledger, Orchestrator& orchestrator) {
  std::string path = CommandSocketPath(ledger.directory());
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return InvalidArgument("socket path " + path + " is longer than " +
                           std::to_string(sizeof(address.sun_path) - 1) +
                           " bytes; use a shorter ledger directory");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return IoError(std::string("cannot create the command socket: ") + std::strerror(errno));
  // We own the ledger, so a socket file left here belongs to a previous owner that died.
  ::unlink(path.c_str());
  mode_t previous = ::umask(0177);
  int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::umask(previous);
  if (bound != 0 || ::listen(fd, 16) != 0) {
    int error = errno;
    ::close(fd);
    return IoError("cannot listen on " + path + ": " + std::strerror(error));
  }
  ::chmod(path.c_str(), 0600);
  std::unique_ptr<CommandSocketServer> server(
      new CommandSocketServer(ledger, orchestrator, fd, path));
  server->acceptor_ = std::thread([raw = server.get()] { raw->AcceptLoop(); });
  // Recorded absolute, so that `rollbook info` shows where it is from any working directory.
  std::error_code ignored;
  std::string absolute = std::filesystem::absolute(path, ignored).string();
  ROLLBOOK_RETURN_IF_ERROR(ledger.SetOwnerDetail("socket", absolute.empty() ? path : absolute));
  spdlog::info("accepting commands on {}", path);
  return server;
}

CommandSocketServer::~CommandSocketServer() {
  stopping_ = true;
  // Shutting the listening socket down wakes the accept loop's poll at once; the poll's timeout
  // stays as the fallback.
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    for (int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);
    connections.swap(connections_);
  }
  for (auto& connection : connections) {
    if (connection.joinable()) connection.join();
  }
  ::close(listen_fd_);
  ::unlink(path_.c_str());
}

void CommandSocketServer::AcceptLoop() {
  while (!stopping_) {
    pollfd poll_fd{listen_fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(connections_mutex_);
    if (connection_fds_.size() >= kMaxConnections) {
      WriteLine(fd, ErrorMessage(
                        Status(StatusCode::kUnavailable, "too many command connections; retry")));
      ::close(fd);
      continue;
    }
    connection_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { Serve(fd); });
  }
}

void CommandSocketServer::Serve(int fd) {
  std::string buffer;
  std::string line;
  if (ReadLine(fd, &buffer, &line, 10000)) {
    json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) {
      WriteLine(fd, ErrorMessage(InvalidArgument("command request is not a JSON object")));
    } else {
      json args = request.value("args", json::object());
      CommandRequest command{request.value("command", ""), &args, request.value("actor", ""),
                             request.value("idempotency_key", "")};
      uint64_t before = ledger_.HeadPosition();
      auto result = orchestrator_.Execute(command);
      if (!result.ok()) {
        spdlog::warn("command {} from {} failed: {}", command.command, command.actor,
                     result.status().ToString());
        WriteLine(fd, ErrorMessage(result.status()));
      } else if (WriteLine(fd, {{"ok", true}, {"result", *result}}) &&
                 request.value("follow", false) && result->contains("rollback_id")) {
        std::string rollback_id = (*result)["rollback_id"];
        auto done = FollowRollback(
            ledger_, orchestrator_, rollback_id, before,
            [&](const std::string& progress) {
              WriteLine(fd, {{"progress", progress}});
            },
            [&] { return !stopping_.load(); });
        if (done.ok()) WriteLine(fd, {{"done", *done}});
      }
    }
  }
  std::lock_guard<std::mutex> lock(connections_mutex_);
  std::erase(connection_fds_, fd);
  ::close(fd);
}

Result<nlohmann::json> SendCommand(const std::string& path, const nlohmann::json& request,
                                   const std::function<void(const nlohmann::json&)>& on_line) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path))
    return InvalidArgument("socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoError(std::string("cannot create a socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    ::close(fd);
    return Status(StatusCode::kUnavailable,
                  "cannot reach the ledger owner at " + path + ": " + std::strerror(error));
  }
  std::string buffer;
  std::string line;
  Result<json> answer = Status(StatusCode::kUnavailable, "the ledger owner closed the connection");
  if (WriteLine(fd, request) && ReadLine(fd, &buffer, &line, 120000)) {
    json first = json::parse(line, nullptr, false);
    if (first.is_discarded()) {
      answer = Internal("the ledger owner sent an invalid answer");
    } else if (first.value("ok", false)) {
      answer = first["result"];
      // Progress lines may be minutes apart while a step runs.
      while (ReadLine(fd, &buffer, &line, 24 * 3600 * 1000)) {
        json next = json::parse(line, nullptr, false);
        if (!next.is_discarded() && on_line) on_line(next);
        if (!next.is_discarded() && next.contains("done")) break;
      }
    } else {
      answer = Status(CodeFromName(first["error"].value("code", "internal")),
                      first["error"].value("message", "unknown error"));
    }
  }
  ::close(fd);
  return answer;
}

Result<nlohmann::json> FollowRollback(ledger::Ledger& ledger, Orchestrator& orchestrator,
                                      const std::string& rollback_id, uint64_t after_position,
                                      const std::function<void(const std::string&)>& on_progress,
                                      const std::function<bool()>& keep_going) {
  auto subscription = ledger.Subscribe(after_position);
  int64_t start_ns = 0;
  if (auto state = orchestrator.Snapshot(rollback_id)) start_ns = state->requested_at_ns;
  while (keep_going()) {
    auto next = subscription->Next(std::chrono::milliseconds(200));
    if (!next.ok()) return next.status();
    if (!next->has_value()) continue;
    const ledger::RecordedEvent& event = **next;
    if (event.correlation_id != rollback_id) continue;
    if (start_ns == 0) start_ns = event.recorded_at_ns;
    std::string line = DescribeProgress(event, start_ns);
    if (!line.empty()) on_progress(line);
    if (event.type == "rollbackCompleted") {
      orchestrator.WaitApplied(event.position, std::chrono::seconds(10));
      break;
    }
  }
  auto state = orchestrator.Snapshot(rollback_id);
  if (!state) return NotFound("no rollback " + rollback_id);
  return projections::RollbackToJson(*state);
}

}  // namespace rollbook::commands
