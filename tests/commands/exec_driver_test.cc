// ctest-labels: integration
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands/drivers/drivers.h"
#include "commands/secrets.h"
#include "tests/fixtures/temp_dir.h"

namespace rollbook::commands {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class ExecDriverTest : public ::testing::Test {
 protected:
  StepOutcome Run(json params, StepRole role = StepRole::kChange, bool dry_run = false) {
    params_ = std::move(params);
    StepContext context = Context(role, dry_run);
    return driver_->Run(context);
  }

  StepContext Context(StepRole role, bool dry_run) {
    StepContext context;
    context.rollback_id = "rb-1";
    context.component = "app";
    context.step = "run";
    context.action = "run";
    context.role = role;
    context.params = &params_;
    context.dry_run = dry_run;
    context.timeout = timeout_;
    context.backups = &store_;
    context.redactor = &redactor_;
    return context;
  }

  // Returns true once process `pid` no longer runs (gone, or a zombie not yet reaped).
  static bool AwaitProcessGone(pid_t pid, milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
      std::string pid_field, name, state;
      if (!(stat >> pid_field >> name >> state) || state == "Z") return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  testing::TempDir dir_;
  std::unique_ptr<Driver> driver_ = MakeExecDriver();
  json params_;
  milliseconds timeout_{10000};
  BackupStore store_{dir_.Join("backups")};
  Redactor redactor_;
};

TEST_F(ExecDriverTest, ArgvRunsWithoutShell) {
  StepOutcome outcome = Run({{"argv", {"/bin/echo", "a b", "$HOME", "*"}}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.output.stdout_text, "a b $HOME *\n");
  EXPECT_EQ(outcome.result.output.exit_code, 0);
  EXPECT_FALSE(outcome.result.output.truncated);
}

TEST_F(ExecDriverTest, ProgramIsFoundInPath) {
  StepOutcome outcome = Run({{"argv", {"printf", "%s", "found"}}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.output.stdout_text, "found");
}

TEST_F(ExecDriverTest, ShellCommandNeedsExplicitShell) {
  StepOutcome refused = Run({{"command", "echo $((1 + 2))"}});
  EXPECT_EQ(refused.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status.message().find("shell: true"), std::string::npos);

  StepOutcome outcome = Run({{"command", "echo $((1 + 2))"}, {"shell", true}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.output.stdout_text, "3\n");
}

TEST_F(ExecDriverTest, EnvIsMinimalPlusStepVariables) {
  ::setenv("ROLLBOOK_TEST_PARENT_ONLY", "leaked", 1);
  StepOutcome outcome =
      Run({{"argv", {"/bin/sh", "-c", "echo \"$FOO|$ROLLBOOK_TEST_PARENT_ONLY\""}},
           {"env", {{"FOO", "bar"}}}});
  ::unsetenv("ROLLBOOK_TEST_PARENT_ONLY");

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.output.stdout_text, "bar|\n");
}

TEST_F(ExecDriverTest, CwdSetsWorkingDirectory) {
  StepOutcome outcome = Run({{"argv", {"pwd"}}, {"cwd", dir_.path()}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.output.stdout_text,
            std::filesystem::canonical(dir_.path()).string() + "\n");
}

TEST_F(ExecDriverTest, MissingCwdIsNotFound) {
  StepOutcome outcome = Run({{"argv", {"pwd"}}, {"cwd", dir_.Join("absent")}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  EXPECT_NE(outcome.status.message().find("absent"), std::string::npos);
}

TEST_F(ExecDriverTest, CommandNotFoundInPath) {
  StepOutcome outcome = Run({{"argv", {"rollbook-no-such-command", "--flag"}}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  EXPECT_NE(outcome.status.message().find("command not found"), std::string::npos);
  EXPECT_NE(outcome.status.message().find("rollbook-no-such-command"), std::string::npos);
}

TEST_F(ExecDriverTest, CommandNotFoundAtPath) {
  StepOutcome outcome = Run({{"argv", {"/no/such/program"}}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  EXPECT_NE(outcome.status.message().find("/no/such/program"), std::string::npos);
}

TEST_F(ExecDriverTest, ShellCommandNotFoundReportsExit127) {
  StepOutcome outcome = Run({{"command", "rollbook-no-such-command"}, {"shell", true}});
  EXPECT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.result.output.exit_code, 127);
  EXPECT_NE(outcome.status.message().find("127"), std::string::npos);
}

TEST_F(ExecDriverTest, NonZeroExitFailsWithStderr) {
  StepOutcome outcome = Run({{"argv", {"/bin/sh", "-c", "echo oops >&2; exit 3"}}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kIoError);
  EXPECT_EQ(outcome.result.output.exit_code, 3);
  EXPECT_EQ(outcome.result.output.stderr_text, "oops\n");
  EXPECT_NE(outcome.status.message().find("oops"), std::string::npos);
}

TEST_F(ExecDriverTest, ExpectedNonZeroExitSucceeds) {
  StepOutcome outcome = Run({{"argv", {"/bin/sh", "-c", "exit 3"}}, {"expect_exit", 3}});
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
}

TEST_F(ExecDriverTest, OutputIsCappedPerStream) {
  StepOutcome outcome =
      Run({{"argv", {"/bin/sh", "-c", "head -c 100000 /dev/zero; head -c 50 /dev/zero >&2"}},
           {"max_output_bytes", 100}});

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.result.output.stdout_text.size(), 100u);
  EXPECT_EQ(outcome.result.output.stderr_text.size(), 50u);
  EXPECT_TRUE(outcome.result.output.truncated);
  EXPECT_NE(outcome.result.summary.find("truncated"), std::string::npos);
}

TEST_F(ExecDriverTest, TimeoutStopsProgramWithSigterm) {
  timeout_ = milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  StepOutcome outcome = Run({{"argv", {"sleep", "30"}}});
  auto elapsed = std::chrono::steady_clock::now() - start;

  EXPECT_EQ(outcome.status.code(), StatusCode::kTimeout);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST_F(ExecDriverTest, TimeoutKillsWholeProcessGroup) {
  timeout_ = milliseconds(300);
  std::string pid_file = dir_.Join("grandchild.pid");
  // The shell and its background grandchild both ignore SIGTERM, so only SIGKILL stops them.
  StepOutcome outcome = Run(
      {{"command", "trap '' TERM; sleep 60 & echo $! > " + pid_file + "; wait"}, {"shell", true}});

  EXPECT_EQ(outcome.status.code(), StatusCode::kTimeout);
  EXPECT_NE(outcome.status.message().find("SIGKILL"), std::string::npos);
  std::ifstream pid_stream(pid_file);
  pid_t grandchild = 0;
  ASSERT_TRUE(pid_stream >> grandchild);
  EXPECT_TRUE(AwaitProcessGone(grandchild, milliseconds(2000)));
}

TEST_F(ExecDriverTest, VerifyRoleRecordsPassedCheck) {
  StepOutcome outcome =
      Run({{"argv", {"/bin/echo", "healthy"}}, {"stdout_equals", "healthy"}}, StepRole::kVerify);

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_TRUE(outcome.result.verification.has_value());
  EXPECT_TRUE(outcome.result.verification->passed);
}

TEST_F(ExecDriverTest, VerifyRoleFailsOnUnexpectedStdout) {
  StepOutcome outcome =
      Run({{"argv", {"/bin/echo", "degraded"}}, {"stdout_contains", "healthy"}}, StepRole::kVerify);

  EXPECT_EQ(outcome.status.code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(outcome.result.verification.has_value());
  EXPECT_FALSE(outcome.result.verification->passed);
  EXPECT_NE(outcome.result.verification->actual.find("degraded"), std::string::npos);
}

TEST_F(ExecDriverTest, VerifyRoleFailsOnExitStatus) {
  StepOutcome outcome = Run({{"argv", {"false"}}}, StepRole::kVerify);
  EXPECT_EQ(outcome.status.code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(outcome.result.verification.has_value());
  EXPECT_EQ(outcome.result.verification->actual, "exit 1");
}

TEST_F(ExecDriverTest, SecretsAreRedactedFromOutput) {
  redactor_.Add("s3cr3t-token-value");
  StepOutcome outcome =
      Run({{"argv",
            {"/bin/sh", "-c", "echo token=$1; echo $1 >&2; exit 2", "sh", "s3cr3t-token-value"}}});

  EXPECT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.result.output.stdout_text, "token=[redacted]\n");
  EXPECT_EQ(outcome.result.output.stderr_text, "[redacted]\n");
  EXPECT_EQ(outcome.result.summary.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(outcome.status.message().find("s3cr3t"), std::string::npos);
}

TEST_F(ExecDriverTest, DryRunRunsNothing) {
  std::string marker = dir_.Join("marker");
  json params = {{"argv", {"touch", marker}}};
  StepOutcome outcome = Run(params, StepRole::kChange, /*dry_run=*/true);

  ASSERT_TRUE(outcome.status.ok());
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(outcome.result.summary.rfind("would run `touch ", 0), 0u) << outcome.result.summary;
  EXPECT_EQ(outcome.result.summary, driver_->Describe(Context(StepRole::kChange, true)));
}

TEST_F(ExecDriverTest, BackupStdoutStoresOutput) {
  StepOutcome outcome = Run(
      {{"argv", {"/bin/echo", "saved config"}}, {"backup_stdout", true}, {"origin", "app:config"}},
      StepRole::kBackup);

  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_EQ(outcome.result.backups.size(), 1u);
  const BackupRecord& record = outcome.result.backups[0];
  EXPECT_EQ(record.format, "exec-stdout");
  EXPECT_EQ(record.origin, "app:config");
  EXPECT_EQ(record.rollback_id, "rb-1");
  EXPECT_EQ(*store_.ReadChecked(record), "saved config\n");
}

TEST_F(ExecDriverTest, BackupOfTruncatedStdoutIsRefused) {
  StepOutcome outcome = Run({{"argv", {"head", "-c", "1000", "/dev/zero"}},
                             {"max_output_bytes", 10},
                             {"backup_stdout", true},
                             {"origin", "zeros"}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(outcome.result.backups.empty());
}

TEST_F(ExecDriverTest, InvalidParameterIsRejected) {
  StepOutcome outcome = Run({{"argv", {"true"}}, {"max_output_bytes", "lots"}});
  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("max_output_bytes"), std::string::npos);
}

TEST_F(ExecDriverTest, UnknownActionIsRejected) {
  params_ = {{"argv", {"true"}}};
  StepContext context = Context(StepRole::kChange, false);
  context.action = "execute";

  StepOutcome outcome = driver_->Run(context);

  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("use run"), std::string::npos);
}

}  // namespace
}  // namespace rollbook::commands
