// The server's caches of rendered JSON, shared by the request handlers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tools/server/lru_cache.h"

namespace rollbook::server {

// The events of one page, rendered: a JSON array, or NDJSON lines.
struct RenderedPage {
  std::string events;
  uint64_t next_after = 0;  // the position the next page continues after
  bool has_more = false;
};

// Caches of rendered JSON: rendering an event through Cap'n Proto's reflection costs far more
// than reading it. Both contain only immutable results: an event's JSON, keyed by its position,
// and pages with has_more set, which end below the head.
struct ResponseCaches {
  static constexpr size_t kEventJsonBytes = size_t{32} << 20;
  static constexpr size_t kPageBytes = size_t{32} << 20;

  LruCache<std::string> event_json{kEventJsonBytes};
  LruCache<RenderedPage> pages{kPageBytes};
};

}  // namespace rollbook::server
