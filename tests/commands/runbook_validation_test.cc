// ctest-labels: unit
// Validator errors: each problem is reported with its line, column and a fix, and all problems of
// a file are reported together.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "commands/runbook.h"
#include "tests/commands/runbook_fake_drivers.h"

namespace rollbook::commands {
namespace {

using ::testing::HasSubstr;

class RunbookValidationTest : public ::testing::Test {
 protected:
  // A valid runbook; tests change lines by their 1-based number and check what is reported.
  std::vector<std::string> lines_ = {
      /* 1 */ "feature: search",
      /* 2 */ "environments:",
      /* 3 */ "  prod:",
      /* 4 */ "    vars: {flag_file: /etc/flags.json, dsn: \"host=db password=${env:PGPASSWORD}\"}",
      /* 5 */ "components:",
      /* 6 */ "  feature-flags:",
      /* 7 */ "    steps:",
      /* 8 */ "      - {name: backup-flags, driver: flagd, action: backup, params: {file: x}}",
      /* 9 */
      "      - {name: disable-flags, driver: flagd, action: disable, params: {file: x, "
      "flags: [ai-*]}}",
      /* 10 */
      "      - {name: verify-flags, driver: flagd, action: verify, params: {file: x, "
      "flags: [ai-*]}}",
  };

  void SetLine(int number, std::string text) { lines_.at(number - 1) = std::move(text); }
  void Append(std::vector<std::string> more) {
    lines_.insert(lines_.end(), more.begin(), more.end());
  }
  // Returns the 1-based column where `needle` starts on line `number`.
  int ColumnOf(int number, std::string_view needle) {
    size_t position = lines_.at(number - 1).find(needle);
    EXPECT_NE(position, std::string::npos) << "\"" << needle << "\" is not on line " << number;
    return static_cast<int>(position) + 1;
  }

  void Check() {
    std::string text;
    for (const std::string& line : lines_) text += line + "\n";
    result_.emplace(ParseRunbook(text, "book.yaml", *registry_, &problems_));
  }

  const RunbookProblem& OnlyProblem() {
    EXPECT_EQ(problems_.size(), 1u) << Listing();
    if (problems_.empty()) problems_.push_back({});
    return problems_[0];
  }
  const RunbookProblem& ProblemWith(std::string_view text) {
    for (const RunbookProblem& problem : problems_) {
      if (problem.message.find(text) != std::string::npos) return problem;
    }
    ADD_FAILURE() << "no problem mentions \"" << text << "\"; got:\n" << Listing();
    problems_.push_back({});
    return problems_.back();
  }
  void ExpectAt(const RunbookProblem& problem, int line, std::string_view needle) {
    EXPECT_EQ(problem.location.line, line) << problem.ToString();
    EXPECT_EQ(problem.location.column, ColumnOf(line, needle)) << problem.ToString();
  }
  std::string Listing() const {
    std::string listing;
    for (const RunbookProblem& problem : problems_) listing += problem.ToString() + "\n";
    return listing;
  }

  std::unique_ptr<DriverRegistry> registry_ = runbook_fakes::MakeFakeRegistry();
  std::optional<Result<Runbook>> result_;
  std::vector<RunbookProblem> problems_;
};

TEST_F(RunbookValidationTest, BaseRunbookIsValid) {
  Check();

  EXPECT_TRUE(result_->ok()) << result_->status().ToString();
  EXPECT_TRUE(problems_.empty()) << Listing();
}

TEST_F(RunbookValidationTest, YamlSyntaxErrorHasPosition) {
  SetLine(9, "      - {name: disable-flags, driver: flagd, action: [disable");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  EXPECT_THAT(problem.message, HasSubstr("YAML syntax error"));
  EXPECT_EQ(problem.location.file, "book.yaml");
  EXPECT_GE(problem.location.line, 9);
  EXPECT_GT(problem.location.column, 0);
  EXPECT_FALSE(result_->ok());
}

TEST_F(RunbookValidationTest, StatusListsEveryProblemOnItsOwnLine) {
  SetLine(8, "      - {name: backup-flags, driver: flagdd, action: backup, params: {file: x}}");
  SetLine(10, "      - {name: verify-flags, driver: flagd, action: verify, params: {file: x}}");

  Check();

  ASSERT_FALSE(result_->ok());
  EXPECT_EQ(result_->status().code(), StatusCode::kInvalidArgument);
  const std::string& message = result_->status().message();
  EXPECT_THAT(message, HasSubstr("book.yaml is invalid (2 problems):"));
  EXPECT_THAT(message, HasSubstr("\nbook.yaml:8:" + std::to_string(ColumnOf(8, "flagdd")) +
                                 ": unknown driver \"flagdd\" (did you mean \"flagd\"?"));
  EXPECT_THAT(message, HasSubstr("\nbook.yaml:10:"));
}

TEST_F(RunbookValidationTest, InvalidUtf8HasPosition) {
  SetLine(4, "    vars: {flag_file: /etc/fl\xe4gs.json}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  EXPECT_EQ(problem.location.line, 4);
  EXPECT_EQ(problem.location.column, ColumnOf(4, "\xe4"));
  EXPECT_THAT(problem.message, HasSubstr("not valid UTF-8"));
}

TEST_F(RunbookValidationTest, Utf8EdgeCases) {
  struct Case {
    const char* text;
    bool valid;
  };
  for (const Case& c :
       {Case{"caf\xc3\xa9", true}, Case{"\xe2\x82\xac", true}, Case{"\xf0\x9f\x98\x80", true},
        Case{"\xc0\xaf", false}, Case{"\xed\xa0\x80", false}, Case{"\xf4\x90\x80\x80", false},
        Case{"\xe2\x82", false}, Case{"\x80", false}}) {
    lines_.resize(10);
    Append({std::string("description: ") + c.text});
    problems_.clear();

    Check();

    EXPECT_EQ(problems_.empty(), c.valid) << Listing();
  }
}

TEST_F(RunbookValidationTest, UnknownTopLevelKeySuggestsClosest) {
  Append({"scopse: {}"});

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 11, "scopse");
  EXPECT_THAT(problem.message, HasSubstr("unknown key \"scopse\" in the runbook"));
  EXPECT_THAT(problem.fix, HasSubstr("did you mean \"scopes\""));
}

TEST_F(RunbookValidationTest, MissingTopLevelKeysAreEachReported) {
  lines_ = {"description: nothing else"};

  Check();

  EXPECT_EQ(problems_.size(), 3u) << Listing();
  for (const char* key : {"feature", "environments", "components"}) {
    const RunbookProblem& problem = ProblemWith(std::string("missing the key \"") + key);
    EXPECT_EQ(problem.location.line, 1);
    EXPECT_EQ(problem.location.column, 1);
  }
}

TEST_F(RunbookValidationTest, EmptyFileIsReported) {
  lines_ = {""};

  Check();

  EXPECT_THAT(OnlyProblem().message, HasSubstr("the runbook is empty"));
}

TEST_F(RunbookValidationTest, UnknownStepKeySuggestsClosest) {
  SetLine(8,
          "      - {name: backup-flags, driver: flagd, action: backup, timout: 5s, "
          "params: {file: x}}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 8, "timout");
  EXPECT_THAT(problem.message, HasSubstr("unknown key \"timout\" in step"));
  EXPECT_THAT(problem.fix, HasSubstr("did you mean \"timeout\""));
}

TEST_F(RunbookValidationTest, MissingStepNameIsReported) {
  SetLine(8, "      - {driver: flagd, action: backup, params: {file: x}}");

  Check();

  const RunbookProblem& problem = ProblemWith("missing the key \"name\"");
  ExpectAt(problem, 8, "{driver");
}

TEST_F(RunbookValidationTest, UnknownDriverListsKnownDrivers) {
  SetLine(8, "      - {name: backup-flags, driver: launchdarkly, action: backup}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 8, "launchdarkly");
  EXPECT_THAT(problem.message, HasSubstr("unknown driver \"launchdarkly\""));
  EXPECT_THAT(problem.fix,
              HasSubstr("Known drivers: exec, flagd, http, notify, postgres, redis, rotate-key"));
}

TEST_F(RunbookValidationTest, UnknownActionListsDriverActions) {
  SetLine(9, "      - {name: disable-flags, driver: flagd, action: turn-off, params: {file: x}}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 9, "turn-off");
  EXPECT_THAT(problem.message, HasSubstr("unknown action \"turn-off\" for driver \"flagd\""));
  EXPECT_THAT(problem.fix, HasSubstr("Known actions: backup, disable, verify, restore"));
}

TEST_F(RunbookValidationTest, MissingActionIsReportedForMultiActionDriver) {
  SetLine(9, "      - {name: disable-flags, driver: flagd, params: {file: x}}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 9, "{name");
  EXPECT_THAT(problem.message, HasSubstr("has no action"));
  EXPECT_THAT(problem.fix, HasSubstr("backup, disable, verify, restore"));
}

TEST_F(RunbookValidationTest, UnknownParameterListsAcceptedOnes) {
  SetLine(9,
          "      - {name: disable-flags, driver: flagd, action: disable, params: {file: x, "
          "flag: [ai-*]}}");

  Check();

  const RunbookProblem& unknown = ProblemWith("unknown parameter \"flag\"");
  ExpectAt(unknown, 9, "flag:");
  EXPECT_THAT(unknown.message, HasSubstr("flagd disable (step \"disable-flags\")"));
  EXPECT_THAT(unknown.fix, HasSubstr("did you mean \"flags\""));
  EXPECT_THAT(unknown.fix, HasSubstr("file, flags, off_variant, method"));
}

TEST_F(RunbookValidationTest, MissingRequiredParameterIsReported) {
  SetLine(9, "      - {name: disable-flags, driver: flagd, action: disable, params: {file: x}}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 9, "{file");
  EXPECT_THAT(problem.message, HasSubstr("missing required parameter \"flags\""));
}

TEST_F(RunbookValidationTest, MissingParamsReportsAtStep) {
  SetLine(8, "      - {name: backup-flags, driver: flagd, action: backup}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 8, "{name");
  EXPECT_THAT(problem.message, HasSubstr("missing required parameter \"file\""));
}

TEST_F(RunbookValidationTest, WrongParameterTypesAreReported) {
  SetLine(8, "      - {name: backup-flags, driver: flagd, action: backup, params: {file: [a, b]}}");
  Append(
      {"  cache:", "    steps:",
       "      - {name: backup-cache, driver: redis, action: backup, params: {patterns: [a]}}",
       "      - {name: purge-cache, driver: redis, action: purge, params: {patterns: [a], "
       "batch_size: lots}}",
       "      - {name: verify-cache, driver: redis, action: verify, params: {patterns: {a: b}}}"});

  Check();

  EXPECT_EQ(problems_.size(), 3u) << Listing();
  ExpectAt(ProblemWith("\"file\" of flagd backup"), 8, "[a, b]");
  EXPECT_THAT(ProblemWith("\"file\" of flagd backup").message,
              HasSubstr("must be a string, not a list"));
  ExpectAt(ProblemWith("\"batch_size\""), 14, "lots");
  EXPECT_THAT(ProblemWith("\"batch_size\"").message, HasSubstr("must be an integer, not \"lots\""));
  ExpectAt(ProblemWith("\"patterns\" of redis verify"), 15, "{a: b}");
}

TEST_F(RunbookValidationTest, IntegerParameterRejectsSecretReference) {
  Append({"  cache:", "    steps:",
          "      - {name: backup-cache, driver: redis, action: backup, params: {patterns: [a], "
          "port: \"${env:REDIS_PORT}\"}}",
          "      - {name: verify-cache, driver: redis, action: verify, params: {patterns: [a]}}"});

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 13, "\"${env:REDIS_PORT}\"");
  EXPECT_THAT(problem.message, HasSubstr("cannot take a secret reference"));
}

TEST_F(RunbookValidationTest, UndefinedVariableNamesEnvironments) {
  SetLine(3, "  prod: {vars: {flag_file: /etc/flags.json}}");
  SetLine(4, "  demo: {vars: {}}");
  SetLine(8,
          "      - {name: backup-flags, driver: flagd, action: backup, params: {file: "
          "\"${vars.flag_file}\"}}");
  SetLine(9,
          "      - {name: disable-flags, driver: flagd, action: disable, params: {file: "
          "\"${vars.flags_file}\", flags: [ai-*]}}");

  Check();

  EXPECT_EQ(problems_.size(), 2u) << Listing();
  const RunbookProblem& in_demo = ProblemWith("\"flag_file\"");
  ExpectAt(in_demo, 8, "\"${vars.flag_file}\"");
  EXPECT_THAT(in_demo.message, HasSubstr("not defined in environment \"demo\""));
  EXPECT_THAT(in_demo.fix, HasSubstr("environments.demo.vars"));
  const RunbookProblem& in_both = ProblemWith("\"flags_file\"");
  ExpectAt(in_both, 9, "\"${vars.flags_file}\"");
  EXPECT_THAT(in_both.message, HasSubstr("not defined in environments demo, prod"));
}

TEST_F(RunbookValidationTest, MalformedReferenceIsReported) {
  SetLine(8,
          "      - {name: backup-flags, driver: flagd, action: backup, params: {file: "
          "\"${vars.flag_file\"}}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 8, "\"${vars.flag_file\"");
  EXPECT_THAT(problem.message, HasSubstr("unterminated reference"));
}

TEST_F(RunbookValidationTest, VariableReferringToUnknownVariable) {
  SetLine(4, "    vars: {flag_file: \"${vars.root}/flags.json\"}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 4, "\"${vars.root}");
  EXPECT_THAT(problem.message, HasSubstr("refers to \"root\""));
}

TEST_F(RunbookValidationTest, VariableCycleIsReported) {
  SetLine(4, "    vars: {a: \"${vars.b}\", b: \"x${vars.a}\"}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 3, "prod");
  EXPECT_THAT(problem.message, HasSubstr("cycle: a -> b -> a"));
}

TEST_F(RunbookValidationTest, BadDurationsAreReported) {
  SetLine(8,
          "      - {name: backup-flags, driver: flagd, action: backup, timeout: 1.5s, "
          "params: {file: x}}");
  SetLine(6, "  feature-flags: {budget: 10 minutes,");
  SetLine(7, "    steps: [");
  SetLine(8,
          "      {name: backup-flags, driver: flagd, action: backup, timeout: 1.5s, "
          "params: {file: x}},");
  SetLine(9,
          "      {name: disable-flags, driver: flagd, action: disable, backoff: 0s, "
          "retries: 101, params: {file: x, flags: [ai-*]}},");
  SetLine(10,
          "      {name: verify-flags, driver: flagd, action: verify, timeout: 0, "
          "params: {file: x, flags: [ai-*]}}]}");

  Check();

  EXPECT_EQ(problems_.size(), 4u) << Listing();
  ExpectAt(ProblemWith("budget is an invalid duration \"10 minutes\""), 6, "10 minutes");
  ExpectAt(ProblemWith("timeout is an invalid duration \"1.5s\""), 8, "1.5s");
  ExpectAt(ProblemWith("retries must be a whole number from 0 to 100"), 9, "101");
  ExpectAt(ProblemWith("timeout must be longer than 0"), 10, "0,");
}

TEST_F(RunbookValidationTest, UnknownComponentInAfterAndScope) {
  Append({"  database:", "    after: [aplication]", "    steps:",
          "      - {name: backup-db, driver: postgres, action: backup, params: {dsn: x}}",
          "      - {name: verify-db, driver: postgres, action: verify, params: {dsn: x, query: q}}",
          "scopes:", "  data: [database, feature-flag]"});

  Check();

  EXPECT_EQ(problems_.size(), 2u) << Listing();
  const RunbookProblem& after = ProblemWith("runs after \"aplication\"");
  ExpectAt(after, 12, "aplication");
  EXPECT_THAT(after.fix, HasSubstr("Known components: feature-flags, database"));
  const RunbookProblem& scope = ProblemWith("scope \"data\" names \"feature-flag\"");
  ExpectAt(scope, 17, "feature-flag]");
  EXPECT_THAT(scope.fix, HasSubstr("did you mean \"feature-flags\""));
}

TEST_F(RunbookValidationTest, AfterCycleIsNamed) {
  SetLine(6, "  feature-flags:");
  SetLine(7, "    after: [database]");
  SetLine(8, "    steps:");
  SetLine(9, "      - {name: backup-flags, driver: flagd, action: backup, params: {file: x}}");
  SetLine(10,
          "      - {name: verify-flags, driver: flagd, action: verify, params: {file: x, "
          "flags: [a]}}");
  Append({"  database:", "    after: [application]", "    steps:",
          "      - {name: backup-db, driver: postgres, action: backup, params: {dsn: x}}",
          "      - {name: verify-db, driver: postgres, action: verify, params: {dsn: x, query: q}}",
          "  application:", "    after: [feature-flags]", "    steps:",
          "      - {name: check-app, driver: exec, role: verify, params: {argv: [true]}}"});

  Check();

  const RunbookProblem& problem = OnlyProblem();
  EXPECT_THAT(problem.message,
              HasSubstr("cycle in after: feature-flags -> database -> application -> "
                        "feature-flags"));
  ExpectAt(problem, 17, "feature-flags]");
}

TEST_F(RunbookValidationTest, SelfDependencyIsACycle) {
  SetLine(6, "  feature-flags:");
  SetLine(7, "    after: feature-flags");
  SetLine(8, "    steps:");
  SetLine(9, "      - {name: backup-flags, driver: flagd, action: backup, params: {file: x}}");
  SetLine(10,
          "      - {name: verify-flags, driver: flagd, action: verify, params: {file: x, "
          "flags: [a]}}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  EXPECT_THAT(problem.message, HasSubstr("cycle in after: feature-flags -> feature-flags"));
  ExpectAt(problem, 7, "feature-flags");
}

TEST_F(RunbookValidationTest, MutatingStepNeedsEarlierBackup) {
  SetLine(8,
          "      - {name: disable-flags, driver: flagd, action: disable, params: {file: x, "
          "flags: [ai-*]}}");
  SetLine(9, "      - {name: backup-flags, driver: flagd, action: backup, params: {file: x}}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 8, "{name: disable-flags");
  EXPECT_THAT(problem.message, HasSubstr("step \"disable-flags\" of component \"feature-flags\" "
                                         "changes state, but no earlier step takes a backup"));
  EXPECT_THAT(problem.fix, HasSubstr("role: backup"));
}

TEST_F(RunbookValidationTest, ExecStepMarkedBackupCountsAsBackup) {
  Append({"  application:", "    steps:",
          "      - {name: save-link, driver: exec, role: backup, mutates: false, "
          "params: {argv: [readlink, current], backup_stdout: true}}",
          "      - {name: switch-link, driver: exec, params: {argv: [ln, -sfn, a, b]}}",
          "      - {name: check-health, driver: exec, role: verify, mutates: false, "
          "params: {argv: [test, -f, health]}}"});

  Check();

  EXPECT_TRUE(problems_.empty()) << Listing();
}

TEST_F(RunbookValidationTest, EachModeNeedsItsOwnBackup) {
  Append({"  database:", "    default_mode: safe", "    modes:", "      safe:",
          "        - {name: backup-db, driver: postgres, action: backup, params: {dsn: x}}",
          "        - {name: down, driver: postgres, action: sql, params: {dsn: x, file: d.sql}}",
          "        - {name: verify-db, driver: postgres, action: verify, params: {dsn: x, "
          "query: q}}",
          "      data-only:",
          "        - {name: purge, driver: postgres, action: sql, params: {dsn: x, file: p.sql}}",
          "        - {name: verify-db, driver: postgres, action: verify, params: {dsn: x, "
          "query: q}}"});

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 19, "{name: purge");
  EXPECT_THAT(problem.message, HasSubstr("of component \"database\" mode \"data-only\""));
}

TEST_F(RunbookValidationTest, ListMustEndWithVerify) {
  SetLine(10, "      - {name: verify-flags, driver: flagd, action: restore, params: {file: x}}");

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 10, "{name: verify-flags");
  EXPECT_THAT(problem.message,
              HasSubstr("the last step of component \"feature-flags\", \"verify-flags\", does "
                        "not verify (its role is change)"));
}

TEST_F(RunbookValidationTest, DuplicateNamesAreReported) {
  SetLine(9,
          "      - {name: backup-flags, driver: flagd, action: disable, params: {file: x, "
          "flags: [ai-*]}}");
  Append({"  feature-flags:", "    steps:",
          "      - {name: other, driver: flagd, action: verify, params: {file: x, flags: [a]}}",
          "  cache:", "    steps:",
          "      - {name: verify-flags, driver: redis, action: verify, params: {patterns: [a]}}",
          "scopes:", "  quick: [cache]", "  quick: [feature-flags]"});

  Check();

  EXPECT_EQ(problems_.size(), 4u) << Listing();
  ExpectAt(ProblemWith("duplicate step name \"backup-flags\""), 9, "{name: backup-flags");
  ExpectAt(ProblemWith("duplicate key \"feature-flags\" in components"), 11, "feature-flags");
  const RunbookProblem& reused = ProblemWith("step name \"verify-flags\" is already used");
  ExpectAt(reused, 16, "{name: verify-flags");
  EXPECT_THAT(reused.message, HasSubstr("in component \"feature-flags\""));
  ExpectAt(ProblemWith("duplicate key \"quick\" in scopes"), 19, "quick");
}

TEST_F(RunbookValidationTest, ModesMayRepeatStepNames) {
  Append({"  database:", "    default_mode: safe", "    modes:", "      safe:",
          "        - {name: backup-db, driver: postgres, action: backup, params: {dsn: x}}",
          "        - {name: verify-db, driver: postgres, action: verify, params: {dsn: x, "
          "query: q}}",
          "      schema-only:",
          "        - {name: backup-db, driver: postgres, action: backup, params: {dsn: x}}",
          "        - {name: verify-db, driver: postgres, action: verify, params: {dsn: x, "
          "query: q}}"});

  Check();

  EXPECT_TRUE(problems_.empty()) << Listing();
}

TEST_F(RunbookValidationTest, IdempotentMayNarrowButNotWiden) {
  SetLine(8,
          "      - {name: backup-flags, driver: flagd, action: backup, idempotent: false, "
          "params: {file: x}}");
  Append({"  database:", "    steps:",
          "      - {name: backup-db, driver: postgres, action: backup, params: {dsn: x}}",
          "      - {name: down, driver: postgres, action: sql, idempotent: true, "
          "params: {dsn: x, file: d.sql}}",
          "      - {name: verify-db, driver: postgres, action: verify, params: {dsn: x, "
          "query: q}}"});

  Check();

  const RunbookProblem& problem = OnlyProblem();
  ExpectAt(problem, 14, "true,");
  EXPECT_THAT(problem.message, HasSubstr("declares idempotent: true, but postgres sql is not "
                                         "idempotent"));
}

TEST_F(RunbookValidationTest, ComponentWithModesNeedsDefault) {
  Append(
      {"  database:", "    modes:", "      safe:",
       "        - {name: backup-db, driver: postgres, action: backup, params: {dsn: x}}",
       "        - {name: verify-db, driver: postgres, action: verify, params: {dsn: x, "
       "query: q}}",
       "  cache:", "    default_mode: fast", "    modes:", "      slow:",
       "        - {name: verify-cache, driver: redis, action: verify, params: {patterns: [a]}}"});

  Check();

  EXPECT_EQ(problems_.size(), 2u) << Listing();
  ExpectAt(ProblemWith("has modes but no default_mode"), 11, "database");
  const RunbookProblem& unknown = ProblemWith("default_mode \"fast\"");
  ExpectAt(unknown, 17, "fast");
  EXPECT_THAT(unknown.fix, HasSubstr("Known modes: slow"));
}

TEST_F(RunbookValidationTest, NotificationFieldsAreChecked) {
  Append({"notifications:",
          "  - {name: incident, kind: slak, url: \"${env:SLACK_WEBHOOK_URL}\", on: [start, done]}",
          "  - {name: incident, kind: webhook}"});

  Check();

  EXPECT_EQ(problems_.size(), 4u) << Listing();
  ExpectAt(ProblemWith("unknown notification kind \"slak\""), 12, "slak");
  ExpectAt(ProblemWith("unknown notification event \"done\""), 12, "done");
  ExpectAt(ProblemWith("duplicate notification name"), 13, "incident");
  ExpectAt(ProblemWith("missing the key \"url\""), 13, "{name");
}

TEST_F(RunbookValidationTest, EverythingIsReportedAtOnce) {
  SetLine(1, "feature: search now");
  SetLine(8,
          "      - {name: backup-flags, driver: flagd, action: backup, params: {file: x, "
          "mode: 0600}}");
  SetLine(9, "      - {name: disable-flags, driver: flagd, action: disabel, params: {file: x}}");
  Append({"scopes: {all: [nothing]}"});

  Check();

  EXPECT_EQ(problems_.size(), 4u) << Listing();
  std::vector<int> lines;
  for (const RunbookProblem& problem : problems_) lines.push_back(problem.location.line);
  EXPECT_EQ(lines, (std::vector<int>{1, 8, 9, 11}));
}

}  // namespace
}  // namespace rollbook::commands
