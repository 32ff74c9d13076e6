// ctest-labels: unit
// Tampering with stored events: verify must name the first position where the chain breaks.
#include <gtest/gtest.h>

#include "ledger/keys.h"
#include "tests/fixtures/ledger_fixture.h"
#include "tests/fixtures/raw_store.h"

namespace rollbook::testing {
namespace {

using ledger::PositionKey;

class TamperTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    AppendNotes(9, "orders");  // positions 2..10
    ASSERT_TRUE(VerifyChain().intact);
    Close();
  }

  ledger::VerifyReport VerifyAfterTamper() {
    Reopen();
    return VerifyChain();
  }

  // Deletes all 10 events and the recorded head, and leaves the index entries.
  void EraseEventsAndHead() {
    RawStore store(ledger_dir_);
    for (uint64_t position = 1; position <= 10; ++position) {
      store.Delete(RawStore::kEvents, PositionKey(position));
    }
    store.Delete(RawStore::kMeta, std::string(ledger::kHeadKey));
  }

  void ExpectBrokenAt(uint64_t position, const std::string& problem_part) {
    auto report = VerifyAfterTamper();
    EXPECT_FALSE(report.intact);
    EXPECT_EQ(report.first_bad_position, position) << report.problem;
    EXPECT_NE(report.problem.find(problem_part), std::string::npos) << report.problem;
  }
};

TEST_F(TamperTest, AlteredPayloadByte) {
  {
    RawStore store(ledger_dir_);
    std::string value = store.Get(RawStore::kEvents, PositionKey(5));
    auto at = value.find("note 3");
    ASSERT_NE(at, std::string::npos);
    value[at + 5] = '7';
    store.Put(RawStore::kEvents, PositionKey(5), value);
  }
  ExpectBrokenAt(5, "altered");
}

TEST_F(TamperTest, DeletedEvent) {
  {
    RawStore store(ledger_dir_);
    store.Delete(RawStore::kEvents, PositionKey(6));
  }
  ExpectBrokenAt(6, "missing");
}

TEST_F(TamperTest, DeletedLastEvent) {
  {
    RawStore store(ledger_dir_);
    store.Delete(RawStore::kEvents, PositionKey(10));
  }
  ExpectBrokenAt(10, "missing");
}

TEST_F(TamperTest, InsertedEventShiftsTheRest) {
  {
    RawStore store(ledger_dir_);
    // Move 4..10 up by one and put a copy of event 3 at position 4, with the head moved along.
    for (uint64_t position = 10; position >= 4; --position) {
      store.Put(RawStore::kEvents, PositionKey(position + 1),
                store.Get(RawStore::kEvents, PositionKey(position)));
    }
    store.Put(RawStore::kEvents, PositionKey(4), store.Get(RawStore::kEvents, PositionKey(3)));
    std::string head = store.Get(RawStore::kMeta, "head");
    store.Put(RawStore::kMeta, "head", PositionKey(11) + head.substr(8));
  }
  ExpectBrokenAt(4, "moved or swapped");
}

TEST_F(TamperTest, InsertedEventBeyondHead) {
  {
    RawStore store(ledger_dir_);
    store.Put(RawStore::kEvents, PositionKey(11), store.Get(RawStore::kEvents, PositionKey(10)));
  }
  ExpectBrokenAt(11, "beyond the recorded head");
}

TEST_F(TamperTest, SwappedEvents) {
  {
    RawStore store(ledger_dir_);
    std::string seventh = store.Get(RawStore::kEvents, PositionKey(7));
    std::string eighth = store.Get(RawStore::kEvents, PositionKey(8));
    store.Put(RawStore::kEvents, PositionKey(7), eighth);
    store.Put(RawStore::kEvents, PositionKey(8), seventh);
  }
  ExpectBrokenAt(7, "moved or swapped");
}

TEST_F(TamperTest, StaleStreamIndexEntry) {
  {
    RawStore store(ledger_dir_);
    // Version 4 of "orders" is position 5; point its index entry at position 6 instead.
    store.Put(RawStore::kStreams, ledger::StreamKey("orders", 4), PositionKey(6));
  }
  ExpectBrokenAt(5, "stream index");
}

TEST_F(TamperTest, ExtraStreamIndexEntry) {
  {
    RawStore store(ledger_dir_);
    store.Put(RawStore::kStreams, ledger::StreamKey("ghost", 1), PositionKey(4));
  }
  ExpectBrokenAt(4, "stream index");
}

TEST_F(TamperTest, SwappedStreamIndexEntries) {
  {
    RawStore store(ledger_dir_);
    // Versions 3 and 6 of "orders" are positions 4 and 7: the count stays right, both are wrong.
    store.Put(RawStore::kStreams, ledger::StreamKey("orders", 3), PositionKey(7));
    store.Put(RawStore::kStreams, ledger::StreamKey("orders", 6), PositionKey(4));
  }
  ExpectBrokenAt(4, "stream index");
}

TEST_F(TamperTest, MissingStreamIndexEntry) {
  {
    RawStore store(ledger_dir_);
    store.Delete(RawStore::kStreams, ledger::StreamKey("orders", 8));  // position 9
  }
  ExpectBrokenAt(9, "stream index");
}

TEST_F(TamperTest, PartialVerifyChecksStreamEntriesOneByOne) {
  {
    RawStore store(ledger_dir_);
    store.Put(RawStore::kStreams, ledger::StreamKey("orders", 4), PositionKey(6));
  }
  Reopen();
  ledger::VerifyOptions options;
  options.from_position = 3;
  auto report = ledger_->Verify(options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->intact);
  EXPECT_EQ(report->first_bad_position, 5u) << report->problem;
}

TEST_F(TamperTest, MissingHeadWithEvents) {
  {
    RawStore store(ledger_dir_);
    store.Delete(RawStore::kMeta, std::string(ledger::kHeadKey));
  }
  ExpectBrokenAt(1, "recorded head is missing");
}

TEST_F(TamperTest, DeletedEventsAndHeadWithIndexLeft) {
  EraseEventsAndHead();
  ExpectBrokenAt(1, "index entries are stored but the recorded head is missing");
}

TEST_F(TamperTest, LogThatLostItsStart) {
  EraseEventsAndHead();
  Reopen();
  AppendNotes(1, "after");  // lands at position 1 of the emptied log
  Close();
  ExpectBrokenAt(1, "not ledgerInitialized");
}

TEST_F(TamperTest, MissingTimeIndexEntry) {
  Reopen();
  auto event = ledger_->ReadEvent(8);
  ASSERT_TRUE(event.ok());
  int64_t recorded_at = event->recorded_at_ns;
  Close();
  {
    RawStore store(ledger_dir_);
    store.Delete(RawStore::kTime, ledger::TimeKey(recorded_at, 8));
  }
  ExpectBrokenAt(8, "time index");
}

TEST_F(TamperTest, UntouchedLedgerVerifies) {
  auto report = VerifyAfterTamper();
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.events_checked, 10u);
}

}  // namespace
}  // namespace rollbook::testing
