// ctest-labels: integration
// The built rollbook binary on temp ledgers: each ledger subcommand, bad input, exit statuses
// and messages, and a second writer while the test process owns the ledger.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/keys.h"
#include "ledger/ledger.h"
#include "tests/fixtures/ledger_fixture.h"
#include "tests/fixtures/raw_store.h"
#include "tests/fixtures/temp_dir.h"

extern char** environ;

namespace rollbook::testing {
namespace {

namespace fs = std::filesystem;
using PositionList = std::vector<std::string>;

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << content;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class LedgerCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* binary = std::getenv("ROLLBOOK_BINARY");
    ASSERT_NE(binary, nullptr) << "ROLLBOOK_BINARY is not set; run this test through ctest";
    binary_ = binary;
    ledger_dir_ = dir_.Join("ledger");
  }

  // Runs rollbook with `arguments` and the extra environment entries, capturing its output.
  CommandResult RunWithEnvironment(const std::vector<std::string>& arguments,
                                   const std::vector<std::string>& extra_environment) {
    std::vector<std::string> argv_strings = {binary_};
    argv_strings.insert(argv_strings.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (auto& argument : argv_strings) argv.push_back(argument.data());
    argv.push_back(nullptr);

    std::vector<std::string> environment_strings = extra_environment;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (std::string(*entry).rfind("ROLLBOOK_LEDGER=", 0) != 0)
        environment_strings.push_back(*entry);
    }
    std::vector<char*> environment;
    for (auto& entry : environment_strings) environment.push_back(entry.data());
    environment.push_back(nullptr);

    std::string out_path = dir_.Join("stdout");
    std::string err_path = dir_.Join("stderr");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    pid_t pid = 0;
    int spawned =
        posix_spawn(&pid, binary_.c_str(), &actions, nullptr, argv.data(), environment.data());
    posix_spawn_file_actions_destroy(&actions);

    CommandResult result;
    if (spawned != 0) {
      ADD_FAILURE() << "cannot start " << binary_ << ": " << std::strerror(spawned);
      return result;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = ReadFile(out_path);
    result.err = ReadFile(err_path);
    return result;
  }

  // Runs rollbook on the test's ledger as actor "tester".
  CommandResult Rollbook(const std::vector<std::string>& arguments) {
    std::vector<std::string> full = {"--ledger", ledger_dir_, "--actor", "tester"};
    full.insert(full.end(), arguments.begin(), arguments.end());
    return RunWithEnvironment(full, {});
  }

  void Init() {
    CommandResult result = Rollbook({"init"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  void Note(const std::string& stream, const std::string& text,
            std::vector<std::string> options = {}) {
    std::vector<std::string> arguments = {"note", stream, text};
    arguments.insert(arguments.end(), options.begin(), options.end());
    CommandResult result = Rollbook(arguments);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  // Runs `log --json` with the filters and returns the parsed events.
  std::vector<nlohmann::json> LogJson(std::vector<std::string> filters = {}) {
    std::vector<std::string> arguments = {"log", "--json"};
    arguments.insert(arguments.end(), filters.begin(), filters.end());
    CommandResult result = Rollbook(arguments);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::vector<nlohmann::json> events;
    for (const std::string& line : Lines(result.out)) events.push_back(nlohmann::json::parse(line));
    return events;
  }

  std::vector<std::string> Positions(const std::vector<nlohmann::json>& events) {
    std::vector<std::string> positions;
    for (const auto& event : events) positions.push_back(event["position"].get<std::string>());
    return positions;
  }

  nlohmann::json InfoJson(const std::string& ledger_dir) {
    CommandResult result = RunWithEnvironment({"--ledger", ledger_dir, "info", "--json"}, {});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return nlohmann::json::parse(result.out);
  }

  TempDir dir_;
  std::string binary_;
  std::string ledger_dir_;
};

TEST_F(LedgerCliTest, InitCreatesLedger) {
  CommandResult result = Rollbook({"init"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "Created ledger " + ledger_dir_)) << result.out;

  auto events = LogJson();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["eventType"], "ledgerInitialized");
  EXPECT_EQ(events[0]["actor"], "tester");
}

TEST_F(LedgerCliTest, InitRefusesExistingLedger) {
  Init();
  CommandResult again = Rollbook({"init"});
  EXPECT_EQ(again.exit_code, 5);
  EXPECT_TRUE(Contains(again.err, "already exists")) << again.err;
  EXPECT_EQ(LogJson().size(), 1u);
}

TEST_F(LedgerCliTest, NoteAppearsInTextLog) {
  Init();
  CommandResult note = Rollbook({"note", "incident-7", "paged the database team"});
  ASSERT_EQ(note.exit_code, 0) << note.err;
  EXPECT_TRUE(Contains(note.out, "position 2")) << note.out;

  CommandResult log = Rollbook({"log"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_TRUE(Contains(log.out, "POSITION")) << log.out;
  EXPECT_TRUE(Contains(log.out, "incident-7@1")) << log.out;
  EXPECT_TRUE(Contains(log.out, "annotation")) << log.out;
  EXPECT_TRUE(Contains(log.out, "paged the database team")) << log.out;
  EXPECT_TRUE(Contains(log.out, "tester")) << log.out;
}

TEST_F(LedgerCliTest, NoteJsonNamesPosition) {
  Init();
  CommandResult note = Rollbook({"note", "incident-7", "first", "--json"});
  ASSERT_EQ(note.exit_code, 0) << note.err;
  auto json = nlohmann::json::parse(note.out);
  EXPECT_EQ(json["position"], 2);
  EXPECT_EQ(json["streamVersion"], 1);
  EXPECT_EQ(json["duplicate"], false);
}

TEST_F(LedgerCliTest, LogJsonCarriesEnvelopeAndPayload) {
  Init();
  Note("incident-7", "rolled back the flag", {"--rollback", "rb-1", "--component", "flags"});
  auto events = LogJson();
  ASSERT_EQ(events.size(), 2u);
  const nlohmann::json& note = events[1];
  EXPECT_EQ(note["position"], "2");
  EXPECT_EQ(note["streamId"], "incident-7");
  EXPECT_EQ(note["correlationId"], "rb-1");
  EXPECT_EQ(note["payload"]["annotation"]["text"], "rolled back the flag");
  EXPECT_EQ(note["payload"]["annotation"]["component"], "flags");
  EXPECT_EQ(note["hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(note["previousHash"], events[0]["hash"]);
}

TEST_F(LedgerCliTest, LogFiltersSelectEvents) {
  Init();
  Note("alpha", "one");                                                            // 2
  Note("beta", "two", {"--rollback", "rb-9"});                                     // 3
  Note("alpha", "three");                                                          // 4
  ASSERT_EQ(Rollbook({"--actor", "alice", "note", "beta", "four"}).exit_code, 0);  // 5

  EXPECT_EQ(Positions(LogJson({"--stream", "alpha"})), (PositionList{"2", "4"}));
  EXPECT_EQ(Positions(LogJson({"--type", "ledgerInitialized"})), (PositionList{"1"}));
  EXPECT_EQ(
      Positions(LogJson({"--type", "annotation", "--type", "ledgerInitialized", "--limit", "2"})),
      (PositionList{"1", "2"}));
  EXPECT_EQ(Positions(LogJson({"--rollback", "rb-9"})), (PositionList{"3"}));
  EXPECT_EQ(Positions(LogJson({"--actor", "alice"})), (PositionList{"5"}));
  EXPECT_EQ(Positions(LogJson({"--after", "2", "--before", "5"})), (PositionList{"3", "4"}));
  EXPECT_EQ(Positions(LogJson({"--reverse", "--limit", "2"})), (PositionList{"5", "4"}));
  EXPECT_EQ(Positions(LogJson({"--since", "1h"})).size(), 5u);
  EXPECT_EQ(
      Positions(LogJson({"--since", "2000-01-01T00:00:00Z", "--until", "2001-01-01T00:00:00Z"})),
      PositionList{});
}

TEST_F(LedgerCliTest, LogLimitDefaultsToHundred) {
  Init();
  {
    ledger::Options options;
    options.directory = ledger_dir_;
    options.sync = false;
    auto opened = ledger::Ledger::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    for (int i = 0; i < 150; ++i) {
      ledger::AppendRequest request;
      request.stream = "bulk";
      request.actor = "tester";
      request.events.push_back(NoteEvent("n" + std::to_string(i)));
      ASSERT_TRUE((*opened)->Append(request).ok());
    }
  }
  EXPECT_EQ(LogJson().size(), 100u);
  EXPECT_EQ(LogJson({"--limit", "0"}).size(), 151u);
}

TEST_F(LedgerCliTest, RepeatedIdempotencyKeyWritesOnce) {
  Init();
  CommandResult first = Rollbook({"note", "s", "once", "--idempotency-key", "k-1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  CommandResult second = Rollbook({"note", "s", "once", "--idempotency-key", "k-1"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_TRUE(Contains(second.out, "nothing was written")) << second.out;
  EXPECT_EQ(LogJson().size(), 2u);
}

TEST_F(LedgerCliTest, InfoReportsHeadAndSync) {
  Init();
  Note("s", "one");
  nlohmann::json info = InfoJson(ledger_dir_);
  EXPECT_EQ(info["directory"], ledger_dir_);
  EXPECT_EQ(info["headPosition"], 2);
  EXPECT_EQ(info["eventCount"], 2);
  EXPECT_EQ(info["headHash"], LogJson().back()["hash"]);
  EXPECT_EQ(info["ledgerId"].get<std::string>().size(), 32u);
  EXPECT_GT(info["sizeOnDiskBytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(info["sync"], true);
  EXPECT_TRUE(info["owner"].is_null());

  CommandResult text = Rollbook({"info"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(Contains(text.out, "head position:  2")) << text.out;
  EXPECT_TRUE(Contains(text.out, "sync:           on")) << text.out;

  CommandResult no_sync = Rollbook({"--no-sync", "info"});
  ASSERT_EQ(no_sync.exit_code, 0) << no_sync.err;
  EXPECT_TRUE(Contains(no_sync.out, "sync:           off (--no-sync")) << no_sync.out;
}

TEST_F(LedgerCliTest, EnvironmentNamesLedger) {
  Init();
  CommandResult result = RunWithEnvironment({"info"}, {"ROLLBOOK_LEDGER=" + ledger_dir_});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, ledger_dir_)) << result.out;
}

TEST_F(LedgerCliTest, VerifyIntactChain) {
  Init();
  Note("s", "one");
  Note("s", "two");
  CommandResult result = Rollbook({"verify"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "Chain intact: 3 events verified")) << result.out;

  CommandResult from = Rollbook({"verify", "--from", "2", "--no-index-check", "--json"});
  ASSERT_EQ(from.exit_code, 0) << from.err;
  auto json = nlohmann::json::parse(from.out);
  EXPECT_EQ(json["intact"], true);
  EXPECT_EQ(json["eventsChecked"], 2);
}

TEST_F(LedgerCliTest, VerifyWithTrustedHash) {
  Init();
  Note("s", "one");
  Note("s", "two");
  std::string hash_of_2 = LogJson()[1]["hash"];
  EXPECT_EQ(Rollbook({"verify", "--from", "3", "--trusted-hash", hash_of_2}).exit_code, 0);

  std::string wrong(64, '0');
  CommandResult mismatch = Rollbook({"verify", "--from", "3", "--trusted-hash", wrong});
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_TRUE(Contains(mismatch.out, "position 3")) << mismatch.out;

  CommandResult invalid = Rollbook({"verify", "--from", "3", "--trusted-hash", "xyz"});
  EXPECT_EQ(invalid.exit_code, 2);
  EXPECT_TRUE(Contains(invalid.err, "64 hex digits")) << invalid.err;
}

TEST_F(LedgerCliTest, VerifyNamesFirstAlteredPosition) {
  Init();
  Note("s", "one");
  Note("s", "two");
  Note("s", "three");
  {
    RawStore store(ledger_dir_);
    std::string value = store.Get(RawStore::kEvents, ledger::PositionKey(3));
    auto at = value.find("two");
    ASSERT_NE(at, std::string::npos);
    value[at] = 'T';
    store.Put(RawStore::kEvents, ledger::PositionKey(3), value);
  }
  CommandResult result = Rollbook({"verify"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(Contains(result.out, "Chain broken at position 3")) << result.out;
  EXPECT_TRUE(Contains(result.out, "altered")) << result.out;
}

TEST_F(LedgerCliTest, ExportImportRoundTrip) {
  Init();
  Note("s", "one", {"--idempotency-key", "k-1"});
  Note("t", "two\nlines, \"quoted\", ünïcode\ttab");
  std::string export_path = dir_.Join("ledger.jsonl");
  CommandResult exported = Rollbook({"export", "--output", export_path});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_TRUE(Contains(exported.out, "Exported 3 events")) << exported.out;
  EXPECT_EQ(Lines(ReadFile(export_path)).size(), 3u);

  CommandResult to_stdout = Rollbook({"export"});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, ReadFile(export_path));

  std::string copy_dir = dir_.Join("copy");
  CommandResult imported = Rollbook({"import", export_path, "--into", copy_dir});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_TRUE(Contains(imported.out, "Imported 3 events")) << imported.out;

  nlohmann::json original = InfoJson(ledger_dir_);
  nlohmann::json copy = InfoJson(copy_dir);
  EXPECT_EQ(copy["headHash"], original["headHash"]);
  EXPECT_EQ(copy["ledgerId"], original["ledgerId"]);
  EXPECT_EQ(RunWithEnvironment({"--ledger", copy_dir, "verify"}, {}).exit_code, 0);
}

TEST_F(LedgerCliTest, ExportImportKeepsFloatingPointValues) {
  Init();
  {
    ledger::Options options;
    options.directory = ledger_dir_;
    auto opened = ledger::Ledger::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ledger::AppendRequest request;
    request.stream = "rb-1";
    request.actor = "tester";
    request.events.push_back(ledger::MakeEvent([](schema::Payload::Builder payload) {
      auto started = payload.initMonitorStarted();
      started.setRollbackId("rb-1");
      auto probe = started.initProbes(1)[0];
      probe.setName("latency");
      probe.setMaximum(std::numeric_limits<double>::quiet_NaN());
      probe.setMinimum(-std::numeric_limits<double>::infinity());
      probe.setMaxErrorRate(0.1);
    }));
    request.events.push_back(ledger::MakeEvent([](schema::Payload::Builder payload) {
      auto sample = payload.initMonitorSample();
      sample.setProbe("latency");
      sample.setMean(1.0 / 3.0);
      sample.setLast(123456789.123456789);
      sample.setMinimum(5e-324);
    }));
    ASSERT_TRUE((*opened)->Append(request).ok());
  }
  std::string export_path = dir_.Join("ledger.jsonl");
  ASSERT_EQ(Rollbook({"export", "--output", export_path}).exit_code, 0);

  std::string copy_dir = dir_.Join("copy");
  CommandResult imported = Rollbook({"import", export_path, "--into", copy_dir});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(InfoJson(copy_dir)["headHash"], InfoJson(ledger_dir_)["headHash"]);
}

TEST_F(LedgerCliTest, ImportRejectsTamperedExport) {
  Init();
  Note("s", "one");
  Note("s", "two");
  std::string export_path = dir_.Join("ledger.jsonl");
  ASSERT_EQ(Rollbook({"export", "--output", export_path}).exit_code, 0);
  std::string content = ReadFile(export_path);
  auto at = content.find("\"two\"");
  ASSERT_NE(at, std::string::npos);
  content.replace(at, 5, "\"TWO\"");
  WriteFile(export_path, content);

  std::string copy_dir = dir_.Join("copy");
  CommandResult imported = Rollbook({"import", export_path, "--into", copy_dir});
  EXPECT_EQ(imported.exit_code, 1);
  EXPECT_TRUE(Contains(imported.err, "line 3")) << imported.err;
  EXPECT_TRUE(Contains(imported.err, "position 3")) << imported.err;
  EXPECT_FALSE(fs::exists(copy_dir));
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    EXPECT_FALSE(Contains(entry.path().filename().string(), ".import-")) << entry.path();
  }
}

TEST_F(LedgerCliTest, ImportRejectsFilteredExport) {
  Init();
  Note("s", "one");
  std::string export_path = dir_.Join("partial.jsonl");
  ASSERT_EQ(Rollbook({"export", "--stream", "s", "--output", export_path}).exit_code, 0);
  std::string copy_dir = dir_.Join("copy");
  CommandResult imported = Rollbook({"import", export_path, "--into", copy_dir});
  EXPECT_EQ(imported.exit_code, 1);
  EXPECT_TRUE(Contains(imported.err, "line 1")) << imported.err;
  EXPECT_FALSE(fs::exists(copy_dir));
}

TEST_F(LedgerCliTest, ImportRefusesExistingTarget) {
  Init();
  std::string export_path = dir_.Join("ledger.jsonl");
  ASSERT_EQ(Rollbook({"export", "--output", export_path}).exit_code, 0);
  fs::create_directories(dir_.Join("taken"));
  CommandResult imported = Rollbook({"import", export_path, "--into", dir_.Join("taken")});
  EXPECT_EQ(imported.exit_code, 5);
  EXPECT_TRUE(Contains(imported.err, "already exists")) << imported.err;
}

TEST_F(LedgerCliTest, ExportRefusesExistingOutputUnlessForced) {
  Init();
  std::string export_path = dir_.Join("ledger.jsonl");
  WriteFile(export_path, "keep me\n");
  CommandResult refused = Rollbook({"export", "--output", export_path});
  EXPECT_EQ(refused.exit_code, 5);
  EXPECT_EQ(ReadFile(export_path), "keep me\n");

  CommandResult forced = Rollbook({"export", "--output", export_path, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(Lines(ReadFile(export_path)).size(), 1u);
}

TEST_F(LedgerCliTest, LedgerBackupWritesVerifiedCopy) {
  Init();
  Note("s", "one");
  std::string backup_dir = dir_.Join("backup");
  CommandResult backup = Rollbook({"ledger-backup", backup_dir});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_TRUE(Contains(backup.out, "Backed up 2 events")) << backup.out;
  EXPECT_EQ(InfoJson(backup_dir)["headHash"], InfoJson(ledger_dir_)["headHash"]);

  CommandResult again = Rollbook({"ledger-backup", backup_dir});
  EXPECT_EQ(again.exit_code, 5);
  EXPECT_TRUE(Contains(again.err, "already exists")) << again.err;
}

TEST_F(LedgerCliTest, MissingLedgerIsNotFound) {
  for (const char* command : {"info", "log", "verify", "export"}) {
    CommandResult result = Rollbook({command});
    EXPECT_EQ(result.exit_code, 3) << command;
    EXPECT_TRUE(Contains(result.err, "no ledger in " + ledger_dir_)) << result.err;
    EXPECT_TRUE(Contains(result.err, "rollbook init")) << result.err;
  }
  CommandResult note = Rollbook({"note", "s", "text"});
  EXPECT_EQ(note.exit_code, 3);
  EXPECT_FALSE(fs::exists(ledger_dir_ + "/CURRENT"));
}

TEST_F(LedgerCliTest, BadCommandLineIsUsageError) {
  CommandResult unknown = Rollbook({"log", "--bogus"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(Contains(unknown.err, "--bogus")) << unknown.err;

  CommandResult none = Rollbook({});
  EXPECT_EQ(none.exit_code, 2);

  Init();
  CommandResult since = Rollbook({"log", "--since", "yesterday"});
  EXPECT_EQ(since.exit_code, 2);
  EXPECT_TRUE(Contains(since.err, "invalid time 'yesterday' for --since")) << since.err;

  CommandResult type = Rollbook({"log", "--type", "nope"});
  EXPECT_EQ(type.exit_code, 2);
  EXPECT_TRUE(Contains(type.err, "unknown event type 'nope'")) << type.err;

  CommandResult stream = Rollbook({"note", "bad stream", "text"});
  EXPECT_EQ(stream.exit_code, 2);
  EXPECT_TRUE(Contains(stream.err, "invalid stream id")) << stream.err;
}

TEST_F(LedgerCliTest, HelpListsExitStatuses) {
  CommandResult help = Rollbook({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(Contains(help.out, "Exit status:")) << help.out;
  EXPECT_TRUE(Contains(help.out, "4  the ledger is owned by another process")) << help.out;
  EXPECT_TRUE(Contains(help.out, "ledger-backup")) << help.out;
}

TEST_F(LedgerCliTest, LogsGoToStderr) {
  CommandResult result = Rollbook({"--log-level", "info", "init"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Lines(result.out).size(), 1u) << result.out;
  EXPECT_TRUE(Contains(result.err, "created ledger")) << result.err;
}

TEST_F(LedgerCliTest, SecondWriterIsBusyWhileReadsWork) {
  Init();
  Note("s", "before the owner");
  ledger::Options options;
  options.directory = ledger_dir_;
  options.owner = "cli test owner";
  auto owner = ledger::Ledger::Open(options);
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  ledger::AppendRequest request;
  request.stream = "s";
  request.actor = "owner";
  request.events.push_back(NoteEvent("written by the owner"));
  ASSERT_TRUE((*owner)->Append(request).ok());
  std::string pid = "pid " + std::to_string(::getpid());

  CommandResult note = Rollbook({"note", "s", "second writer"});
  EXPECT_EQ(note.exit_code, 4);
  EXPECT_TRUE(Contains(note.err, pid)) << note.err;
  EXPECT_TRUE(Contains(note.err, "cli test owner")) << note.err;

  CommandResult backup = Rollbook({"ledger-backup", dir_.Join("backup")});
  EXPECT_EQ(backup.exit_code, 4);
  EXPECT_TRUE(Contains(backup.err, pid)) << backup.err;

  auto events = LogJson();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2]["payload"]["annotation"]["text"], "written by the owner");
  CommandResult verify = Rollbook({"verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  nlohmann::json info = InfoJson(ledger_dir_);
  EXPECT_EQ(info["owner"]["pid"], std::to_string(::getpid()));
}

// A one-component runbook of exec steps whose monitor: section probes a command for one second.
std::string MonitoredRunbookText(const std::string& probe_maximum) {
  return "feature: checkout\nbudget: 5m\nenvironments:\n  staging:\n    vars: {}\n"
         "components:\n  app:\n    steps:\n"
         "      - {name: app-backup, driver: exec, role: backup, params: {argv: [echo, v1], "
         "backup_stdout: true, origin: app}}\n"
         "      - {name: app-switch, driver: exec, params: {argv: [\"true\"]}}\n"
         "      - {name: app-verify, driver: exec, role: verify, params: {argv: [\"true\"]}}\n"
         "monitor:\n  duration: 1s\n  window: 1s\n  probes:\n"
         "    - {name: queue-depth, kind: command, argv: [echo, \"3\"], interval: 200ms, "
         "maximum: " +
         probe_maximum + "}\n";
}

class MonitoredStartTest : public LedgerCliTest {
 protected:
  // Writes the runbook with the probe's maximum into the test directory; returns its path.
  std::string WriteRunbook(const std::string& probe_maximum) {
    std::string path = dir_.Join("rollbook.yaml");
    std::ofstream(path) << MonitoredRunbookText(probe_maximum);
    return path;
  }
};

TEST_F(MonitoredStartTest, StartMonitorsAfterSuccess) {
  Init();
  std::string runbook = WriteRunbook("5");

  CommandResult started = Rollbook({"start", "queue backlog", "--runbook", runbook});
  EXPECT_EQ(started.exit_code, 0) << started.out << started.err;
  EXPECT_TRUE(Contains(started.out, "monitoring rb-1")) << started.out;
  EXPECT_EQ(LogJson({"--type", "monitorStarted"}).size(), 1u);
  EXPECT_EQ(LogJson({"--type", "monitorCompleted"}).size(), 1u);

  CommandResult unmonitored =
      Rollbook({"start", "queue backlog again", "--runbook", runbook, "--no-monitor"});
  EXPECT_EQ(unmonitored.exit_code, 0) << unmonitored.out << unmonitored.err;
  EXPECT_EQ(LogJson({"--type", "monitorStarted"}).size(), 1u);
}

TEST_F(MonitoredStartTest, StartFailsWhenMonitoringBreaches) {
  Init();
  std::string runbook = WriteRunbook("1");

  CommandResult started = Rollbook({"start", "queue backlog", "--runbook", runbook});
  EXPECT_EQ(started.exit_code, 1) << started.out << started.err;
  EXPECT_EQ(LogJson({"--type", "thresholdBreached"}).size(), 1u);
}

TEST_F(MonitoredStartTest, RunbookCheckRejectsUnknownProbeScope) {
  std::string text = MonitoredRunbookText("5");
  text.replace(text.find("maximum: 5"), 10, "maximum: 5, scopes: [nosuch]");
  std::string runbook = dir_.Join("rollbook.yaml");
  std::ofstream(runbook) << text;

  CommandResult checked = Rollbook({"runbook", "check", "--runbook", runbook});
  EXPECT_EQ(checked.exit_code, 2) << checked.out;
  EXPECT_TRUE(Contains(checked.err, "scope 'nosuch'")) << checked.err;
}

TEST_F(MonitoredStartTest, FailedMonitoringStartIsRecorded) {
  Init();
  std::string text = MonitoredRunbookText("5");
  const std::string probe = "argv: [echo, \"3\"]";
  text.replace(text.find(probe), probe.size(), "argv: [echo, \"${env:ROLLBOOK_UNSET_VAR}\"]");
  std::string runbook = dir_.Join("rollbook.yaml");
  std::ofstream(runbook) << text;

  CommandResult started = Rollbook({"start", "queue backlog", "--runbook", runbook});
  EXPECT_EQ(started.exit_code, 1) << started.out << started.err;
  EXPECT_TRUE(Contains(started.err, "rb-1 succeeded, but monitoring did not start")) << started.err;
  auto notes = LogJson({"--type", "annotation"});
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0]["streamId"], "rb-1");
}

TEST_F(MonitoredStartTest, RunbookCheckValidatesMonitorSection) {
  std::string runbook = WriteRunbook("lots");

  CommandResult checked = Rollbook({"runbook", "check", "--runbook", runbook});
  EXPECT_EQ(checked.exit_code, 2) << checked.out;
  EXPECT_TRUE(Contains(checked.err, "monitor.probes[0] (queue-depth)")) << checked.err;
  EXPECT_TRUE(Contains(checked.err, "maximum")) << checked.err;
}

// Operator commands sent with --server to a `rollbook serve` that this fixture starts.
class RemoteCliTest : public LedgerCliTest {
 protected:
  void TearDown() override {
    if (server_pid_ > 0) {
      ::kill(server_pid_, SIGTERM);
      int status = 0;
      ::waitpid(server_pid_, &status, 0);
    }
  }

  // Adds a token with `scope` to the tokens file and returns it.
  std::string AddToken(const std::string& name, const std::string& scope) {
    CommandResult added =
        Rollbook({"--json", "token", "add", name, "--scope", scope, "--tokens", tokens_});
    EXPECT_EQ(added.exit_code, 0) << added.err;
    return nlohmann::json::parse(added.out, nullptr, false).value("token", "");
  }

  // Starts `rollbook serve` on a free loopback port and returns its URL. The server runs in the
  // test directory and names the ledger relative to it, as an operator might.
  std::string StartServer() {
    std::string out_path = dir_.Join("serve.out");
    std::vector<std::string> argv_strings = {binary_,    "--ledger",    "ledger",   "serve",
                                             "--listen", "127.0.0.1:0", "--tokens", tokens_};
    std::vector<char*> argv;
    for (auto& argument : argv_strings) argv.push_back(argument.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addchdir_np(&actions, dir_.path().c_str());
    int spawned =
        posix_spawn(&server_pid_, binary_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(spawned, 0) << std::strerror(spawned);
    for (int attempt = 0; attempt < 200; ++attempt) {
      std::string out = ReadFile(out_path);
      auto at = out.find(" on http://");
      if (at != std::string::npos) {
        std::string url = out.substr(at + 4);
        return url.substr(0, url.find_first_of("; \n"));
      }
      ::usleep(50 * 1000);
    }
    ADD_FAILURE() << "rollbook serve printed no URL: " << ReadFile(out_path);
    return "";
  }

  CommandResult Remote(const std::string& url, const std::string& token,
                       const std::vector<std::string>& arguments) {
    std::vector<std::string> full = {"--server", url};
    full.insert(full.end(), arguments.begin(), arguments.end());
    return RunWithEnvironment(full, {"ROLLBOOK_TOKEN=" + token});
  }

  struct ServedRollback {
    std::string url;
    std::string token;
    CommandResult started;  // of the remote `rollbook start`
  };

  // Starts a server and rolls back rb-1 through it with an operator token.
  ServedRollback ServeOneRollback() {
    Init();
    std::string runbook = dir_.Join("rollbook.yaml");
    std::ofstream(runbook) << MonitoredRunbookText("5");
    ServedRollback served;
    served.token = AddToken("oncall", "operate");
    served.url = StartServer();
    served.started =
        Remote(served.url, served.token, {"start", "checkout errors", "--runbook", runbook});
    EXPECT_EQ(served.started.exit_code, 0) << served.started.out << served.started.err;
    return served;
  }

  std::string tokens_ = dir_.Join("tokens");
  pid_t server_pid_ = 0;
};

TEST_F(RemoteCliTest, StartFollowsProgressOverHttp) {
  CommandResult started = ServeOneRollback().started;
  EXPECT_TRUE(Contains(started.out, "rb-1 requested by oncall")) << started.out;
  EXPECT_TRUE(Contains(started.out, "app/app-switch")) << started.out;
  EXPECT_TRUE(Contains(started.out, "rb-1 succeeded")) << started.out;
}

TEST_F(RemoteCliTest, ReadTokenCannotStart) {
  Init();
  std::string token = AddToken("viewer", "read");
  std::string url = StartServer();

  CommandResult started = Remote(url, token, {"start", "checkout errors"});
  EXPECT_EQ(started.exit_code, 1) << started.out << started.err;
  EXPECT_TRUE(Contains(started.err, "HTTP 403")) << started.err;
  EXPECT_TRUE(Contains(started.err, "ROLLBOOK_TOKEN")) << started.err;
}

TEST_F(RemoteCliTest, NoteIsIdempotentOverHttp) {
  Init();
  std::string token = AddToken("oncall", "operate");
  std::string url = StartServer();

  std::vector<std::string> note = {
      "--json", "note", "incident", "paged the db team", "--idempotency-key", "page-1"};
  CommandResult first = Remote(url, token, note);
  CommandResult again = Remote(url, token, note);
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(again.exit_code, 0) << again.err;
  nlohmann::json first_note = nlohmann::json::parse(first.out, nullptr, false);
  nlohmann::json repeated_note = nlohmann::json::parse(again.out, nullptr, false);
  EXPECT_EQ(first_note["position"], repeated_note["position"]);
  EXPECT_EQ(first_note["duplicate"], false);
  EXPECT_EQ(repeated_note["duplicate"], true);
}

TEST_F(RemoteCliTest, ActionItemsReachTheServer) {
  auto [url, token, remote_start] = ServeOneRollback();

  CommandResult remote = Remote(url, token, {"action", "add", "rb-1", "add a queue alert"});
  EXPECT_EQ(remote.exit_code, 0) << remote.err;
  EXPECT_TRUE(Contains(remote.out, "added action ai-1 to rb-1")) << remote.out;

  // Without --server, the command finds the server through its command socket.
  CommandResult local = Rollbook({"action", "add", "rb-1", "raise the budget", "--lesson"});
  EXPECT_EQ(local.exit_code, 0) << local.err;
  EXPECT_TRUE(Contains(local.out, "added lesson ai-2 to rb-1")) << local.out;

  CommandResult done =
      Remote(url, token, {"action", "done", "ai-1", "--resolution", "alert added"});
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_TRUE(Contains(done.out, "resolved ai-1")) << done.out;
  CommandResult again = Rollbook({"action", "done", "ai-1"});
  EXPECT_EQ(again.exit_code, 5) << again.out << again.err;

  auto added = LogJson({"--type", "actionItemAdded"});
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(added[0]["actor"], "oncall");
  EXPECT_EQ(added[1]["actor"], "tester");
}

TEST_F(RemoteCliTest, MonitorRunsInTheServer) {
  auto [url, token, remote_start] = ServeOneRollback();

  // Without --server, `monitor` finds the server through its command socket.
  CommandResult monitor = Rollbook({"monitor", "rb-1", "--for", "1s"});
  EXPECT_EQ(monitor.exit_code, 0) << monitor.err;
  EXPECT_TRUE(Contains(monitor.out, "in the process that owns the ledger")) << monitor.out;
  CommandResult twice = Remote(url, token, {"monitor", "rb-1", "--for", "1s"});
  EXPECT_EQ(twice.exit_code, 5) << twice.out << twice.err;

  size_t completed = 0;
  for (int attempt = 0; attempt < 100 && completed == 0; ++attempt) {
    ::usleep(100 * 1000);
    completed = LogJson({"--type", "monitorCompleted"}).size();
  }
  EXPECT_EQ(completed, 1u);
  auto started = LogJson({"--type", "monitorStarted"});
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["actor"], "tester");
}

TEST_F(RemoteCliTest, UnreachableServerIsBusy) {
  CommandResult noted = Remote("http://127.0.0.1:1", "", {"note", "s", "text"});
  EXPECT_EQ(noted.exit_code, 4) << noted.err;
  EXPECT_TRUE(Contains(noted.err, "cannot reach the rollbook server")) << noted.err;

  CommandResult bad_url = Remote("ftp://127.0.0.1", "", {"note", "s", "text"});
  EXPECT_EQ(bad_url.exit_code, 2) << bad_url.err;
}

}  // namespace
}  // namespace rollbook::testing
