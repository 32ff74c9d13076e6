// ctest-labels: unit
// The server's byte-bounded LRU cache: eviction order, the byte bound, oversized values.
#include "tools/server/lru_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace rollbook::testing {
namespace {

using server::LruCache;

std::shared_ptr<const std::string> Text(const std::string& text) {
  return std::make_shared<const std::string>(text);
}

TEST(LruCacheTest, EvictsLeastRecentlyUsed) {
  LruCache<std::string> cache(800);
  cache.Insert("a", Text("A"), 100);
  cache.Insert("b", Text("B"), 100);
  ASSERT_NE(cache.Find("a"), nullptr);  // "b" is now the least recently used
  for (int i = 0; i < 7; ++i) cache.Insert("x" + std::to_string(i), Text("X"), 100);

  EXPECT_EQ(cache.Find("b"), nullptr);
  ASSERT_NE(cache.Find("a"), nullptr);
  EXPECT_EQ(*cache.Find("a"), "A");
  EXPECT_EQ(cache.used_bytes(), 800u);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.hits(), 3u);
}

TEST(LruCacheTest, KeepsTheFirstValueForAKey) {
  LruCache<std::string> cache(800);
  cache.Insert("a", Text("first"), 10);
  cache.Insert("a", Text("second"), 10);
  EXPECT_EQ(*cache.Find("a"), "first");
  EXPECT_EQ(cache.used_bytes(), 10u);
}

TEST(LruCacheTest, SkipsOversizedValues) {
  LruCache<std::string> cache(800);
  cache.Insert("small", Text("s"), 100);
  cache.Insert("large", Text("l"), 101);
  EXPECT_NE(cache.Find("small"), nullptr);
  EXPECT_EQ(cache.Find("large"), nullptr);
}

TEST(LruCacheTest, ConcurrentUseKeepsTheBound) {
  LruCache<std::string> cache(64 * 100);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 5000; ++i) {
        std::string key = std::to_string((i * 7 + t) % 300);
        if (auto found = cache.Find(key)) {
          EXPECT_EQ(*found, key);
        } else {
          cache.Insert(key, Text(key), 100);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(cache.used_bytes(), 6400u);
  EXPECT_EQ(cache.hits() + cache.misses(), 20000u);
}

}  // namespace
}  // namespace rollbook::testing
