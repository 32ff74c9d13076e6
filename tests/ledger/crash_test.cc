// ctest-labels: crash
// kill -9 during synced appends: every acknowledged event survives, positions stay gap-free and
// the chain verifies after reopening.
//
// The writer is this same test binary started again with ROLLBOOK_CRASH_WRITER set. It appends
// from several threads and prints each acknowledged position on stdout; the test kills it at a
// random moment and compares what was acknowledged with what the reopened ledger holds.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "tests/fixtures/ledger_fixture.h"

extern char** environ;

namespace rollbook::testing {
namespace {

constexpr const char* kWriterVariable = "ROLLBOOK_CRASH_WRITER";

// Runs before main() in the writer process and never returns there.
[[noreturn]] void RunCrashWriter(const char* directory) {
  ledger::Options options;
  options.directory = directory;
  options.sync = true;
  auto opened = ledger::Ledger::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "crash writer: %s\n", opened.status().ToString().c_str());
    std::_Exit(2);
  }
  std::mutex output;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        ledger::AppendRequest request;
        request.stream = "crash-" + std::to_string(t);
        request.actor = "crash-writer";
        request.events.push_back(NoteEvent("append " + std::to_string(i)));
        if (i % 3 == 0) request.events.push_back(NoteEvent("second event of the batch"));
        auto result = (*opened)->Append(request);
        if (!result.ok()) std::_Exit(3);
        std::lock_guard<std::mutex> lock(output);
        std::printf("%llu\n", static_cast<unsigned long long>(result->last_position));
        std::fflush(stdout);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::_Exit(0);
}

const int kWriterHook = [] {
  if (const char* directory = std::getenv(kWriterVariable)) RunCrashWriter(directory);
  return 0;
}();

class CrashTest : public LedgerTest {
 protected:
  // Starts the writer, lets it run for `run_for`, kills it with SIGKILL, and returns the
  // highest position it acknowledged.
  uint64_t KillWriterAfter(std::chrono::milliseconds run_for) {
    int pipe_fds[2];
    EXPECT_EQ(::pipe(pipe_fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    std::string variable = std::string(kWriterVariable) + "=" + ledger_dir_;
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
    env.push_back(variable.data());
    env.push_back(nullptr);
    char self[] = "/proc/self/exe";
    char* argv[] = {self, nullptr};
    pid_t child = 0;
    EXPECT_EQ(posix_spawn(&child, "/proc/self/exe", &actions, nullptr, argv, env.data()), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);

    std::thread killer([&] {
      std::this_thread::sleep_for(run_for);
      ::kill(child, SIGKILL);
    });
    uint64_t highest = 0;
    FILE* acknowledged = ::fdopen(pipe_fds[0], "r");
    unsigned long long position = 0;
    while (std::fscanf(acknowledged, "%llu", &position) == 1) {
      highest = std::max<uint64_t>(highest, position);
    }
    std::fclose(acknowledged);
    killer.join();
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the writer exited by itself with status " << status;
    return highest;
  }
};

TEST_F(CrashTest, AcknowledgedEventsSurviveKill) {
  Close();
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(20, 250);
  uint64_t previous_head = 1;
  for (int round = 0; round < 20; ++round) {
    uint64_t acknowledged = KillWriterAfter(std::chrono::milliseconds(delay_ms(random)));
    Reopen();
    uint64_t head = ledger_->HeadPosition();
    EXPECT_GE(head, acknowledged) << "round " << round << ": an acknowledged event was lost";
    EXPECT_GE(head, previous_head) << "round " << round;
    auto report = VerifyChain();
    EXPECT_TRUE(report.intact) << "round " << round << ": " << report.problem;
    EXPECT_EQ(report.events_checked, head) << "round " << round;
    previous_head = head;
    Close();
  }
  EXPECT_GT(previous_head, 1u) << "the writer never appended anything";
}

}  // namespace
}  // namespace rollbook::testing
