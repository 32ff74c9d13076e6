// ctest-labels: unit
// Many appenders at once, with sync on: positions stay gap-free, the chain verifies, and readers
// never see a position before every earlier one is readable.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/fixtures/ledger_fixture.h"

namespace rollbook::testing {
namespace {

class ConcurrencyTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    Close();
    ledger::Options options = DefaultOptions();
    options.sync = true;
    auto opened = ledger::Ledger::Open(options);
    ASSERT_TRUE(opened.ok());
    ledger_ = std::move(opened).value();
  }

  // Starts `threads` writers, each appending `appends` notes to its own stream.
  void RunWriters(int threads, int appends, std::vector<std::vector<uint64_t>>* positions) {
    positions->assign(threads, {});
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t) {
      writers.emplace_back([&, t] {
        std::string stream = "writer-" + std::to_string(t);
        for (int i = 0; i < appends; ++i) {
          auto result = AppendNote(stream, "n", ledger::ExpectedVersion::Exactly(i));
          ASSERT_TRUE(result.ok()) << result.status().ToString();
          (*positions)[t].push_back(result->first_position);
        }
      });
    }
    for (auto& writer : writers) writer.join();
  }
};

TEST_F(ConcurrencyTest, EightWritersNoGapsNoDuplicates) {
  constexpr int kThreads = 8;
  constexpr int kAppends = 5000;
  std::vector<std::vector<uint64_t>> positions;
  RunWriters(kThreads, kAppends, &positions);

  std::set<uint64_t> all;
  for (const auto& per_thread : positions) {
    ASSERT_EQ(per_thread.size(), static_cast<size_t>(kAppends));
    for (size_t i = 1; i < per_thread.size(); ++i) EXPECT_LT(per_thread[i - 1], per_thread[i]);
    all.insert(per_thread.begin(), per_thread.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kAppends));
  EXPECT_EQ(*all.begin(), 2u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kAppends + 1));
  EXPECT_EQ(ledger_->HeadPosition(), static_cast<uint64_t>(kThreads * kAppends + 1));

  auto report = VerifyChain();
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.events_checked, static_cast<uint64_t>(kThreads * kAppends + 1));
}

// Verify reads one snapshot: appends while it runs are neither missing events nor extra ones.
TEST_F(ConcurrencyTest, VerifyDuringAppendsReportsIntact) {
  std::atomic<bool> writing{true};
  std::thread verifier([&] {
    int rounds = 0;
    while (writing.load() || rounds < 3) {
      auto report = ledger_->Verify(ledger::VerifyOptions{});
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      EXPECT_TRUE(report->intact) << "round " << rounds << ": " << report->problem;
      ++rounds;
    }
  });
  std::vector<std::vector<uint64_t>> positions;
  RunWriters(4, 1500, &positions);
  writing.store(false);
  verifier.join();
}

TEST_F(ConcurrencyTest, ReadersSeePositionsInOrder) {
  std::atomic<bool> writing{true};
  std::atomic<int> violations{0};
  std::atomic<uint64_t> checks{0};

  // A subscriber must receive every position exactly once and in order.
  std::thread subscriber([&] {
    auto subscription = ledger_->Subscribe(0);
    uint64_t expected = 1;
    while (writing.load() || expected <= ledger_->HeadPosition()) {
      auto next = subscription->Next(std::chrono::milliseconds(50));
      if (!next.ok()) {
        ++violations;
        return;
      }
      if (!next->has_value()) continue;
      if ((*next)->position != expected) ++violations;
      expected = (*next)->position + 1;
    }
  });

  // A polling reader: whenever the head says N, every position up to N must be readable.
  std::thread poller([&] {
    while (writing.load()) {
      uint64_t head = ledger_->HeadPosition();
      for (uint64_t position = head > 20 ? head - 20 : 1; position <= head; ++position) {
        if (!ledger_->ReadEvent(position).ok()) ++violations;
      }
      ++checks;
    }
  });

  std::vector<std::vector<uint64_t>> positions;
  RunWriters(4, 1000, &positions);
  writing = false;
  subscriber.join();
  poller.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(checks.load(), 0u);
}

TEST_F(ConcurrencyTest, SlowSubscriberDoesNotBlockAppends) {
  auto subscription = ledger_->Subscribe(0);  // never read from
  std::vector<std::vector<uint64_t>> positions;
  RunWriters(2, 500, &positions);
  EXPECT_EQ(ledger_->HeadPosition(), 1001u);
  auto first = subscription->Next(std::chrono::milliseconds(100));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->position, 1u);
}

TEST_F(ConcurrencyTest, ConflictsInOneBatchDoNotStopOthers) {
  // Many writers race for version 1 of the same stream: exactly one wins each round.
  constexpr int kThreads = 8;
  std::atomic<int> winners{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> racers;
  for (int t = 0; t < kThreads; ++t) {
    racers.emplace_back([&] {
      auto result = AppendNote("contested", "mine", ledger::ExpectedVersion::NoStream());
      if (result.ok()) {
        ++winners;
      } else if (result.status().code() == StatusCode::kConflict) {
        ++conflicts;
      }
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_TRUE(VerifyChain().intact);
}

}  // namespace
}  // namespace rollbook::testing
