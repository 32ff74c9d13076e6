// A small HTTP/1.1 client on POSIX sockets for the server tests. It can send anything, including
// malformed requests, and reads responses delimited by Content-Length or by the server closing
// the connection, plus Server-Sent Events frames.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rollbook::testing {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string Header(const std::string& name) const {
    auto found = headers.find(name);
    return found == headers.end() ? "" : found->second;
  }
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string ErrorCode() const { return Json().value("/error/code"_json_pointer, ""); }
  std::string ErrorMessage() const { return Json().value("/error/message"_json_pointer, ""); }
};

// One Server-Sent Events frame: an event ("id" and "data") or a comment line.
struct SseFrame {
  std::string id;
  std::string data;
  std::string comment;
};

class HttpConnection {
 public:
  explicit HttpConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~HttpConnection() { ::close(fd_); }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  // Reads one response. Returns nullopt when the connection closes first or on timeout.
  std::optional<HttpReply> ReadReply(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    HttpReply reply;
    std::string head = buffer_.substr(0, head_end);
    buffer_.erase(0, head_end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12) return std::nullopt;
    reply.status = std::stoi(status_line.substr(9, 3));
    size_t start = line_end == std::string::npos ? head.size() : line_end + 2;
    while (start < head.size()) {
      size_t end = head.find("\r\n", start);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(start, end - start);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        size_t value_start = line.find_first_not_of(' ', colon + 1);
        reply.headers[name] = value_start == std::string::npos ? "" : line.substr(value_start);
      }
      start = end + 2;
    }
    if (reply.headers.count("content-length") != 0) {
      size_t length = std::stoul(reply.headers["content-length"]);
      while (buffer_.size() < length) {
        if (!Fill(deadline)) return std::nullopt;
      }
      reply.body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else if (reply.Header("content-type") != "text/event-stream") {
      while (Fill(deadline)) {
      }
      reply.body = std::move(buffer_);
      buffer_.clear();
    }
    return reply;
  }

  // Reads the next event-stream frame after the response head.
  std::optional<SseFrame> ReadFrame(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t end;
    while ((end = buffer_.find("\n\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    std::string frame_text = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    SseFrame frame;
    size_t start = 0;
    while (start <= frame_text.size()) {
      size_t line_end = frame_text.find('\n', start);
      if (line_end == std::string::npos) line_end = frame_text.size();
      std::string line = frame_text.substr(start, line_end - start);
      if (line.starts_with(": ")) frame.comment = line.substr(2);
      if (line.starts_with("id: ")) frame.id = line.substr(4);
      if (line.starts_with("data: ")) frame.data = line.substr(6);
      start = line_end + 1;
    }
    return frame;
  }

  // Returns true when the server closes the connection within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) return false;
      char chunk[4096];
      ssize_t received = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (received <= 0) return true;
    }
  }

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd waiting{fd_, POLLIN, 0};
    if (::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[16384];
    ssize_t received = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (received <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(received));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// Builds a request with Host and Content-Length; `headers` lines end without CRLF.
inline std::string BuildRequest(const std::string& method, const std::string& target,
                                const std::vector<std::string>& headers = {},
                                const std::string& body = "", bool close = true) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& header : headers) request += header + "\r\n";
  if (!body.empty() || method == "POST") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  if (close) request += "Connection: close\r\n";
  return request + "\r\n" + body;
}

// Sends one request on a new connection and reads the response; status 0 when none came.
inline HttpReply Exchange(int port, const std::string& request) {
  HttpConnection connection(port);
  if (!connection.connected() || !connection.Send(request)) return HttpReply{};
  return connection.ReadReply().value_or(HttpReply{});
}

}  // namespace rollbook::testing
