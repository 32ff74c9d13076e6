// Drivers that only declare actions, for runbook tests: the same names, parameters and defaults
// as the built-in drivers, and no behaviour. Runbook parsing reads nothing but ActionSpecs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "commands/driver.h"

namespace rollbook::commands::runbook_fakes {

class FakeDriver : public Driver {
 public:
  FakeDriver(std::string name, std::vector<ActionSpec> actions)
      : name_(std::move(name)), actions_(std::move(actions)) {}

  std::string_view name() const override { return name_; }
  const std::vector<ActionSpec>& actions() const override { return actions_; }
  std::string Describe(const StepContext&) const override { return "fake " + name_; }
  StepOutcome Run(const StepContext&) override { return {}; }

 private:
  std::string name_;
  std::vector<ActionSpec> actions_;
};

inline ParamSpec Required(std::string name, ParamType type = ParamType::kString) {
  return ParamSpec{std::move(name), type, true, ""};
}
inline ParamSpec Optional(std::string name, ParamType type = ParamType::kString) {
  return ParamSpec{std::move(name), type, false, ""};
}

// Returns a registry whose drivers mirror the built-in drivers' ActionSpecs.
inline std::unique_ptr<DriverRegistry> MakeFakeRegistry() {
  auto registry = std::make_unique<DriverRegistry>();
  using T = ParamType;
  const StepRole kBackup = StepRole::kBackup;
  const StepRole kChange = StepRole::kChange;
  const StepRole kVerify = StepRole::kVerify;

  registry->Add(std::make_unique<FakeDriver>(
      "exec", std::vector<ActionSpec>{
                  {"run",
                   kChange,
                   true,
                   false,
                   {Optional("argv", T::kStringList), Optional("command"),
                    Optional("shell", T::kBoolean), Optional("env", T::kStringMap), Optional("cwd"),
                    Optional("max_output_bytes", T::kInteger), Optional("expect_exit", T::kInteger),
                    Optional("stdout_equals"), Optional("stdout_contains"),
                    Optional("backup_stdout", T::kBoolean), Optional("origin")},
                   ""}}));

  ParamSpec file = Required("file");
  ParamSpec flags = Required("flags", T::kStringList);
  ParamSpec off_variant = Optional("off_variant");
  ParamSpec method = Optional("method");
  registry->Add(std::make_unique<FakeDriver>(
      "flagd", std::vector<ActionSpec>{
                   {"backup", kBackup, false, true, {file}, ""},
                   {"disable", kChange, true, true, {file, flags, off_variant, method}, ""},
                   {"verify", kVerify, false, true, {file, flags, off_variant, method}, ""},
                   {"restore", kChange, true, true, {file, Optional("backup_id")}, ""}}));

  ParamSpec dsn = Required("dsn");
  ParamSpec bin_dir = Optional("pg_bin_dir");
  registry->Add(std::make_unique<FakeDriver>(
      "postgres", std::vector<ActionSpec>{
                      {"backup", kBackup, false, true, {dsn, bin_dir}, ""},
                      {"sql", kChange, true, false, {dsn, Required("file")}, ""},
                      {"verify",
                       kVerify,
                       false,
                       true,
                       {dsn, Required("query"), Optional("expected", T::kAny),
                        Optional("expected_rows", T::kInteger)},
                       ""},
                      {"restore", kChange, true, true, {dsn, bin_dir, Optional("backup_id")}, ""},
                      {"point-in-time", kChange, true, true, {dsn, bin_dir}, ""}}));

  auto redis = [](std::vector<ParamSpec> extra) {
    std::vector<ParamSpec> params = {Optional("host"),
                                     Optional("port", ParamType::kInteger),
                                     Optional("username"),
                                     Optional("password"),
                                     Optional("db", ParamType::kInteger),
                                     Optional("batch_size", ParamType::kInteger),
                                     Optional("patterns", ParamType::kStringList)};
    params.insert(params.end(), extra.begin(), extra.end());
    return params;
  };
  registry->Add(std::make_unique<FakeDriver>(
      "redis",
      std::vector<ActionSpec>{
          {"backup", kBackup, false, true, redis({}), ""},
          {"purge", kChange, true, true, redis({Optional("flushall", T::kBoolean)}), ""},
          {"verify", kVerify, false, true, redis({Optional("expected_count", T::kInteger)}), ""},
          {"restore", kChange, true, true, redis({Optional("backup_id")}), ""}}));

  registry->Add(std::make_unique<FakeDriver>(
      "http", std::vector<ActionSpec>{
                  {"request",
                   kChange,
                   true,
                   false,
                   {Required("url"), Optional("method"), Optional("headers", T::kStringMap),
                    Optional("body", T::kAny), Optional("expect_status", T::kAny),
                    Optional("timeout_ms", T::kInteger), Optional("max_body_bytes", T::kInteger),
                    Optional("expect_body_contains"),
                    Optional("save_response_as_backup", T::kBoolean), Optional("origin")},
                   ""}}));

  registry->Add(std::make_unique<FakeDriver>(
      "rotate-key",
      std::vector<ActionSpec>{
          {"rotate",
           kChange,
           true,
           false,
           {Optional("file"), Optional("url"), Optional("key_bytes", T::kInteger),
            Optional("format"), Optional("prefix"), Optional("trailing_newline", T::kBoolean),
            Optional("method"), Optional("headers", T::kStringMap), Optional("body_template"),
            Optional("expect_status", T::kAny), Optional("timeout_ms", T::kInteger)},
           ""}}));

  registry->Add(std::make_unique<FakeDriver>(
      "notify", std::vector<ActionSpec>{{"send",
                                         StepRole::kOther,
                                         false,
                                         true,
                                         {Required("url"), Required("text"), Optional("kind"),
                                          Optional("blocks", T::kAny), Optional("channel"),
                                          Optional("required", T::kBoolean)},
                                         ""}}));
  return registry;
}

}  // namespace rollbook::commands::runbook_fakes
