#include "tools/server/sse_hub.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "ledger/event_json.h"
#include "ledger/ledger.h"

namespace rollbook::server {
namespace {

using Clock = std::chrono::steady_clock;

// How often a waiting stream checks whether its client has gone away.
constexpr std::chrono::milliseconds kDisconnectCheck{500};

// Sends all of `data`, waiting at most `timeout` for the socket to accept more.
bool WriteAll(int fd, std::string_view data, std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  while (!data.empty()) {
    ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      data.remove_prefix(static_cast<size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd waiting{fd, POLLOUT, 0};
    if (::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) return false;
  }
  return true;
}

// Returns whether the peer closed the connection. Bytes the client sends are discarded.
bool PeerClosed(int fd) {
  pollfd check{fd, POLLIN | POLLRDHUP, 0};
  if (::poll(&check, 1, 0) <= 0) return false;
  if (check.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char discard[256];
  ssize_t received = ::recv(fd, discard, sizeof(discard), MSG_DONTWAIT);
  return received == 0 || (received < 0 && errno != EAGAIN && errno != EINTR);
}

std::string ErrorHttpResponse(int status, const char* reason, const std::string& code,
                              const std::string& message) {
  std::string body =
      nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump() + "\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

struct SseHub::Stream {
  int fd = -1;
  SseStart start;
  std::string actor;
  std::unique_ptr<ledger::Subscription> subscription;
  std::atomic<uint64_t> position{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::thread thread;
};

SseHub::SseHub(ledger::Ledger& ledger, SseOptions options) : ledger_(ledger), options_(options) {}

SseHub::~SseHub() { StopAll(); }

bool SseHub::HasCapacity() {
  std::lock_guard<std::mutex> lock(mutex_);
  ReapFinishedLocked();
  return !stopping_ && streams_.size() < options_.max_streams;
}

void SseHub::Start(int fd, const SseStart& start, const std::string& actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  ReapFinishedLocked();
  if (stopping_ || streams_.size() >= options_.max_streams) {
    std::string response =
        stopping_ ? ErrorHttpResponse(503, "Service Unavailable", "unavailable",
                                      "the server is shutting down")
                  : ErrorHttpResponse(429, "Too Many Requests", "too_many_requests",
                                      "too many open subscriptions on this server; retry later");
    WriteAll(fd, response, options_.write_timeout);
    ::close(fd);
    return;
  }
  auto stream = std::make_unique<Stream>();
  stream->fd = fd;
  stream->start = start;
  stream->actor = actor;
  stream->position = start.after;
  stream->subscription = ledger_.Subscribe(start.after);
  Stream* raw = stream.get();
  streams_.push_back(std::move(stream));
  raw->thread = std::thread([this, raw] { Serve(*raw); });
}

void SseHub::Serve(Stream& stream) {
  Clock::time_point opened = Clock::now();
  uint64_t sent = 0;
  std::string why = "client disconnected";
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Connection: close\r\nX-Accel-Buffering: no\r\n\r\n: subscribed after " +
      std::to_string(stream.start.after) + "\n\n";
  bool open = WriteAll(stream.fd, head, options_.write_timeout);
  Clock::time_point last_write = Clock::now();

  while (open && !stream.stop) {
    auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_write);
    auto wait = std::min(kDisconnectCheck,
                         std::max(std::chrono::milliseconds(0), options_.heartbeat - quiet));
    auto next = stream.subscription->Next(wait);
    if (!next.ok()) {
      why = "ledger read failed: " + next.status().ToString();
      spdlog::error("sse stream for {}: {}", stream.actor, why);
      WriteAll(stream.fd, ": error reading the ledger\n\n", options_.write_timeout);
      break;
    }
    if (next->has_value()) {
      const ledger::RecordedEvent& event = **next;
      stream.position = event.position;
      if (projections::MatchesFilter(stream.start.filter, event)) {
        auto json = ledger::EventToJson(event);
        // No "event:" field, so a browser EventSource delivers every event to onmessage; the
        // type is in the data as "eventType".
        std::string frame =
            json.ok() ? "id: " + std::to_string(event.position) + "\ndata: " + *json + "\n\n"
                      : ": cannot encode event " + std::to_string(event.position) + "\n\n";
        open = WriteAll(stream.fd, frame, options_.write_timeout);
        last_write = Clock::now();
        ++sent;
        if (!open) why = "write failed or timed out";
      }
    } else if (Clock::now() - last_write >= options_.heartbeat) {
      open = WriteAll(stream.fd, ": heartbeat\n\n", options_.write_timeout);
      last_write = Clock::now();
    }
    if (open && PeerClosed(stream.fd)) break;
  }
  if (stream.stop) why = "server stopping";

  ::shutdown(stream.fd, SHUT_RDWR);
  double seconds = std::chrono::duration<double>(Clock::now() - opened).count();
  spdlog::info("sse stream for {} closed after {} events in {:.1f}s: {}", stream.actor, sent,
               seconds, why);
  stream.done = true;
}

void SseHub::ReapFinishedLocked() {
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream& stream = **it;
    if (!stream.done) {
      ++it;
      continue;
    }
    if (stream.thread.joinable()) stream.thread.join();
    ::close(stream.fd);
    it = streams_.erase(it);
  }
}

void SseHub::StopAll() {
  std::list<std::unique_ptr<Stream>> streams;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    streams.swap(streams_);
  }
  for (auto& stream : streams) {
    stream->stop = true;
    stream->subscription->Close();
    ::shutdown(stream->fd, SHUT_RDWR);
  }
  for (auto& stream : streams) {
    if (stream->thread.joinable()) stream->thread.join();
    ::close(stream->fd);
  }
}

size_t SseHub::active() {
  std::lock_guard<std::mutex> lock(mutex_);
  ReapFinishedLocked();
  return streams_.size();
}

uint64_t SseHub::MaxLag() {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t head = ledger_.HeadPosition();
  uint64_t lag = 0;
  for (const auto& stream : streams_) {
    if (stream->done) continue;
    uint64_t position = stream->position;
    if (head > position) lag = std::max(lag, head - position);
  }
  return lag;
}

}  // namespace rollbook::server
