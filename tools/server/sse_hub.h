// Server-Sent Events streams for GET /v1/subscribe.
//
// Each stream owns a connected socket and a ledger subscription and runs on its own thread, so
// a waiting or slow subscriber does not occupy an HTTP I/O thread. A stream writes
//   id: <position>\ndata: <event JSON>\n\n
// per matching event and a ": heartbeat" comment when nothing was written for the heartbeat
// interval. It ends when the client disconnects, a write stays blocked for the write timeout,
// or StopAll() is called.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tools/server/api.h"

namespace rollbook::ledger {
class Ledger;
class Subscription;
}  // namespace rollbook::ledger

namespace rollbook::server {

struct SseOptions {
  std::chrono::milliseconds heartbeat{15000};
  std::chrono::milliseconds write_timeout{10000};
  size_t max_streams = 64;
};

class SseHub {
 public:
  SseHub(ledger::Ledger& ledger, SseOptions options);
  ~SseHub();
  SseHub(const SseHub&) = delete;
  SseHub& operator=(const SseHub&) = delete;

  bool HasCapacity();

  // Takes ownership of `fd`, a connected socket whose request asked for a stream, writes the
  // response head and streams events from `start` on a new thread. When the hub is full or
  // stopping it writes a 429 or 503 error response instead and closes the socket.
  void Start(int fd, const SseStart& start, const std::string& actor);

  // Ends every stream and joins its thread. Later Start() calls get a 503 response.
  void StopAll();

  size_t active();
  // Returns the largest number of events any stream is behind the ledger head.
  uint64_t MaxLag();

 private:
  struct Stream;
  void Serve(Stream& stream);
  void ReapFinishedLocked();

  ledger::Ledger& ledger_;
  SseOptions options_;
  std::mutex mutex_;
  std::list<std::unique_ptr<Stream>> streams_;  // guarded by mutex_
  bool stopping_ = false;                       // guarded by mutex_
};

}  // namespace rollbook::server
