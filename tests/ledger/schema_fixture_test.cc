// ctest-labels: unit
// Events written by the first schema version must decode forever. tests/fixtures/ledger-v1.bin
// holds stored values (hash || body), each preceded by its length as 4 bytes big-endian. It was
// written once with ROLLBOOK_WRITE_SCHEMA_FIXTURE=1 and is never regenerated.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "ledger/event_codec.h"
#include "ledger/hash.h"
#include "tests/fixtures/ledger_fixture.h"

namespace rollbook::testing {
namespace {

std::string FixturePath() {
  const char* source = std::getenv("ROLLBOOK_SOURCE_DIR");
  return std::string(source ? source : ".") + "/tests/fixtures/ledger-v1.bin";
}

class SchemaFixtureTest : public LedgerTest {
 protected:
  // Appends one event of each kind the fixture covers.
  void AppendSampleEvents() {
    AppendNotes(1, "incident-1");
    ledger::AppendRequest request;
    request.stream = "rb-1";
    request.actor = "alice";
    request.correlation_id = "rb-1";
    request.command_id = "cmd-fixture";
    request.events.push_back(ledger::MakeEvent([](schema::Payload::Builder payload) {
      auto requested = payload.initRollbackRequested();
      requested.setRollbackId("rb-1");
      requested.setFeature("ai-search");
      requested.setEnvironment("production");
      requested.setScope("full");
      requested.setReason("Critical performance issues");
      auto plan = requested.initPlan(1);
      plan[0].setName("feature-flags");
      auto steps = plan[0].initSteps(1);
      steps[0].setName("disable-flags");
      steps[0].setDriver("flagd");
      steps[0].setMutates(true);
      steps[0].setTimeoutMs(30000);
    }));
    request.events.push_back(ledger::MakeEvent([](schema::Payload::Builder payload) {
      auto failed = payload.initStepFailed();
      failed.initRef().setStep("disable-flags");
      failed.getRef().setAttempt(2);
      failed.setError("timed out after 30000 ms");
      failed.setErrorCode("timeout");
      failed.setWillRetry(true);
    }));
    request.events.push_back(ledger::MakeEvent([](schema::Payload::Builder payload) {
      auto backup = payload.initBackupCreated();
      backup.setBackupId("bk-0123456789abcdef");
      backup.setSizeBytes(4096);
      backup.setFormat("flagd-json");
    }));
    ASSERT_TRUE(ledger_->Append(request).ok());
  }
};

TEST_F(SchemaFixtureTest, VersionOneEventsStillDecode) {
  if (std::getenv("ROLLBOOK_WRITE_SCHEMA_FIXTURE") != nullptr) {
    AppendSampleEvents();
    std::ofstream out(FixturePath(), std::ios::binary);
    for (uint64_t position = 1; position <= ledger_->HeadPosition(); ++position) {
      auto event = ledger_->ReadEvent(position);
      ASSERT_TRUE(event.ok());
      std::string value = event->hash + event->body;
      for (int shift = 24; shift >= 0; shift -= 8) out.put(static_cast<char>(value.size() >> shift));
      out << value;
    }
    GTEST_SKIP() << "wrote " << FixturePath();
  }

  std::ifstream in(FixturePath(), std::ios::binary);
  ASSERT_TRUE(in) << "missing " << FixturePath();
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<ledger::RecordedEvent> events;
  for (size_t offset = 0; offset + 4 <= data.size();) {
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i) length = (length << 8) | static_cast<uint8_t>(data[offset + i]);
    offset += 4;
    ledger::RecordedEvent event;
    ASSERT_TRUE(ledger::DecodeStoredValue(events.size() + 1, data.substr(offset, length), &event).ok());
    events.push_back(event);
    offset += length;
  }
  ASSERT_EQ(events.size(), 5u);

  std::string previous = ledger::GenesisHash();
  for (const auto& event : events) {
    EXPECT_EQ(event.previous_hash, previous) << event.position;
    EXPECT_EQ(ledger::ChainHash(event.previous_hash, event.body), event.hash) << event.position;
    previous = event.hash;
  }
  EXPECT_EQ(events[0].type, "ledgerInitialized");
  EXPECT_EQ(events[1].type, "annotation");
  EXPECT_EQ(events[2].type, "rollbackRequested");
  EXPECT_EQ(events[2].actor, "alice");
  EXPECT_EQ(events[2].command_id, "cmd-fixture");

  auto requested = ledger::EventView::Decode(events[2]);
  ASSERT_TRUE(requested.ok());
  auto payload = requested->payload().getRollbackRequested();
  EXPECT_EQ(ledger::ToString(payload.getReason()), "Critical performance issues");
  EXPECT_EQ(ledger::ToString(payload.getPlan()[0].getSteps()[0].getDriver()), "flagd");
  EXPECT_EQ(payload.getPlan()[0].getSteps()[0].getTimeoutMs(), 30000u);

  auto failed = ledger::EventView::Decode(events[3]);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->payload().getStepFailed().getRef().getAttempt(), 2u);
  EXPECT_TRUE(failed->payload().getStepFailed().getWillRetry());

  auto backup = ledger::EventView::Decode(events[4]);
  ASSERT_TRUE(backup.ok());
  EXPECT_EQ(backup->payload().getBackupCreated().getSizeBytes(), 4096u);
}

}  // namespace
}  // namespace rollbook::testing
