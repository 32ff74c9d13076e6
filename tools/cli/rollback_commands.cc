#include "tools/cli/rollback_commands.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "analyzer/monitor.h"
#include "commands/command_socket.h"
#include "commands/orchestrator.h"
#include "commands/runbook.h"
#include "ledger/time_format.h"
#include "tools/cli/analysis_commands.h"
#include "tools/cli/background_monitors.h"
#include "tools/cli/cli.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/ledger_access.h"
#include "tools/cli/operator_output.h"
#include "tools/cli/remote_commands.h"

namespace rollbook::cli {
namespace {

using nlohmann::json;

std::atomic<bool> interrupted{false};

void OnInterrupt(int) { interrupted = true; }

// Returns the --set values of a start command's arguments.
std::map<std::string, std::string> VariableOverrides(const json& args) {
  std::map<std::string, std::string> overrides;
  auto set = args.find("set");
  if (set == args.end() || !set->is_object()) return overrides;
  for (const auto& [name, value] : set->items()) {
    if (value.is_string()) overrides[name] = value.get<std::string>();
  }
  return overrides;
}

// Runs the command as the ledger's owner: orchestrator and command socket in this process.
int RunAsOwner(GlobalOptions& options, std::unique_ptr<ledger::Ledger> ledger,
               const std::string& command, const json& args, bool follow, bool monitor) {
  BackgroundMonitors monitors(*ledger);  // declared first, so it stops after the orchestrator
  commands::OrchestratorOptions orchestrator_options;
  orchestrator_options.extra_commands = OwnerCommands(*ledger, monitors);
  commands::Orchestrator orchestrator(*ledger, orchestrator_options);
  Status started = orchestrator.Start();
  if (!started.ok()) return ReportFailure(started);
  auto socket = commands::CommandSocketServer::Start(*ledger, orchestrator);
  if (!socket.ok())
    spdlog::warn("other terminals cannot reach this process: {}", socket.status().ToString());

  uint64_t before = ledger->HeadPosition();
  commands::CommandRequest request{command, &args, options.actor,
                                   args.value("idempotency_key", "")};
  auto result = orchestrator.Execute(request);
  if (!result.ok()) return ReportFailure(result.status());
  std::string rollback_id = result->value("rollback_id", "");
  if (!options.json || !follow) PrintResult(options, command, *result);
  if (!follow || rollback_id.empty()) return kExitOk;

  // Follow until the rollback completes; Ctrl-C stops at the next event boundary.
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  auto state = commands::FollowRollback(
      *ledger, orchestrator, rollback_id, before,
      [&](const std::string& line) {
        if (!options.json) std::cout << line << std::endl;
      },
      [&] { return !interrupted.load(); });
  if (interrupted) {
    orchestrator.Stop();
    // The step running at Ctrl-C may have been the last one: then the rollback has completed.
    auto snapshot = orchestrator.Snapshot(rollback_id);
    if (snapshot && !snapshot->Active()) {
      json final_state = projections::RollbackToJson(*snapshot);
      PrintFinalState(options, final_state);
      return ExitForRollback(final_state);
    }
    std::cerr << "rollbook: interrupted; " << rollback_id
              << " stays active. Continue it with `rollbook resume " << rollback_id << "`\n";
    return kExitFailed;
  }
  if (!state.ok()) {
    orchestrator.Stop();
    return ReportFailure(state.status());
  }
  PrintFinalState(options, *state);
  int exit_status = ExitForRollback(*state);

  // Monitoring runs while the orchestrator still serves other terminals, such as `rollbook note`.
  if (monitor && exit_status == kExitOk) {
    auto snapshot = orchestrator.Snapshot(rollback_id);
    BackgroundMonitors::ForegroundRun foreground(monitors, rollback_id);
    if (snapshot)
      exit_status = MonitorCompletedRollback(options, *ledger, *snapshot, VariableOverrides(args));
  }
  orchestrator.Stop();
  return exit_status;
}

// Sends the command to the process that owns the ledger.
int RunThroughOwner(GlobalOptions& options, const std::string& socket_path,
                    const std::string& command, const json& args, bool follow) {
  json request = {{"command", command},
                  {"args", args},
                  {"actor", options.actor},
                  {"idempotency_key", args.value("idempotency_key", "")},
                  {"follow", follow}};
  json final_state;
  auto result = commands::SendCommand(socket_path, request, [&](const json& line) {
    if (line.contains("progress") && !options.json)
      std::cout << line["progress"].get<std::string>() << std::endl;
    if (line.contains("done")) final_state = line["done"];
  });
  if (!result.ok()) return ReportFailure(result.status());
  if (!follow || !result->contains("rollback_id")) {
    PrintResult(options, command, *result);
    return kExitOk;
  }
  if (!options.json) PrintResult(options, command, *result);
  if (final_state.is_null())
    return ReportFailure(kExitFailed, "the ledger owner stopped before the rollback completed");
  PrintFinalState(options, final_state);
  return ExitForRollback(final_state);
}

std::string OwnerSocket(const std::string& directory) {
  // The socket is always in the ledger directory. The recorded path only shows that the owner
  // listens. Built from this process's name of the directory, the path works from any working
  // directory.
  for (const auto& [key, value] : ledger::ReadOwnerDetails(directory)) {
    if (key == "socket") return commands::CommandSocketPath(directory);
  }
  return {};
}

int WithRunbookPlan(const std::string& runbook_flag,
                    const std::function<int(const commands::Runbook&)>& use) {
  auto runbook = commands::LoadRunbook(commands::ResolveRunbookPath(runbook_flag),
                                       commands::DriverRegistry::BuiltIn());
  if (!runbook.ok()) {
    std::cerr << runbook.status().message() << "\n";
    return kExitUsage;
  }
  return use(*runbook);
}

// Parses the runbook's monitor: section once per environment, whose variables its ${vars.NAME}
// references take; prints each problem. Returns an exit status.
int CheckMonitorSection(const commands::Runbook& loaded) {
  if (loaded.monitor_json.empty()) return kExitOk;
  int exit_status = kExitOk;
  bool scopes_checked = false;
  for (const auto& [environment, variables] : loaded.environments) {
    auto spec = analyzer::ParseMonitorSpec(loaded.monitor_json, variables);
    if (!spec.ok()) {
      // The parser names the place as "monitor: ..." or "monitor.probes[2] (name): ...".
      std::string message = spec.status().message();
      if (!message.starts_with("monitor")) message = "monitor: " + message;
      std::cerr << loaded.path << ": " << message << " (environment " << environment << ")\n";
      exit_status = kExitUsage;
      continue;
    }
    if (scopes_checked) continue;
    scopes_checked = true;  // the scopes are the same in every environment
    for (const auto& probe : spec->probes) {
      for (const auto& scope : probe.scopes) {
        if (loaded.scopes.contains(scope)) continue;
        std::cerr << loaded.path << ": monitor: probe '" << probe.name << "' names scope '" << scope
                  << "', which the runbook does not define; use one of its scopes\n";
        exit_status = kExitUsage;
      }
    }
  }
  return exit_status;
}

// Folds the whole ledger read-only into rollback states.
Result<projections::RollbackFold> FoldLedger(const GlobalOptions& options) {
  auto ledger = OpenLedger(options, LedgerAccess::kReadOnly, "status");
  if (!ledger.ok()) return ledger.status();
  auto it = (*ledger)->Read({});
  if (!it.ok()) return it.status();
  projections::RollbackFold fold;
  for (; (*it)->Valid(); (*it)->Next()) fold.Apply((*it)->event());
  ROLLBOOK_RETURN_IF_ERROR((*it)->status());
  return fold;
}

void PrintRollbackDetail(const projections::RollbackState& state) {
  std::cout << state.id << "  " << state.feature << " in " << state.environment << ", scope "
            << state.scope << (state.mode.empty() ? "" : ", mode " + state.mode)
            << (state.dry_run ? ", dry run" : "") << (state.drill ? ", drill" : "") << "\n";
  std::cout << "  status " << projections::RollbackStatusName(state.status) << ", outcome "
            << projections::OutcomeName(state.outcome) << ", requested by " << state.actor << " at "
            << ledger::FormatTimestamp(state.requested_at_ns) << "\n";
  std::cout << "  reason: " << state.reason << "\n";
  for (const auto& component : state.components) {
    std::cout << "  " << component.name << ": "
              << projections::ComponentStatusName(component.status) << "\n";
    for (const auto& step : component.steps) {
      std::cout << "    " << step.name << " (" << step.driver << " " << step.action
                << "): " << projections::StepStatusName(step.status);
      if (step.attempts > 0)
        std::cout << ", " << step.attempts << " attempt(s), " << step.duration_ns / 1000000
                  << " ms";
      if (!step.last_error.empty()) std::cout << ", error: " << step.last_error;
      std::cout << "\n";
    }
  }
  for (const auto& note : state.notes) std::cout << "  note: " << note << "\n";
}

int Status_(const GlobalOptions& options, const std::string& rollback_id) {
  auto fold = FoldLedger(options);
  if (!fold.ok()) return ReportFailure(fold.status());
  if (!rollback_id.empty()) {
    const projections::RollbackState* state = fold->Find(rollback_id);
    if (state == nullptr)
      return ReportFailure(kExitNotFound, "no rollback " + rollback_id + " in this ledger");
    if (options.json) {
      std::cout << projections::RollbackToJson(*state).dump() << "\n";
    } else {
      PrintRollbackDetail(*state);
      if (state->Active() && ledger::ReadLiveOwnerDetails(options.ledger_dir).empty()) {
        std::cout << "No process is running " << rollback_id
                  << ": the one that did stopped or was killed. Continue it with `rollbook resume "
                  << rollback_id << "`.\n";
      }
    }
    return kExitOk;
  }
  if (options.json) {
    json all = json::array();
    for (const auto& [id, state] : fold->rollbacks())
      all.push_back(projections::RollbackToJson(state));
    std::cout << all.dump() << "\n";
    return kExitOk;
  }
  if (fold->rollbacks().empty())
    std::cout << "no rollbacks yet; start one with `rollbook start REASON`\n";
  bool orphaned = false;  // an active rollback, and no process owns the ledger to run it
  bool owned = !ledger::ReadLiveOwnerDetails(options.ledger_dir).empty();
  // In request order, so that rb-10 follows rb-9.
  std::vector<const projections::RollbackState*> ordered;
  for (const auto& [id, state] : fold->rollbacks()) ordered.push_back(&state);
  std::sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
    return a->requested_position < b->requested_position;
  });
  for (const projections::RollbackState* listed : ordered) {
    const projections::RollbackState& state = *listed;
    const std::string& id = state.id;
    std::cout << id << "  " << state.feature << "/" << state.environment << "  " << state.scope
              << "  " << projections::RollbackStatusName(state.status) << "  "
              << projections::OutcomeName(state.outcome) << "  " << state.duration_ns / 1000000
              << " ms  " << state.reason << (state.Active() && !owned ? "  (no process)" : "")
              << "\n";
    orphaned = orphaned || (state.Active() && !owned);
  }
  if (orphaned) {
    std::cout << "Rollbacks marked (no process) stopped with their process; continue one with "
                 "`rollbook resume ID`.\n";
  }
  return kExitOk;
}

}  // namespace

int RunOperatorCommand(GlobalOptions& options, const std::string& command, const json& args,
                       bool follow, bool monitor) {
  if (!options.server_url.empty()) return RunThroughServer(options, command, args, follow);

  // Short write commands wait a little for a busy ledger: the owner may be another short command.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto ledger = OpenLedger(options, LedgerAccess::kWrite, command);
    if (ledger.ok())
      return RunAsOwner(options, std::move(ledger).value(), command, args, follow, monitor);
    if (ledger.status().code() != StatusCode::kBusy) return ReportFailure(ledger.status());
    std::string socket = OwnerSocket(options.ledger_dir);
    if (!socket.empty()) return RunThroughOwner(options, socket, command, args, follow);
    if (std::chrono::steady_clock::now() > deadline) return ReportFailure(ledger.status());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void AddRollbackCommands(CLI::App& app, GlobalOptions& options) {
  // start
  static std::string reason, scope = "full", environment, mode, target_time, runbook;
  static bool dry_run = false, drill = false, no_monitor = false;
  static std::vector<std::string> assignments;
  CLI::App* start =
      app.add_subcommand("start", "Roll a feature back: run the runbook's steps for a scope");
  start->add_option("reason", reason, "Why the rollback is needed; recorded in the ledger")
      ->required();
  start
      ->add_option("--scope", scope,
                   "Scope: full, database, feature-flags, external-services, application, or one "
                   "the runbook defines")
      ->capture_default_str();
  start->add_option("--env", environment,
                    "Environment from the runbook (default: its only one, else production)");
  start->add_option("--mode", mode,
                    "Mode for components that have modes, such as safe or point-in-time");
  start->add_option("--target-time", target_time,
                    "Point-in-time target, RFC 3339 such as 2026-12-04T10:00:00Z");
  start->add_option("--runbook", runbook,
                    "Runbook file (default: $ROLLBOOK_RUNBOOK or ./rollbook.yaml)");
  start->add_option("--set", assignments,
                    "Override a runbook variable of the environment: NAME=VALUE (repeatable)");
  start->add_flag("--dry-run", dry_run, "Describe every step and record the plan; touch nothing");
  start->add_flag("--drill", drill,
                  "Mark the rollback as a drill; it never counts in production metrics");
  start->add_flag("--no-monitor", no_monitor,
                  "Skip the runbook's monitor: section after the rollback succeeds; run `rollbook "
                  "monitor` later");
  SetAction(*start, options, [&options] {
    json args = {{"reason", reason}, {"scope", scope}, {"dry_run", dry_run}, {"drill", drill}};
    if (!environment.empty()) args["environment"] = environment;
    if (!mode.empty()) args["mode"] = mode;
    if (!target_time.empty()) args["target_time"] = target_time;
    // A local owner (this process, or the one behind the command socket) reads the runbook
    // this user means: --runbook, else $ROLLBOOK_RUNBOOK or ./rollbook.yaml here, made
    // absolute. A server reads --runbook on its own machine, or its own default.
    if (!options.server_url.empty()) {
      if (!runbook.empty()) args["runbook"] = runbook;
    } else {
      args["runbook"] = std::filesystem::absolute(commands::ResolveRunbookPath(runbook)).string();
    }
    for (const std::string& assignment : assignments) {
      auto parsed = commands::ParseVariableAssignment(assignment);
      if (!parsed.ok())
        return ReportFailure(kExitUsage, "--set " + assignment + ": " + parsed.status().message());
      args["set"][parsed->first] = parsed->second;
    }
    return RunOperatorCommand(options, "start", args, /*follow=*/true, /*monitor=*/!no_monitor);
  });

  // status
  static std::string status_id;
  CLI::App* status =
      app.add_subcommand("status", "Show rollbacks, or one rollback's components and steps");
  status->add_option("id", status_id, "Rollback id such as rb-3");
  SetAction(*status, options, [&options] { return Status_(options, status_id); });

  // cancel, retry, skip, resume
  static std::string cancel_id, cancel_reason;
  CLI::App* cancel = app.add_subcommand("cancel", "Cancel a running rollback between steps");
  cancel->add_option("id", cancel_id, "Rollback id")->required();
  cancel->add_option("--reason", cancel_reason, "Why it is cancelled");
  SetAction(*cancel, options, [&options] {
    return RunOperatorCommand(options, "cancel",
                              {{"rollback_id", cancel_id}, {"reason", cancel_reason}}, false);
  });

  static std::string retry_id, retry_step;
  CLI::App* retry = app.add_subcommand("retry", "Run a failed or outcome-unknown step again");
  retry->add_option("id", retry_id, "Rollback id")->required();
  retry->add_option("step", retry_step, "Step as component/step, or its name when unique")
      ->required();
  SetAction(*retry, options, [&options] {
    return RunOperatorCommand(options, "retry", {{"rollback_id", retry_id}, {"step", retry_step}},
                              true);
  });

  static std::string skip_id, skip_step, skip_reason;
  CLI::App* skip = app.add_subcommand("skip", "Skip a failed or outcome-unknown step and continue");
  skip->add_option("id", skip_id, "Rollback id")->required();
  skip->add_option("step", skip_step, "Step as component/step, or its name when unique")
      ->required();
  skip->add_option("--reason", skip_reason, "Why skipping is safe; recorded")->required();
  SetAction(*skip, options, [&options] {
    return RunOperatorCommand(
        options, "skip", {{"rollback_id", skip_id}, {"step", skip_step}, {"reason", skip_reason}},
        true);
  });

  static std::string resume_id;
  CLI::App* resume =
      app.add_subcommand("resume", "Continue a rollback interrupted by a crash or Ctrl-C");
  resume->add_option("id", resume_id, "Rollback id")->required();
  SetAction(*resume, options, [&options] {
    return RunOperatorCommand(options, "resume", {{"rollback_id", resume_id}}, true);
  });

  // runbook check / show
  static std::string runbook_file, show_scope = "full", show_env, show_mode;
  CLI::App* runbook_command =
      app.add_subcommand("runbook", "Validate a runbook or print its resolved plan");
  runbook_command->require_subcommand(1);
  CLI::App* check = runbook_command->add_subcommand(
      "check", "Validate the runbook; print every problem with file:line:column");
  check->add_option("--runbook", runbook_file,
                    "Runbook file (default: $ROLLBOOK_RUNBOOK or ./rollbook.yaml)");
  SetAction(*check, options, [] {
    return WithRunbookPlan(runbook_file, [](const commands::Runbook& loaded) {
      if (int monitor_status = CheckMonitorSection(loaded); monitor_status != kExitOk) {
        return monitor_status;
      }
      std::cout << loaded.path << ": valid runbook for " << loaded.feature << " ("
                << loaded.components.size() << " components, " << loaded.scopes.size()
                << " scopes)\n";
      return static_cast<int>(kExitOk);
    });
  });
  CLI::App* show = runbook_command->add_subcommand(
      "show", "Print the resolved plan for a scope, environment and mode");
  show->add_option("--runbook", runbook_file, "Runbook file");
  show->add_option("--scope", show_scope, "Scope")->capture_default_str();
  show->add_option("--env", show_env, "Environment");
  show->add_option("--mode", show_mode, "Mode");
  show->add_option("--set", assignments, "Override a runbook variable: NAME=VALUE (repeatable)");
  SetAction(*show, options, [&options] {
    return WithRunbookPlan(runbook_file, [&options](const commands::Runbook& loaded) {
      std::string env = show_env;
      if (env.empty())
        env = loaded.environments.size() == 1 ? loaded.environments.begin()->first : "production";
      commands::Runbook overridden = loaded;
      std::map<std::string, std::string> values;
      for (const std::string& assignment : assignments) {
        auto parsed = commands::ParseVariableAssignment(assignment);
        if (!parsed.ok())
          return ReportFailure(kExitUsage,
                               "--set " + assignment + ": " + parsed.status().message());
        values[parsed->first] = parsed->second;
      }
      Status applied = commands::ApplyVariableOverrides(overridden, env, values);
      if (!applied.ok()) return ReportFailure(applied);
      auto plan = commands::BuildPlan(overridden, show_scope, env, show_mode);
      if (!plan.ok()) return ReportFailure(plan.status());
      std::cout << (options.json ? commands::PlanToJson(*plan) : commands::DescribePlan(*plan))
                << "\n";
      return static_cast<int>(kExitOk);
    });
  });

  // backups
  static std::string backups_component;
  CLI::App* backups =
      app.add_subcommand("backups", "List backups recorded in the ledger, or verify them");
  backups->add_option("--component", backups_component, "Only backups of this component");
  SetAction(*backups, options, [&options] {
    auto fold = FoldLedger(options);
    if (!fold.ok()) return ReportFailure(fold.status());
    for (const auto& [id, state] : fold->rollbacks()) {
      for (const auto& backup : state.backups) {
        if (!backups_component.empty() && backup.component != backups_component) continue;
        std::cout << backup.backup_id << "  " << ledger::FormatTimestamp(backup.taken_at_ns) << "  "
                  << id << "  " << backup.component << "/" << backup.step << "  " << backup.format
                  << "  " << backup.size_bytes << " bytes  " << backup.origin << "\n";
      }
    }
    return static_cast<int>(kExitOk);
  });
  CLI::App* verify_backups =
      backups->add_subcommand("verify", "Re-hash every stored backup against its recorded SHA-256");
  SetAction(*verify_backups, options, [&options] {
    auto fold = FoldLedger(options);
    if (!fold.ok()) return ReportFailure(fold.status());
    commands::BackupStore store(options.ledger_dir + "/backups");
    int bad = 0, checked = 0;
    for (const auto& [id, state] : fold->rollbacks()) {
      for (const auto& backup : state.backups) {
        commands::BackupRecord record{
            backup.backup_id, backup.sha256, backup.size_bytes,  backup.driver,
            backup.origin,    backup.format, backup.taken_at_ns, id,
            backup.component, backup.step};
        auto path = store.CheckedPath(record);
        ++checked;
        if (!path.ok()) {
          ++bad;
          std::cout << backup.backup_id << "  BAD  " << path.status().message() << "\n";
        }
      }
    }
    std::cout << checked << " backups checked, " << bad << " bad\n";
    return bad == 0 ? static_cast<int>(kExitOk) : static_cast<int>(kExitFailed);
  });
}

}  // namespace rollbook::cli
