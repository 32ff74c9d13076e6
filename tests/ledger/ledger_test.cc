// ctest-labels: unit
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ledger/event_json.h"
#include "ledger/keys.h"
#include "tests/fixtures/ledger_fixture.h"

namespace rollbook::testing {
namespace {

using ledger::ExpectedVersion;

TEST_F(LedgerTest, CreateWritesInitializedEvent) {
  ASSERT_EQ(ledger_->HeadPosition(), 1u);
  auto first = ledger_->ReadEvent(1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->type, "ledgerInitialized");
  EXPECT_EQ(first->stream, "ledger");
  EXPECT_EQ(first->actor, "tester");
  auto info = ledger_->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->ledger_id.size(), 32u);
}

TEST_F(LedgerTest, CreateRefusesExistingLedger) {
  Close();
  auto again = ledger::Ledger::Create(DefaultOptions(), "tester");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(LedgerTest, OpenMissingLedgerIsNotFound) {
  ledger::Options options = DefaultOptions();
  options.directory = dir_.Join("nothing-here");
  auto opened = ledger::Ledger::Open(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kNotFound);
  EXPECT_NE(opened.status().message().find("rollbook init"), std::string::npos);
}

TEST_F(LedgerTest, AppendAndReadRoundTrip) {
  auto result = AppendNote("incident-7", "paged the database team");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->first_position, 2u);
  EXPECT_EQ(result->last_stream_version, 1u);

  auto event = ledger_->ReadEvent(2);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->stream, "incident-7");
  EXPECT_EQ(event->stream_version, 1u);
  EXPECT_EQ(event->type, "annotation");
  auto view = ledger::EventView::Decode(*event);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(ledger::ToString(view->payload().getAnnotation().getText()), "paged the database team");
}

TEST_F(LedgerTest, BatchIsAtomicAndOrdered) {
  ledger::AppendRequest request;
  request.stream = "batch";
  request.actor = "tester";
  for (int i = 0; i < 5; ++i) request.events.push_back(NoteEvent("n" + std::to_string(i)));
  auto result = ledger_->Append(request);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->first_position, 2u);
  EXPECT_EQ(result->last_position, 6u);
  EXPECT_EQ(result->last_stream_version, 5u);
}

TEST_F(LedgerTest, ExpectedVersionConflictNamesVersions) {
  ASSERT_TRUE(AppendNote("s", "one", ExpectedVersion::NoStream()).ok());
  auto stale = AppendNote("s", "two", ExpectedVersion::Exactly(0));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
  EXPECT_NE(stale.status().message().find("'s'"), std::string::npos);
  EXPECT_NE(stale.status().message().find("version 0"), std::string::npos);
  EXPECT_NE(stale.status().message().find("is at version 1"), std::string::npos);

  auto exists = AppendNote("s", "three", ExpectedVersion::NoStream());
  EXPECT_EQ(exists.status().code(), StatusCode::kConflict);
  EXPECT_TRUE(AppendNote("s", "four", ExpectedVersion::Exactly(1)).ok());
  EXPECT_EQ(ledger_->HeadPosition(), 3u);
}

TEST_F(LedgerTest, RepeatedCommandIdWritesNothing) {
  auto first = AppendNote("s", "once", ExpectedVersion::Any(), "cmd-1");
  ASSERT_TRUE(first.ok());
  auto second = AppendNote("s", "once", ExpectedVersion::Any(), "cmd-1");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->first_position, first->first_position);
  EXPECT_EQ(ledger_->HeadPosition(), 2u);
}

TEST_F(LedgerTest, RepeatedCommandIdAfterRestart) {
  auto first = AppendNote("s", "once", ExpectedVersion::NoStream(), "cmd-2");
  ASSERT_TRUE(first.ok());
  Reopen();
  // The retry would conflict on its expected version, but idempotency is checked first.
  auto retry = AppendNote("s", "once", ExpectedVersion::NoStream(), "cmd-2");
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->last_position, first->last_position);
  EXPECT_EQ(ledger_->HeadPosition(), 2u);
}

TEST_F(LedgerTest, InvalidStreamIdRejected) {
  for (const std::string& stream :
       std::vector<std::string>{"", "-leading-dash", "has space", std::string(201, 'a'), "nul\x01"}) {
    auto result = AppendNote(stream, "x");
    ASSERT_FALSE(result.ok()) << stream;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ledger_->HeadPosition(), 1u);
}

TEST_F(LedgerTest, PayloadSizeLimit) {
  auto result = AppendNote("s", std::string(2 << 20, 'x'));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(ledger_->HeadPosition(), 1u);
}

TEST_F(LedgerTest, BatchSizeLimit) {
  ledger::AppendRequest request;
  request.stream = "s";
  request.actor = "tester";
  for (int i = 0; i < 1001; ++i) request.events.push_back(NoteEvent("n"));
  auto result = ledger_->Append(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kLimitExceeded);
}

TEST_F(LedgerTest, GarbagePayloadRejected) {
  ledger::AppendRequest request;
  request.stream = "s";
  request.actor = "tester";
  request.events.push_back(ledger::NewEvent{"not a capnp message"});
  auto result = ledger_->Append(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LedgerTest, RecordedTimeNeverDecreases) {
  Close();
  int64_t fake_now = 2'000'000'000'000'000'000;
  ledger::Options options = DefaultOptions();
  options.wall_clock_ns = [&] { return fake_now; };
  auto opened = ledger::Ledger::Open(options);
  ASSERT_TRUE(opened.ok());
  ledger_ = std::move(opened).value();
  ASSERT_TRUE(AppendNote("s", "before the step").ok());
  fake_now -= 3'600'000'000'000;  // the wall clock steps back an hour
  ASSERT_TRUE(AppendNote("s", "after the step").ok());
  auto events = ReadAll();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].recorded_at_ns, events[1].recorded_at_ns);
  EXPECT_GE(events[1].recorded_at_ns, events[0].recorded_at_ns);
  EXPECT_TRUE(VerifyChain().intact);
}

TEST_F(LedgerTest, ReadsByRangeStreamTimeAndDirection) {
  AppendNotes(3, "a");
  AppendNotes(2, "b");
  AppendNotes(3, "a");

  ledger::ReadOptions by_stream;
  by_stream.stream = "a";
  auto a = ReadAll(by_stream);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a.front().stream_version, 1u);
  EXPECT_EQ(a.back().stream_version, 6u);

  by_stream.backward = true;
  by_stream.limit = 2;
  auto a_backward = ReadAll(by_stream);
  ASSERT_EQ(a_backward.size(), 2u);
  EXPECT_EQ(a_backward[0].stream_version, 6u);
  EXPECT_EQ(a_backward[1].stream_version, 5u);

  ledger::ReadOptions range;
  range.from_position = 3;
  range.to_position = 5;
  auto middle = ReadAll(range);
  ASSERT_EQ(middle.size(), 3u);
  EXPECT_EQ(middle.front().position, 3u);

  range.backward = true;
  auto middle_backward = ReadAll(range);
  ASSERT_EQ(middle_backward.size(), 3u);
  EXPECT_EQ(middle_backward.front().position, 5u);

  auto all = ReadAll();
  ledger::ReadOptions by_time;
  by_time.since_ns = all[4].recorded_at_ns;
  by_time.until_ns = all[6].recorded_at_ns + 1;
  auto window = ReadAll(by_time);
  ASSERT_FALSE(window.empty());
  for (const auto& event : window) {
    EXPECT_GE(event.recorded_at_ns, by_time.since_ns);
    EXPECT_LT(event.recorded_at_ns, by_time.until_ns);
  }
  EXPECT_EQ(window.back().position <= 7u, true);

  ledger::ReadOptions by_type;
  by_type.types = {"ledgerInitialized"};
  EXPECT_EQ(ReadAll(by_type).size(), 1u);
}

TEST_F(LedgerTest, StreamVersionOfMissingStreamIsZero) {
  auto version = ledger_->StreamVersion("never-written");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0u);
}

TEST_F(LedgerTest, KeysSortInPositionOrder) {
  EXPECT_LT(ledger::PositionKey(255), ledger::PositionKey(256));
  EXPECT_LT(ledger::PositionKey(1), ledger::PositionKey(1ull << 40));
  EXPECT_LT(ledger::StreamKey("a", 9), ledger::StreamKey("a", 10));
  EXPECT_LT(ledger::StreamKey("a", 1ull << 33), ledger::StreamKey("a-b", 1));
  EXPECT_LT(ledger::TimeKey(5, 900), ledger::TimeKey(6, 1));
}

TEST_F(LedgerTest, SubscriptionCatchesUpThenFollowsLive) {
  AppendNotes(3);
  auto subscription = ledger_->Subscribe(0);
  for (uint64_t expected = 1; expected <= 4; ++expected) {
    auto next = subscription->Next(std::chrono::milliseconds(1000));
    ASSERT_TRUE(next.ok());
    ASSERT_TRUE(next->has_value());
    EXPECT_EQ((*next)->position, expected);
  }
  std::thread writer([&] { AppendNotes(1, "live"); });
  auto live = subscription->Next(std::chrono::seconds(5));
  writer.join();
  ASSERT_TRUE(live.ok());
  ASSERT_TRUE(live->has_value());
  EXPECT_EQ((*live)->stream, "live");

  auto idle = subscription->Next(std::chrono::milliseconds(20));
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(idle->has_value());
}

TEST_F(LedgerTest, SubscriptionCloseWakesWaiter) {
  auto subscription = ledger_->Subscribe(ledger_->HeadPosition());
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    subscription->Close();
  });
  auto start = std::chrono::steady_clock::now();
  auto next = subscription->Next(std::chrono::seconds(30));
  closer.join();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(LedgerTest, SecondWriterGetsBusyNamingPid) {
  auto second = ledger::Ledger::Open(DefaultOptions());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())), std::string::npos);
}

TEST_F(LedgerTest, ReadOnlyOpenWhileWriterRuns) {
  AppendNotes(2);
  ledger::Options options = DefaultOptions();
  options.read_only = true;
  auto reader = ledger::Ledger::Open(options);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->HeadPosition(), 3u);
  auto append = (*reader)->Append(ledger::AppendRequest{"s", {}, {NoteEvent("x")}, "", "t", "", ""});
  EXPECT_EQ(append.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LedgerTest, ExportImportRoundTrip) {
  AppendNotes(5, "exported");
  std::stringstream exported;
  auto count = ledger::ExportJsonLines(*ledger_, {}, exported);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 6u);

  ledger::Options target = DefaultOptions();
  target.directory = dir_.Join("imported");
  auto imported_ledger = ledger::Ledger::CreateForImport(target);
  ASSERT_TRUE(imported_ledger.ok());
  auto imported = ledger::ImportJsonLines(**imported_ledger, exported);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(*imported, 6u);
  auto original_head = ledger_->ReadEvent(6);
  auto copied_head = (*imported_ledger)->ReadEvent(6);
  ASSERT_TRUE(copied_head.ok());
  EXPECT_EQ(copied_head->hash, original_head->hash);
  auto report = (*imported_ledger)->Verify({});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact) << report->problem;
}

TEST_F(LedgerTest, ImportRejectsAlteredExport) {
  AppendNotes(3, "exported");
  std::stringstream exported;
  ASSERT_TRUE(ledger::ExportJsonLines(*ledger_, {}, exported).ok());
  std::string text = exported.str();
  auto at = text.find("note 1");
  ASSERT_NE(at, std::string::npos);
  text[at + 5] = '9';
  std::stringstream altered(text);

  ledger::Options target = DefaultOptions();
  target.directory = dir_.Join("imported");
  auto imported_ledger = ledger::Ledger::CreateForImport(target);
  ASSERT_TRUE(imported_ledger.ok());
  auto imported = ledger::ImportJsonLines(**imported_ledger, altered);
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.status().code(), StatusCode::kCorruption);
  EXPECT_NE(imported.status().message().find("line 3"), std::string::npos);
}

TEST_F(LedgerTest, CheckpointHoldsEveryEvent) {
  AppendNotes(4);
  std::string target = dir_.Join("backup");
  ASSERT_TRUE(ledger_->Checkpoint(target).ok());
  EXPECT_EQ(ledger_->Checkpoint(target).code(), StatusCode::kAlreadyExists);
  ledger::Options options = DefaultOptions();
  options.directory = target;
  auto copy = ledger::Ledger::Open(options);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ((*copy)->HeadPosition(), 5u);
  auto report = (*copy)->Verify({});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact);
}

TEST_F(LedgerTest, VerifyFromTrustedPosition) {
  AppendNotes(10);
  auto fifth = ledger_->ReadEvent(5);
  ASSERT_TRUE(fifth.ok());
  ledger::VerifyOptions options;
  options.from_position = 6;
  options.trusted_previous_hash = fifth->hash;
  auto report = ledger_->Verify(options);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact);
  EXPECT_EQ(report->events_checked, 6u);

  options.trusted_previous_hash = std::string(32, 'x');
  auto wrong = ledger_->Verify(options);
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->intact);
  EXPECT_EQ(wrong->first_bad_position, 6u);
}

}  // namespace
}  // namespace rollbook::testing
