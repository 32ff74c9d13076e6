#include "tools/cli/ledger_access.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace rollbook::cli {

std::string DefaultLedgerDirectory() {
  // The XDG base directory rules ignore a relative XDG_DATA_HOME.
  const char* data_home = std::getenv("XDG_DATA_HOME");
  if (data_home != nullptr && data_home[0] == '/') return std::string(data_home) + "/rollbook";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return std::string(home) + "/.local/share/rollbook";
  return "";
}

std::string DefaultActor() {
  uid_t uid = ::geteuid();
  long suggested = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(suggested > 0 ? static_cast<size_t>(suggested) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && found->pw_name[0] != '\0') {
    return found->pw_name;
  }
  return "uid-" + std::to_string(uid);
}

ledger::Options LedgerOptions(const GlobalOptions& options, LedgerAccess access,
                              std::string_view command) {
  ledger::Options ledger_options;
  ledger_options.directory = options.ledger_dir;
  ledger_options.sync = !options.no_sync;
  ledger_options.read_only = access == LedgerAccess::kReadOnly;
  ledger_options.owner = "rollbook " + std::string(command) + " by " + options.actor;
  return ledger_options;
}

Result<std::unique_ptr<ledger::Ledger>> OpenLedger(const GlobalOptions& options,
                                                   LedgerAccess access, std::string_view command) {
  return ledger::Ledger::Open(LedgerOptions(options, access, command));
}

}  // namespace rollbook::cli
