// The analysis subcommands: analyze, report, comms, action, monitor and drill.
//
// Reading commands open the ledger read-only, so they work while another process owns it.
// `action` and `monitor` append events themselves and need the ledger for writing: when
// another process owns it they fail with the owner's pid and leave the ledger unchanged.
#include "tools/cli/analysis_commands.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "analyzer/action_items.h"
#include "analyzer/analysis_output.h"
#include "analyzer/comms.h"
#include "analyzer/drills.h"
#include "analyzer/format.h"
#include "analyzer/monitor.h"
#include "analyzer/report.h"
#include "commands/runbook.h"
#include "ledger/payload.h"
#include "ledger/time_format.h"
#include "tools/cli/background_monitors.h"
#include "tools/cli/cli.h"
#include "tools/cli/durable_files.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/ledger_access.h"
#include "tools/cli/rollback_commands.h"

namespace rollbook::cli {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::atomic<bool> monitor_interrupted{false};

void OnMonitorInterrupt(int) { monitor_interrupted = true; }

std::string Dump(const ordered_json& json) {
  return json.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

// Parses an RFC 3339 time, or a duration such as "7d" meaning that long from now.
Result<int64_t> ParseFutureTime(const std::string& text, const char* option) {
  auto timestamp = ledger::ParseTimestamp(text);
  if (timestamp.ok()) return *timestamp;
  auto duration = ledger::ParseDuration(text);
  if (duration.ok()) return ledger::NowNs() + *duration;
  return InvalidArgument(
      std::string(option) + " '" + text +
      "' is neither a time such as 2026-12-04T10:00:00Z nor a duration such as 7d");
}

// Writes `text` to `path` atomically, or to stdout when `path` is empty.
int WriteOutput(const std::string& path, const std::string& text) {
  if (path.empty()) {
    std::cout << text;
    return kExitOk;
  }
  Status written = WriteFileAtomically(path, /*replace=*/true, [&](std::ostream& out) {
    out << text;
    return out.good() ? Status::Ok() : IoError("failed to write " + path);
  });
  if (!written.ok()) return ReportFailure(written);
  return kExitOk;
}

Result<analyzer::Analysis> Analyze(const GlobalOptions& options, const std::string& rollback_id,
                                   const char* command) {
  auto ledger = OpenLedger(options, LedgerAccess::kReadOnly, command);
  if (!ledger.ok()) return ledger.status();
  return analyzer::AnalyzeRollback(**ledger, rollback_id);
}

// --- analyze, report, comms ----------------------------------------------------------------

struct AnalyzeArguments {
  std::string rollback_id;
  std::string type = "full";
};

int RunAnalyze(const GlobalOptions& options, const AnalyzeArguments& arguments) {
  auto section = analyzer::ParseAnalysisSection(arguments.type);
  if (!section.ok()) return ReportFailure(kExitUsage, section.status().message());
  auto analysis = Analyze(options, arguments.rollback_id, "analyze");
  if (!analysis.ok()) return ReportFailure(analysis.status());
  if (options.json) {
    std::cout << Dump(analyzer::AnalysisToJson(*analysis, *section));
  } else {
    std::cout << analyzer::AnalysisToText(*analysis, *section);
  }
  return kExitOk;
}

struct ReportArguments {
  std::string rollback_id;
  std::string format = "md";
  std::string output;
  std::string as_of;
};

int RunReport(const GlobalOptions& options, const ReportArguments& arguments) {
  auto format = analyzer::ParseReportFormat(arguments.format);
  if (!format.ok()) return ReportFailure(kExitUsage, format.status().message());
  analyzer::ReportOptions report_options{ledger::NowNs()};
  if (!arguments.as_of.empty()) {
    auto as_of = ledger::ParseTimestamp(arguments.as_of);
    if (!as_of.ok()) return ReportFailure(kExitUsage, "--as-of: " + as_of.status().message());
    report_options.as_of_ns = *as_of;
  }
  auto analysis = Analyze(options, arguments.rollback_id, "report");
  if (!analysis.ok()) return ReportFailure(analysis.status());
  return WriteOutput(arguments.output, analyzer::RenderReport(*analysis, *format, report_options));
}

struct CommsArguments {
  std::string rollback_id;
  std::string template_name;
  std::string templates_dir;
  std::string as_of;
  bool list = false;
  bool data = false;
};

int RunComms(const GlobalOptions& options, const CommsArguments& arguments) {
  analyzer::CommsOptions comms_options{arguments.templates_dir, ledger::NowNs()};
  if (!arguments.as_of.empty()) {
    auto as_of = ledger::ParseTimestamp(arguments.as_of);
    if (!as_of.ok()) return ReportFailure(kExitUsage, "--as-of: " + as_of.status().message());
    comms_options.as_of_ns = *as_of;
  }

  if (arguments.list) {
    auto names = analyzer::ListTemplates(comms_options);
    if (!names.ok()) return ReportFailure(names.status());
    for (const std::string& name : *names) std::cout << name << "\n";
    return kExitOk;
  }
  if (arguments.rollback_id.empty()) {
    return ReportFailure(
        kExitUsage, "name the rollback, such as `rollbook comms rb-3 --template internal-start`");
  }
  if (arguments.template_name.empty() && !arguments.data) {
    return ReportFailure(kExitUsage,
                         "--template is required; `rollbook comms --list` shows the templates");
  }

  auto analysis = Analyze(options, arguments.rollback_id, "comms");
  if (!analysis.ok()) return ReportFailure(analysis.status());
  if (arguments.data) {
    std::cout << analyzer::CommsDataJson(*analysis, comms_options);
    return kExitOk;
  }
  auto text = analyzer::RenderComms(*analysis, arguments.template_name, comms_options);
  if (!text.ok()) return ReportFailure(text.status());
  std::cout << *text;
  return kExitOk;
}

// --- action items ----------------------------------------------------------------------------

struct ActionArguments {
  std::string rollback_id;
  std::string text;
  std::string owner;
  std::string due;
  bool lesson = false;
  std::string action_id;
  std::string resolution;
  bool all = false;
};

// Returns the arguments of the action_add command for an item.
json ActionAddArguments(const analyzer::NewActionItem& item) {
  return {{"rollback_id", item.rollback_id},
          {"text", item.text},
          {"owner", item.owner},
          {"kind", item.kind},
          {"due_at_ns", item.due_at_ns}};
}

int RunActionAdd(GlobalOptions& options, const ActionArguments& arguments) {
  analyzer::NewActionItem item;
  item.rollback_id = arguments.rollback_id;
  item.text = arguments.text;
  item.owner = arguments.owner;
  item.kind = arguments.lesson ? "lesson" : "action";
  item.actor = options.actor;
  if (!arguments.due.empty()) {
    auto due = ParseFutureTime(arguments.due, "--due");
    if (!due.ok()) return ReportFailure(kExitUsage, due.status().message());
    item.due_at_ns = *due;
  }

  // With --server, or while another process owns the ledger, that process records the item.
  if (!options.server_url.empty()) {
    return RunOperatorCommand(options, "action_add", ActionAddArguments(item), false);
  }
  auto ledger = OpenLedger(options, LedgerAccess::kWrite, "action add");
  if (!ledger.ok() && ledger.status().code() == StatusCode::kBusy) {
    return RunOperatorCommand(options, "action_add", ActionAddArguments(item), false);
  }
  if (!ledger.ok()) return ReportFailure(ledger.status());
  auto id = analyzer::AddActionItem(**ledger, item);
  if (!id.ok()) return ReportFailure(id.status());
  if (options.json) {
    std::cout << ordered_json{{"action_id", *id}, {"rollback_id", item.rollback_id}}.dump() << "\n";
  } else {
    std::cout << "added " << item.kind << " " << *id << " to " << item.rollback_id << "\n";
  }
  return kExitOk;
}

int RunActionDone(GlobalOptions& options, const ActionArguments& arguments) {
  json args = {{"action_id", arguments.action_id}, {"resolution", arguments.resolution}};
  if (!options.server_url.empty()) return RunOperatorCommand(options, "action_done", args, false);
  auto ledger = OpenLedger(options, LedgerAccess::kWrite, "action done");
  if (!ledger.ok() && ledger.status().code() == StatusCode::kBusy) {
    return RunOperatorCommand(options, "action_done", args, false);
  }
  if (!ledger.ok()) return ReportFailure(ledger.status());
  Status resolved = analyzer::ResolveActionItem(**ledger, arguments.action_id, arguments.resolution,
                                                options.actor);
  if (!resolved.ok()) return ReportFailure(resolved);
  if (options.json) {
    std::cout << ordered_json{{"action_id", arguments.action_id}, {"resolved", true}}.dump()
              << "\n";
  } else {
    std::cout << "resolved " << arguments.action_id << "\n";
  }
  return kExitOk;
}

int RunActionList(const GlobalOptions& options, const ActionArguments& arguments) {
  auto ledger = OpenLedger(options, LedgerAccess::kReadOnly, "action list");
  if (!ledger.ok()) return ReportFailure(ledger.status());
  auto items = analyzer::ListActionItems(**ledger, arguments.rollback_id);
  if (!items.ok()) return ReportFailure(items.status());
  int64_t now = ledger::NowNs();
  ordered_json listed = ordered_json::array();
  size_t listed_count = 0;
  for (const analyzer::ActionItem& item : *items) {
    if (item.resolved && !arguments.all) continue;
    ++listed_count;
    bool overdue = !item.resolved && item.due_at_ns != 0 && item.due_at_ns < now;
    if (options.json) {
      ordered_json entry = analyzer::ActionItemToJson(item);
      entry["overdue"] = overdue;
      listed.push_back(std::move(entry));
      continue;
    }
    std::string due = item.due_at_ns == 0 ? "" : ", due " + analyzer::FormatTime(item.due_at_ns);
    std::string state = item.resolved ? "resolved" : (overdue ? "OVERDUE" : "open");
    std::cout << fmt::format("{:<6} {:<6} {:<7} {:<8} owner {}{}: {}\n", item.id, item.rollback_id,
                             item.kind, state, item.owner.empty() ? "-" : item.owner, due,
                             item.text);
  }
  if (options.json) {
    std::cout << listed.dump(-1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
  } else if (listed_count == 0) {
    std::cout << (arguments.all ? "no action items" : "no open action items") << "\n";
  }
  return kExitOk;
}

// --- monitor -----------------------------------------------------------------------------------

// Returns the runbook variables of the rollback's environment with `overrides` applied. A
// runbook that can no longer be read leaves only the overrides, and a probe that needs another
// variable then fails naming it.
std::map<std::string, std::string> RunbookVariables(
    const projections::RollbackState& rollback, const std::string& runbook_flag,
    const std::map<std::string, std::string>& overrides) {
  std::string path = runbook_flag.empty() ? rollback.runbook_path : runbook_flag;
  auto runbook = commands::LoadRunbook(path, commands::DriverRegistry::BuiltIn());
  if (!runbook.ok()) {
    spdlog::warn("cannot read the runbook {} for its variables: {}", path,
                 runbook.status().message());
    return overrides;
  }
  Status applied = commands::ApplyVariableOverrides(*runbook, rollback.environment, overrides);
  if (!applied.ok()) spdlog::warn("--set: {}", applied.message());
  auto environment = runbook->environments.find(rollback.environment);
  std::map<std::string, std::string> variables = environment == runbook->environments.end()
                                                     ? std::map<std::string, std::string>()
                                                     : environment->second;
  for (const auto& [name, value] : overrides) variables[name] = value;
  return variables;
}

int PrintMonitorSummary(const GlobalOptions& options, const analyzer::MonitorSummary& summary) {
  if (options.json) {
    std::cout << ordered_json{{"samples", summary.samples},
                              {"failed_samples", summary.failed_samples},
                              {"breaches", summary.breaches},
                              {"recoveries", summary.recoveries},
                              {"interrupted", summary.interrupted},
                              {"unrecovered", summary.unrecovered},
                              {"summary", summary.text}}
                     .dump()
              << "\n";
  } else {
    std::cout << (summary.interrupted ? "monitoring: " : "monitoring completed: ") << summary.text
              << "\n";
  }
  return summary.unrecovered.empty() ? kExitOk : kExitFailed;
}

analyzer::MonitorOptions InteractiveMonitorOptions(const GlobalOptions& options) {
  monitor_interrupted = false;
  std::signal(SIGINT, OnMonitorInterrupt);
  std::signal(SIGTERM, OnMonitorInterrupt);
  analyzer::MonitorOptions monitor_options;
  monitor_options.actor = options.actor;
  monitor_options.keep_running = [] { return !monitor_interrupted.load(); };
  if (!options.json) {
    monitor_options.progress = [](const std::string& line) { std::cout << line << std::endl; };
  }
  return monitor_options;
}

struct MonitorArguments {
  std::string rollback_id;
  std::string duration;
  std::string runbook;
  std::vector<std::string> assignments;
  bool no_notify = false;
};

// A rollback and its monitor: section, parsed with the variables it will run with.
struct PreparedMonitor {
  projections::RollbackState rollback;
  analyzer::MonitorSpec spec;
  std::map<std::string, std::string> variables;
};

// Reads `rollback_id` and parses its monitor: section with the environment's runbook variables
// (from `runbook`, else the path recorded with the rollback) and `overrides`.
Result<PreparedMonitor> PrepareMonitor(ledger::Ledger& ledger, const std::string& rollback_id,
                                       const std::string& runbook,
                                       const std::map<std::string, std::string>& overrides) {
  auto analysis = analyzer::AnalyzeRollback(ledger, rollback_id);
  if (!analysis.ok()) return analysis.status();
  PreparedMonitor prepared;
  prepared.rollback = analysis->rollback;
  if (prepared.rollback.Active()) {
    return FailedPrecondition(rollback_id +
                              " is still running; monitor it once it has completed (start "
                              "monitors by itself when the runbook has a monitor: section)");
  }
  if (prepared.rollback.monitor_json.empty()) {
    return InvalidArgument("rollback " + rollback_id +
                           " was started from a runbook without a monitor: section; add one (see "
                           "docs/rollback-procedures.md) and monitor the next rollback");
  }
  prepared.variables = RunbookVariables(prepared.rollback, runbook, overrides);
  auto spec = analyzer::ParseMonitorSpec(prepared.rollback.monitor_json, prepared.variables);
  if (!spec.ok()) return InvalidArgument(spec.status().message());
  prepared.spec = std::move(spec).value();
  return prepared;
}

int RunMonitorCommand(GlobalOptions& options, const MonitorArguments& arguments) {
  std::map<std::string, std::string> overrides;
  for (const std::string& assignment : arguments.assignments) {
    auto parsed = commands::ParseVariableAssignment(assignment);
    if (!parsed.ok())
      return ReportFailure(kExitUsage, "--set " + assignment + ": " + parsed.status().message());
    overrides[parsed->first] = parsed->second;
  }
  std::optional<uint64_t> duration_ms;
  if (!arguments.duration.empty()) {
    auto parsed = commands::ParseDurationMs(arguments.duration);
    if (!parsed.ok() || *parsed == 0) {
      return ReportFailure(kExitUsage,
                           "--for '" + arguments.duration + "' is not a duration such as 10m");
    }
    duration_ms = *parsed;
  }

  // With --server, or while another process owns the ledger, that process monitors.
  json routed = {
      {"rollback_id", arguments.rollback_id}, {"set", overrides}, {"notify", !arguments.no_notify}};
  if (!arguments.runbook.empty()) {
    routed["runbook"] = std::filesystem::absolute(arguments.runbook).string();
  }
  if (duration_ms) routed["duration_ms"] = *duration_ms;
  if (!options.server_url.empty()) return RunOperatorCommand(options, "monitor", routed, false);
  auto ledger = OpenLedger(options, LedgerAccess::kWrite, "monitor");
  if (!ledger.ok() && ledger.status().code() == StatusCode::kBusy) {
    return RunOperatorCommand(options, "monitor", routed, false);
  }
  if (!ledger.ok()) return ReportFailure(ledger.status());
  auto prepared = PrepareMonitor(**ledger, arguments.rollback_id, arguments.runbook, overrides);
  if (!prepared.ok()) return ReportFailure(prepared.status());

  analyzer::MonitorOptions monitor_options = InteractiveMonitorOptions(options);
  monitor_options.duration_ms = duration_ms;
  monitor_options.notify = !arguments.no_notify;
  monitor_options.variables = prepared->variables;
  if (!options.json) {
    std::cout << "monitoring " << prepared->rollback.id << " for "
              << analyzer::FormatMs(
                     static_cast<int64_t>(duration_ms.value_or(prepared->spec.duration_ms)))
              << " with " << prepared->spec.probes.size() << " probe(s); press Ctrl-C to stop"
              << std::endl;
  }
  auto summary =
      analyzer::RunMonitor(**ledger, prepared->rollback, prepared->spec, monitor_options);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!summary.ok()) return ReportFailure(summary.status());
  return PrintMonitorSummary(options, *summary);
}

// --- drill -------------------------------------------------------------------------------------

struct DrillArguments {
  std::string scope;
  std::string component;
  std::string environment;
  std::string runbook;
  std::string reason;
  std::vector<std::string> assignments;
  bool dry_run = false;
  bool history = false;
};

int RunDrillHistory(const GlobalOptions& options) {
  auto ledger = OpenLedger(options, LedgerAccess::kReadOnly, "drill");
  if (!ledger.ok()) return ReportFailure(ledger.status());
  auto drills = analyzer::ListDrills(**ledger);
  if (!drills.ok()) return ReportFailure(drills.status());
  auto groups = analyzer::SummarizeDrills(*drills);
  if (options.json) {
    std::cout << Dump(analyzer::DrillHistoryJson(groups));
  } else {
    std::cout << analyzer::DrillHistoryText(groups);
  }
  return kExitOk;
}

// A component drill runs the scope named after the component. The runbook predefines such a
// scope only for the standard component names, so other components need one in `scopes:`.
Result<std::string> DrillScope(const DrillArguments& arguments) {
  if (arguments.component.empty())
    return arguments.scope.empty() ? std::string("full") : arguments.scope;
  if (!arguments.scope.empty()) return InvalidArgument("give --scope or --component, not both");
  auto runbook = commands::LoadRunbook(commands::ResolveRunbookPath(arguments.runbook),
                                       commands::DriverRegistry::BuiltIn());
  if (!runbook.ok()) return runbook.status();
  bool exists =
      std::any_of(runbook->components.begin(), runbook->components.end(),
                  [&](const commands::ComponentSpec& c) { return c.name == arguments.component; });
  if (!exists)
    return NotFound("the runbook " + runbook->path + " has no component " + arguments.component);
  auto scope = runbook->scopes.find(arguments.component);
  if (scope == runbook->scopes.end()) {
    return InvalidArgument("the runbook " + runbook->path + " has no scope named " +
                           arguments.component + "; add `" + arguments.component +
                           ": {components: [" + arguments.component +
                           "]}` under scopes: to drill the component alone");
  }
  return arguments.component;
}

// Finds the result of the drill this process started, the newest drillCompleted event after
// `after_position`, and prints how its time to roll back compares with the budget.
int ReportDrillResult(const GlobalOptions& options, uint64_t after_position, int run_status) {
  auto ledger = OpenLedger(options, LedgerAccess::kReadOnly, "drill");
  if (!ledger.ok()) return run_status;
  auto drills = analyzer::ListDrills(**ledger);
  if (!drills.ok()) return ReportFailure(drills.status());
  const analyzer::DrillResult* mine = nullptr;
  for (const analyzer::DrillResult& drill : *drills) {
    if (drill.position > after_position) mine = &drill;
  }
  if (mine == nullptr) {
    std::cerr << "rollbook: the drill did not record a result; see `rollbook status`\n";
    return run_status == kExitOk ? kExitFailed : run_status;
  }
  if (options.json) {
    std::cout << ordered_json{{"rollback_id", mine->rollback_id},
                              {"outcome", mine->outcome},
                              {"duration_ms", mine->duration_ms},
                              {"budget_ms", mine->budget_ms},
                              {"within_budget", mine->within_budget}}
                     .dump()
              << "\n";
  } else {
    std::cout << fmt::format(
        "drill {}: {} in {} against a budget of {}: {}\n", mine->rollback_id, mine->outcome,
        analyzer::FormatMs(mine->duration_ms),
        mine->budget_ms == 0 ? "none" : analyzer::FormatMs(static_cast<int64_t>(mine->budget_ms)),
        mine->within_budget ? "within budget" : "OVER BUDGET");
  }
  if (run_status != kExitOk) return run_status;
  return mine->within_budget ? kExitOk : kExitFailed;
}

int RunDrill(GlobalOptions& options, const DrillArguments& arguments) {
  if (arguments.history) return RunDrillHistory(options);
  auto scope = DrillScope(arguments);
  if (!scope.ok()) return ReportFailure(kExitUsage, scope.status().message());

  nlohmann::json args = {{"scope", *scope}, {"drill", true}, {"dry_run", arguments.dry_run}};
  args["reason"] = arguments.reason.empty() ? "drill of scope " + *scope : arguments.reason;
  if (!arguments.environment.empty()) args["environment"] = arguments.environment;
  if (!arguments.runbook.empty())
    args["runbook"] = std::filesystem::absolute(arguments.runbook).string();
  for (const std::string& assignment : arguments.assignments) {
    auto parsed = commands::ParseVariableAssignment(assignment);
    if (!parsed.ok())
      return ReportFailure(kExitUsage, "--set " + assignment + ": " + parsed.status().message());
    args["set"][parsed->first] = parsed->second;
  }

  uint64_t before = 0;
  if (auto ledger = OpenLedger(options, LedgerAccess::kReadOnly, "drill"); ledger.ok()) {
    before = (*ledger)->HeadPosition();
  }
  int status = RunOperatorCommand(options, "start", args, /*follow=*/true);
  return ReportDrillResult(options, before, status);
}

// --- registration ------------------------------------------------------------------------------

void AddActionCommands(CLI::App& app, GlobalOptions& options) {
  static ActionArguments arguments;
  CLI::App* action =
      app.add_subcommand("action", "Record action items and lessons learned, and close them");
  action->require_subcommand(1);

  CLI::App* add = action->add_subcommand("add", "Add an action item (or a lesson) to a rollback");
  add->add_option("id", arguments.rollback_id, "Rollback id, such as rb-3")->required();
  add->add_option("text", arguments.text, "What to do, or what was learned")->required();
  add->add_option("--owner", arguments.owner, "Who owns the item");
  add->add_option("--due", arguments.due, "Due time: RFC 3339, or a duration from now such as 7d");
  add->add_flag("--lesson", arguments.lesson, "Record a lesson learned instead of an action item");
  SetAction(*add, options, [&options] { return RunActionAdd(options, arguments); });

  CLI::App* done = action->add_subcommand("done", "Resolve an action item");
  done->add_option("action", arguments.action_id, "Action item id, such as ai-4")->required();
  done->add_option("--resolution", arguments.resolution, "How it was resolved");
  SetAction(*done, options, [&options] { return RunActionDone(options, arguments); });

  CLI::App* list = action->add_subcommand("list", "List open action items and lessons");
  list->add_option("id", arguments.rollback_id, "Only this rollback's items");
  list->add_flag("--all", arguments.all, "Include resolved items");
  SetAction(*list, options, [&options] { return RunActionList(options, arguments); });
}

void AddMonitorAndDrill(CLI::App& app, GlobalOptions& options) {
  static MonitorArguments monitor_arguments;
  CLI::App* monitor = app.add_subcommand(
      "monitor", "Probe the system after a rollback against the runbook's thresholds");
  monitor->add_option("id", monitor_arguments.rollback_id, "Rollback id")->required();
  monitor->add_option("--for", monitor_arguments.duration,
                      "How long to monitor, such as 10m (default: the runbook's monitor.duration)");
  monitor->add_option("--runbook", monitor_arguments.runbook,
                      "Runbook for the variables (default: the one the rollback used)");
  monitor->add_option("--set", monitor_arguments.assignments,
                      "Override a runbook variable: NAME=VALUE (repeatable)");
  monitor->add_flag("--no-notify", monitor_arguments.no_notify,
                    "Record breaches without sending notifications");
  SetAction(*monitor, options,
            [&options] { return RunMonitorCommand(options, monitor_arguments); });

  static DrillArguments drill_arguments;
  CLI::App* drill =
      app.add_subcommand("drill", "Run a rollback as a drill and compare its time with the budget");
  drill->add_option("--scope", drill_arguments.scope, "Scope to drill (default: full)");
  drill->add_option("--component", drill_arguments.component,
                    "Drill one component: runs the scope named after it");
  drill->add_option("--env", drill_arguments.environment, "Environment, such as staging");
  drill->add_option("--runbook", drill_arguments.runbook,
                    "Runbook file (default: $ROLLBOOK_RUNBOOK or ./rollbook.yaml)");
  drill->add_option("--reason", drill_arguments.reason, "Reason recorded with the drill");
  drill->add_option("--set", drill_arguments.assignments,
                    "Override a runbook variable: NAME=VALUE (repeatable)");
  drill->add_flag("--dry-run", drill_arguments.dry_run, "Describe every step and touch nothing");
  drill->add_flag("--history", drill_arguments.history,
                  "Show success rate and duration trend per scope");
  SetAction(*drill, options, [&options] { return RunDrill(options, drill_arguments); });
}

}  // namespace

int MonitorCompletedRollback(const GlobalOptions& options, ledger::Ledger& ledger,
                             const projections::RollbackState& rollback,
                             const std::map<std::string, std::string>& overrides) {
  // A drill measures time to roll back, and minutes of monitoring would only delay its result.
  if (rollback.monitor_json.empty() || rollback.dry_run || rollback.drill) return kExitOk;
  analyzer::MonitorOptions monitor_options = InteractiveMonitorOptions(options);
  if (!options.json)
    std::cout << "monitoring " << rollback.id
              << " as the runbook's monitor: section asks; press Ctrl-C to stop" << std::endl;
  auto summary = analyzer::MonitorAfterRollback(
      ledger, rollback, RunbookVariables(rollback, "", overrides), monitor_options);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!summary.ok()) {
    // The rollback's outcome is final, so record in its stream why its monitoring is missing.
    std::string failure = "monitoring did not start: " + summary.status().message();
    ledger::AppendRequest note;
    note.stream = rollback.id;
    note.correlation_id = rollback.id;
    note.actor = options.actor;
    note.events.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
      auto annotation = payload.initAnnotation();
      annotation.setText(failure);
      annotation.setComponent("monitor");
    }));
    auto recorded = ledger.Append(note);
    if (!recorded.ok()) {
      spdlog::error("cannot record that monitoring of {} did not start: {}", rollback.id,
                    recorded.status().ToString());
    }
    return ReportFailure(
        kExitFailed, rollback.id + " " + std::string(projections::OutcomeName(rollback.outcome)) +
                         ", but " + failure + ". Fix the runbook's monitor: section or the " +
                         "environment, then run `rollbook monitor " + rollback.id + "`");
  }
  if (!summary->has_value()) return kExitOk;
  return PrintMonitorSummary(options, **summary);
}

std::map<std::string, commands::ExtraCommand> OwnerCommands(ledger::Ledger& ledger,
                                                            BackgroundMonitors& monitors) {
  std::map<std::string, commands::ExtraCommand> extra;
  extra["monitor"] = [&ledger, &monitors](const commands::CommandRequest& request) -> Result<json> {
    const json& args = *request.args;
    std::string rollback_id;
    std::string runbook;
    std::map<std::string, std::string> overrides;
    analyzer::MonitorOptions options;
    try {
      rollback_id = args.value("rollback_id", "");
      runbook = args.value("runbook", "");
      overrides = args.value("set", std::map<std::string, std::string>());
      options.notify = args.value("notify", true);
      if (args.contains("duration_ms")) options.duration_ms = args["duration_ms"].get<uint64_t>();
    } catch (const json::exception& e) {
      return InvalidArgument(std::string("invalid monitor arguments: ") + e.what());
    }
    if (rollback_id.empty()) return InvalidArgument("monitor needs a rollback_id");
    auto prepared = PrepareMonitor(ledger, rollback_id, runbook, overrides);
    if (!prepared.ok()) return prepared.status();
    options.actor = request.actor;
    options.variables = prepared->variables;
    uint64_t duration_ms = options.duration_ms.value_or(prepared->spec.duration_ms);
    ROLLBOOK_RETURN_IF_ERROR(monitors.Start(prepared->rollback, prepared->spec, options));
    return json{{"rollback_id", rollback_id},
                {"monitoring", true},
                {"message", "monitoring " + rollback_id + " for " +
                                analyzer::FormatMs(static_cast<int64_t>(duration_ms)) +
                                " in the process that owns the ledger; follow it with "
                                "`rollbook log --rollback " +
                                rollback_id + "`"}};
  };
  extra["action_add"] = [&ledger](const commands::CommandRequest& request) -> Result<json> {
    const json& args = *request.args;
    analyzer::NewActionItem item;
    try {
      item.rollback_id = args.value("rollback_id", "");
      item.text = args.value("text", "");
      item.owner = args.value("owner", "");
      item.kind = args.value("kind", "action");
      item.due_at_ns = args.value("due_at_ns", int64_t{0});
    } catch (const json::exception& e) {
      return InvalidArgument(std::string("invalid action_add arguments: ") + e.what());
    }
    item.actor = request.actor;
    item.command_id = request.idempotency_key;
    auto id = analyzer::AddActionItem(ledger, item);
    if (!id.ok()) return id.status();
    return json{{"action_id", *id},
                {"rollback_id", item.rollback_id},
                {"message", "added " + item.kind + " " + *id + " to " + item.rollback_id}};
  };
  extra["action_done"] = [&ledger](const commands::CommandRequest& request) -> Result<json> {
    const json& args = *request.args;
    std::string action_id;
    std::string resolution;
    try {
      action_id = args.value("action_id", "");
      resolution = args.value("resolution", "");
    } catch (const json::exception& e) {
      return InvalidArgument(std::string("invalid action_done arguments: ") + e.what());
    }
    ROLLBOOK_RETURN_IF_ERROR(
        analyzer::ResolveActionItem(ledger, action_id, resolution, request.actor));
    return json{{"action_id", action_id}, {"resolved", true}, {"message", "resolved " + action_id}};
  };
  return extra;
}

void AddAnalysisCommands(CLI::App& app, GlobalOptions& options) {
  static AnalyzeArguments analyze_arguments;
  CLI::App* analyze = app.add_subcommand(
      "analyze", "Replay a rollback's events: timeline, budgets, findings, recommendations");
  analyze->add_option("id", analyze_arguments.rollback_id, "Rollback id, such as rb-3")->required();
  analyze
      ->add_option("--type", analyze_arguments.type,
                   "What to show: summary, timeline, performance, issues or full")
      ->check(CLI::IsMember({"summary", "timeline", "performance", "issues", "full"}))
      ->capture_default_str();
  SetAction(*analyze, options, [&options] { return RunAnalyze(options, analyze_arguments); });

  static ReportArguments report_arguments;
  CLI::App* report = app.add_subcommand("report", "Write the incident report of a rollback");
  report->add_option("id", report_arguments.rollback_id, "Rollback id")->required();
  report->add_option("--format", report_arguments.format, "md, json or html")
      ->check(CLI::IsMember({"md", "markdown", "json", "html"}))
      ->capture_default_str();
  report->add_option("--output", report_arguments.output,
                     "Write to this file (replaced atomically) instead of stdout");
  report->add_option("--as-of", report_arguments.as_of,
                     "Flag action items overdue at this RFC 3339 time (default: now)");
  SetAction(*report, options, [&options] { return RunReport(options, report_arguments); });

  static CommsArguments comms_arguments;
  CLI::App* comms =
      app.add_subcommand("comms", "Fill a communication template with a rollback's facts");
  comms->add_option("id", comms_arguments.rollback_id, "Rollback id");
  comms->add_option("--template", comms_arguments.template_name,
                    "Template name, such as internal-start (see --list)");
  comms->add_option("--templates-dir", comms_arguments.templates_dir,
                    "Directory of NAME.mustache files that override and add templates");
  comms->add_option("--as-of", comms_arguments.as_of,
                    "Flag action items overdue at this RFC 3339 time (default: now)");
  comms->add_flag("--list", comms_arguments.list, "List the available templates");
  comms->add_flag("--data", comms_arguments.data, "Print the data templates see, as JSON");
  SetAction(*comms, options, [&options] { return RunComms(options, comms_arguments); });

  AddActionCommands(app, options);
  AddMonitorAndDrill(app, options);
}

}  // namespace rollbook::cli
