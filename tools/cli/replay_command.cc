#include "tools/cli/replay_command.h"

#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "ledger/time_format.h"
#include "projections/runner.h"
#include "tools/cli/cli.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/ledger_access.h"

namespace rollbook::cli {
namespace {

struct ReplayArguments {
  std::string name;  // empty: every projection (rebuild only)
  bool rebuild = false;
  std::string as_of;
  uint64_t at = 0;
  bool at_given = false;
};

std::string KnownNames(const std::vector<std::unique_ptr<projections::Projection>>& projections) {
  std::string names;
  for (const auto& projection : projections) {
    names += (names.empty() ? "" : ", ") + std::string(projection->name());
  }
  return names;
}

// Prints the progress of a rebuild on stderr at most twice a second, and once at the end.
class ProgressLine {
 public:
  explicit ProgressLine(std::string name) : name_(std::move(name)) {}

  void Update(uint64_t position, uint64_t head) {
    auto now = std::chrono::steady_clock::now();
    if (position < head && now - printed_at_ < std::chrono::milliseconds(500)) return;
    printed_at_ = now;
    int percent = head == 0 ? 100 : static_cast<int>(position * 100 / head);
    bool terminal = ::isatty(STDERR_FILENO) == 1;
    fmt::print(stderr, "{}rebuilding {}: {}/{} events ({}%){}", terminal ? "\r" : "", name_,
               position, head, percent, terminal ? "" : "\n");
  }

  void Finish() {
    if (::isatty(STDERR_FILENO) == 1) fmt::print(stderr, "\n");
  }

 private:
  std::string name_;
  std::chrono::steady_clock::time_point printed_at_;
};

int RunRebuild(const GlobalOptions& options, const ReplayArguments& arguments,
               ledger::Ledger& ledger) {
  auto runner = projections::ProjectionRunner::Open(ledger, projections::MakeDefaultProjections(),
                                                    projections::RunnerOptions());
  if (!runner.ok()) return ReportFailure(runner.status());
  std::vector<std::string> names = (*runner)->names();
  if (!arguments.name.empty()) names = {arguments.name};

  nlohmann::json rebuilt = nlohmann::json::array();
  for (const auto& name : names) {
    auto started = std::chrono::steady_clock::now();
    ProgressLine progress(name);
    Status status = (*runner)->Rebuild(
        name, [&](uint64_t position, uint64_t head) { progress.Update(position, head); });
    progress.Finish();
    if (!status.ok()) return ReportFailure(status);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    uint64_t position = 0;
    for (const auto& projection : (*runner)->Statuses()) {
      if (projection.name == name) position = projection.committed_position;
    }
    rebuilt.push_back({{"projection", name}, {"position", position}, {"seconds", seconds}});
    if (!options.json) {
      fmt::print("Rebuilt {} up to position {} in {:.1f} s.\n", name, position, seconds);
    }
  }
  if (options.json) fmt::print("{}\n", rebuilt.dump());
  return kExitOk;
}

int RunEvaluate(const ReplayArguments& arguments, ledger::Ledger& ledger) {
  auto projections = projections::MakeDefaultProjections();
  const projections::Projection* prototype = nullptr;
  for (const auto& projection : projections) {
    if (projection->name() == arguments.name) prototype = projection.get();
  }
  if (arguments.name.empty()) {
    return ReportFailure(kExitUsage, "name the projection to evaluate: " + KnownNames(projections));
  }
  if (prototype == nullptr) {
    return ReportFailure(kExitNotFound, "no projection named '" + arguments.name +
                                            "'; known projections: " + KnownNames(projections));
  }

  uint64_t position = ledger.HeadPosition();
  int64_t until_ns = 0;
  if (arguments.at_given) {
    if (arguments.at > position) {
      return ReportFailure(kExitNotFound, "position " + std::to_string(arguments.at) +
                                              " is past the ledger head " +
                                              std::to_string(position));
    }
    position = arguments.at;
  } else {
    auto parsed = ledger::ParseTimeOrAgo(arguments.as_of, ledger::NowNs());
    if (!parsed.ok())
      return ReportFailure(kExitUsage, "invalid --as-of: " + parsed.status().message());
    until_ns = *parsed;
  }
  auto evaluated = projections::EvaluateProjection(ledger, *prototype, position, until_ns);
  if (!evaluated.ok()) return ReportFailure(evaluated.status());
  if (until_ns != 0) (*evaluated)["as_of"] = ledger::FormatTimestamp(until_ns);
  fmt::print("{}\n", evaluated->dump(2));
  return kExitOk;
}

int RunReplay(const GlobalOptions& options, const ReplayArguments& arguments) {
  int modes = (arguments.rebuild ? 1 : 0) + (arguments.at_given ? 1 : 0) +
              (arguments.as_of.empty() ? 0 : 1);
  if (modes != 1) {
    return ReportFailure(kExitUsage,
                         "choose exactly one of --rebuild, --at POSITION and --as-of TIME");
  }
  // Folding only reads the ledger, so a read-only snapshot works while a server owns it. A
  // rebuild also writes the projection store, which a running server keeps locked.
  auto opened = OpenLedger(options, LedgerAccess::kReadOnly, "replay");
  if (!opened.ok()) return ReportFailure(opened.status());
  if (arguments.rebuild) return RunRebuild(options, arguments, **opened);
  return RunEvaluate(arguments, **opened);
}

}  // namespace

void AddReplayCommand(CLI::App& app, GlobalOptions& options) {
  auto arguments = std::make_shared<ReplayArguments>();
  CLI::App* replay = app.add_subcommand(
      "replay", "Rebuild projections from the log, or show one as of a past position or time");
  replay->add_option("projection", arguments->name,
                     "rollbacks, components, metrics or audit (--rebuild without it rebuilds all)");
  replay->add_flag(
      "--rebuild", arguments->rebuild,
      "Drop the stored state and fold every event again (stop `rollbook serve` first)");
  replay->add_option("--at", arguments->at, "Print the projection as of this event position")
      ->each([arguments](const std::string&) { arguments->at_given = true; });
  replay->add_option("--as-of", arguments->as_of,
                     "Print the projection as of this time: RFC 3339, or a duration ago like 2h");
  SetAction(*replay, options, [&options, arguments] { return RunReplay(options, *arguments); });
}

}  // namespace rollbook::cli
