// ctest-labels: crash
// A rollback interrupted by kill -9 resumes from the ledger: steps that finished are not run
// again, and a step that started without a recorded outcome waits for an operator's decision.
// Runs the real binary (ROLLBOOK_BINARY) against a temp ledger.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/fixtures/temp_dir.h"

extern char** environ;

namespace rollbook::testing {
namespace {

using nlohmann::json;

class RollbackCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = std::getenv("ROLLBOOK_BINARY") ? std::getenv("ROLLBOOK_BINARY") : "rollbook";
    work_ = dir_.Join("work");
    std::filesystem::create_directories(work_);
    ::setenv("ROLLBOOK_LEDGER", dir_.Join("ledger").c_str(), 1);
    runbook_ = dir_.Join("rollbook.yaml");
    // `count` appends a line each time it runs; `slow` sleeps on its first run only.
    std::ofstream(runbook_) << R"(feature: checkout
environments:
  test: {vars: {work: )" << work_
                            << R"(}}
components:
  app:
    steps:
      - {name: backup, driver: exec, role: backup, params: {argv: [echo, state], backup_stdout: true, origin: app}}
      - {name: count, driver: exec, params: {shell: true, command: "echo ran >> )"
                            << work_ << R"(/count"}}
      - {name: slow, driver: exec, timeout: 60s, params: {shell: true, command: "if [ -f )"
                            << work_ << R"(/slow-started ]; then exit 0; fi; touch )" << work_
                            << R"(/slow-started; sleep 20"}}
      - {name: verify, driver: exec, role: verify, params: {argv: [test, -f, )"
                            << work_ << R"(/count]}}
)";
    ASSERT_EQ(Run({"init"}), 0);
  }

  // Starts the binary with `args`; stdout and stderr go to `log`.
  pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv_storage = {binary_};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, binary_.c_str(), &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
  }

  int Wait(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  int Run(const std::vector<std::string>& args) {
    return Wait(Spawn(args, dir_.Join("commands.log")));
  }

  json StatusOf(const std::string& id) {
    std::string output;
    RunShell(binary_ + " status " + id + " --json", &output);
    json parsed = json::parse(output, nullptr, false);
    return parsed.is_discarded() ? json::object() : parsed;
  }

  // Polls `condition` every 50 ms for up to 30 s.
  bool WaitFor(const std::function<bool()>& condition) {
    for (int i = 0; i < 600; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  int CountLines(const std::string& path) {
    std::ifstream file(path);
    int lines = 0;
    for (std::string line; std::getline(file, line);) ++lines;
    return lines;
  }

  TempDir dir_;
  std::string binary_;
  std::string work_;
  std::string runbook_;
};

TEST_F(RollbackCrashTest, KilledRollbackResumesWithoutRepeatingSteps) {
  pid_t start =
      Spawn({"start", "checkout is failing", "--runbook", runbook_}, dir_.Join("start.log"));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(work_ + "/slow-started"); }))
      << "the slow step never started";
  ::kill(start, SIGKILL);
  Wait(start);

  json interrupted = StatusOf("rb-1");
  EXPECT_EQ(interrupted.value("status", ""), "running");
  EXPECT_EQ(CountLines(work_ + "/count"), 1);
  std::string status_text;
  RunShell(binary_ + " status rb-1", &status_text);
  EXPECT_NE(status_text.find("No process is running rb-1"), std::string::npos) << status_text;

  // The slow step has a start event but no outcome, and exec steps are not idempotent.
  pid_t resume = Spawn({"resume", "rb-1"}, dir_.Join("resume.log"));
  ASSERT_TRUE(WaitFor([&] {
    return StatusOf("rb-1").value("status", "") == "waiting-for-operator";
  })) << "resume did not stop at the outcome-unknown step";

  EXPECT_EQ(Run({"retry", "rb-1", "app/slow"}), 0);
  EXPECT_EQ(Wait(resume), 0);

  json finished = StatusOf("rb-1");
  EXPECT_EQ(finished.value("outcome", ""), "succeeded");
  EXPECT_EQ(CountLines(work_ + "/count"), 1) << "a finished step ran again after the crash";
  EXPECT_EQ(Run({"verify"}), 0);
}

TEST_F(RollbackCrashTest, SkipAnOutcomeUnknownStep) {
  pid_t start =
      Spawn({"start", "checkout is failing", "--runbook", runbook_}, dir_.Join("start.log"));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(work_ + "/slow-started"); }));
  ::kill(start, SIGKILL);
  Wait(start);

  pid_t resume = Spawn({"resume", "rb-1"}, dir_.Join("resume.log"));
  ASSERT_TRUE(
      WaitFor([&] { return StatusOf("rb-1").value("status", "") == "waiting-for-operator"; }));
  // The rollback then ends partially succeeded, so the command exits non-zero.
  EXPECT_EQ(Run({"skip", "rb-1", "slow", "--reason", "checked by hand: the sleep did nothing"}), 1);
  Wait(resume);

  json finished = StatusOf("rb-1");
  EXPECT_EQ(finished.value("outcome", ""), "partiallySucceeded");
  EXPECT_EQ(CountLines(work_ + "/count"), 1);
}

}  // namespace
}  // namespace rollbook::testing
