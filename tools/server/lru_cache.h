// A thread-safe least-recently-used cache with a bound on the bytes of its entries.
//
// The server caches rendered JSON in it, which is sound only for values derived from immutable
// data: an event never changes once written, and neither does a page that ends below the head.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace rollbook::server {

template <typename Value>
class LruCache {
 public:
  // `capacity_bytes` bounds the sum of the entries' charges.
  explicit LruCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // Returns the value cached under `key` and marks it as most recently used, or null.
  std::shared_ptr<const Value> Find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = index_.find(key);
    if (found == index_.end()) {
      ++misses_;
      return nullptr;
    }
    ++hits_;
    entries_.splice(entries_.begin(), entries_, found->second);
    return found->second->value;
  }

  // Caches `value` under `key` at a charge of `charge` bytes, evicting the least recently used
  // entries to stay within the capacity. A value above an eighth of the capacity is not cached,
  // so one large page cannot empty the cache. An existing entry for `key` is kept.
  void Insert(const std::string& key, std::shared_ptr<const Value> value, size_t charge) {
    if (charge > capacity_bytes_ / 8) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (index_.contains(key)) return;
    entries_.push_front(Entry{key, std::move(value), charge});
    index_.emplace(key, entries_.begin());
    used_bytes_ += charge;
    while (used_bytes_ > capacity_bytes_ && !entries_.empty()) {
      const Entry& oldest = entries_.back();
      used_bytes_ -= oldest.charge;
      index_.erase(oldest.key);
      entries_.pop_back();
    }
  }

  uint64_t hits() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return hits_;
  }
  uint64_t misses() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return misses_;
  }
  size_t used_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return used_bytes_;
  }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const Value> value;
    size_t charge = 0;
  };

  const size_t capacity_bytes_;
  mutable std::mutex mutex_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
  size_t used_bytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace rollbook::server
