// The read-only ledger subcommands that report on the whole ledger: info and verify.
#include <fmt/core.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <memory>
#include <nlohmann/json.hpp>

#include "ledger/hash.h"
#include "tools/cli/cli.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/ledger_access.h"
#include "tools/cli/ledger_commands.h"

namespace rollbook::cli {
namespace {

struct VerifyArguments {
  uint64_t from = 1;
  std::string trusted_hash;
  bool no_index_check = false;
};

void PrintJson(const nlohmann::json& value) { fmt::print("{}\n", value.dump()); }

std::string HumanSize(uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  while (size >= 1024 && unit + 1 < std::size(units)) {
    size /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} bytes", bytes) : fmt::format("{:.1f} {}", size, units[unit]);
}

// Returns the owner file's details when its pid is alive, because a process killed with -9
// leaves a stale file behind.
int RunInfo(const GlobalOptions& options) {
  auto opened = OpenLedger(options, LedgerAccess::kReadOnly, "info");
  if (!opened.ok()) return ReportFailure(opened.status());
  auto info = (*opened)->Info();
  if (!info.ok()) return ReportFailure(info.status());
  auto owner = ledger::ReadLiveOwnerDetails(info->directory);

  if (options.json) {
    nlohmann::json owner_json = nullptr;
    if (!owner.empty()) {
      owner_json = nlohmann::json::object();
      for (const auto& [key, value] : owner) owner_json[key] = value;
    }
    PrintJson({{"directory", info->directory},
               {"ledgerId", info->ledger_id},
               {"headPosition", info->head_position},
               {"headHash", ledger::ToHex(info->head_hash)},
               {"eventCount", info->event_count},
               {"sizeOnDiskBytes", info->size_on_disk_bytes},
               {"sync", info->sync},
               {"owner", owner_json}});
    return kExitOk;
  }

  std::string owner_text = "none";
  if (!owner.empty()) {
    owner_text.clear();
    for (const auto& [key, value] : owner) {
      owner_text += (owner_text.empty() ? "" : ", ") + key + " " + value;
    }
  }
  fmt::print("directory:      {}\n", info->directory);
  fmt::print("ledger id:      {}\n", info->ledger_id);
  fmt::print("head position:  {}\n", info->head_position);
  fmt::print("head hash:      {}\n", ledger::ToHex(info->head_hash));
  fmt::print("events:         {}\n", info->event_count);
  fmt::print("size on disk:   {}\n", HumanSize(info->size_on_disk_bytes));
  fmt::print("sync:           {}\n",
             info->sync ? "on (appends are fsynced before they are acknowledged)"
                        : "off (--no-sync: appends are not fsynced; an OS crash or power loss "
                          "can lose acknowledged events)");
  fmt::print("owner:          {}\n", owner_text);
  return kExitOk;
}

Result<ledger::VerifyOptions> ToVerifyOptions(const VerifyArguments& arguments) {
  ledger::VerifyOptions verify;
  verify.from_position = arguments.from;
  verify.check_indexes = !arguments.no_index_check;
  if (arguments.from == 0)
    return InvalidArgument("--from 0 is not a position; positions start at 1");
  if (!arguments.trusted_hash.empty()) {
    if (arguments.from < 2) {
      return InvalidArgument(
          "--trusted-hash is the hash of the event before --from; use it "
          "with --from 2 or later");
    }
    verify.trusted_previous_hash = ledger::FromHex(arguments.trusted_hash);
    if (verify.trusted_previous_hash.size() != ledger::kHashBytes) {
      return InvalidArgument("invalid --trusted-hash '" + arguments.trusted_hash +
                             "': expected 64 hex digits, as printed by `rollbook info`");
    }
  }
  return verify;
}

void PrintVerifyReport(const GlobalOptions& options, const VerifyArguments& arguments,
                       const ledger::VerifyReport& report, const std::string& head_hash) {
  if (options.json) {
    nlohmann::json json = {{"intact", report.intact},
                           {"eventsChecked", report.events_checked},
                           {"fromPosition", arguments.from},
                           {"headPosition", report.head_position},
                           {"headHash", ledger::ToHex(head_hash)},
                           {"indexesChecked", !arguments.no_index_check}};
    if (!report.intact) {
      json["firstBadPosition"] = report.first_bad_position;
      json["problem"] = report.problem;
    }
    PrintJson(json);
    return;
  }
  if (!report.intact) {
    fmt::print("Chain broken at position {}: {}.\n{} events verified before it.\n",
               report.first_bad_position, report.problem, report.events_checked);
    return;
  }
  fmt::print("Chain intact: {} events verified, positions {} to {}{}.\nHead hash: {}\n",
             report.events_checked, arguments.from, report.head_position,
             arguments.no_index_check ? " (index check skipped)"
             : arguments.from > 1
                 ? "; their index entries agree with the log (only a verify from position 1 "
                   "also looks for index entries that match no event)"
                 : "; indexes agree with the log",
             ledger::ToHex(head_hash));
}

int RunVerify(const GlobalOptions& options, const VerifyArguments& arguments) {
  auto verify = ToVerifyOptions(arguments);
  if (!verify.ok()) return ReportFailure(verify.status());
  verify->progress = [](uint64_t checked, uint64_t head) {
    fmt::print(stderr, "verify: {} of {} events checked\n", checked, head);
  };

  auto opened = OpenLedger(options, LedgerAccess::kReadOnly, "verify");
  if (!opened.ok()) return ReportFailure(opened.status());
  auto info = (*opened)->Info();
  if (!info.ok()) return ReportFailure(info.status());
  if (info->head_position > 0 && arguments.from > info->head_position) {
    return ReportFailure(kExitUsage, fmt::format("--from {} is past the head position {}",
                                                 arguments.from, info->head_position));
  }
  auto report = (*opened)->Verify(*verify);
  if (!report.ok()) return ReportFailure(report.status());

  PrintVerifyReport(options, arguments, *report, info->head_hash);
  return report->intact ? kExitOk : kExitFailed;
}

}  // namespace

void AddInfoCommand(CLI::App& app, GlobalOptions& options) {
  CLI::App* info = app.add_subcommand(
      "info", "Show the ledger's id, head position and hash, event count, size and sync mode");
  SetAction(*info, options, [&options] { return RunInfo(options); });
}

void AddVerifyCommand(CLI::App& app, GlobalOptions& options) {
  auto verify_arguments = std::make_shared<VerifyArguments>();
  CLI::App* verify = app.add_subcommand(
      "verify", "Re-hash the chain and check the indexes; exit 0 when intact, 1 when broken");
  verify->add_option("--from", verify_arguments->from, "First position to re-hash")
      ->capture_default_str();
  verify->add_option("--trusted-hash", verify_arguments->trusted_hash,
                     "Hash (64 hex digits) you trust for position FROM-1, such as one noted from "
                     "an earlier `rollbook info`; without it the stored hash is used");
  verify->add_flag("--no-index-check", verify_arguments->no_index_check,
                   "Skip the check that the stream and time indexes agree with the log");
  SetAction(*verify, options,
            [&options, verify_arguments] { return RunVerify(options, *verify_arguments); });
}

}  // namespace rollbook::cli
