#include "tools/cli/token_command.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tools/cli/cli.h"
#include "tools/cli/exit_status.h"
#include "tools/server/tokens.h"

namespace rollbook::cli {
namespace {

struct TokenArguments {
  std::string name;
  std::string scope = "read";
  std::string tokens_file;
};

std::string TokensFile(const GlobalOptions& options, const TokenArguments& arguments) {
  return arguments.tokens_file.empty() ? DefaultTokensFile(options) : arguments.tokens_file;
}

int RunAdd(const GlobalOptions& options, const TokenArguments& arguments) {
  auto scope = server::ParseScope(arguments.scope);
  if (!scope.ok()) return ReportFailure(kExitUsage, scope.status().message());
  std::string path = TokensFile(options, arguments);
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent)) {
    return ReportFailure(kExitNotFound, "directory " + parent.string() +
                                            " does not exist; create the ledger first or pass "
                                            "--tokens FILE");
  }
  auto token = server::AddToken(path, arguments.name, *scope);
  if (!token.ok()) return ReportFailure(token.status());

  if (options.json) {
    fmt::print("{}\n", nlohmann::json{{"name", arguments.name},
                                      {"scope", arguments.scope},
                                      {"token", *token},
                                      {"tokens_file", path}}
                           .dump());
  } else {
    fmt::print("{}\n", *token);
    fmt::print(stderr,
               "Token '{}' with scope {} added to {}. It is shown only now: rollbook stores its "
               "SHA-256 hash, not the token.\n",
               arguments.name, arguments.scope, path);
  }
  return kExitOk;
}

int RunList(const GlobalOptions& options, const TokenArguments& arguments) {
  std::string path = TokensFile(options, arguments);
  auto tokens = server::ReadTokens(path);
  if (!tokens.ok()) return ReportFailure(tokens.status());
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& entry : *tokens) {
      list.push_back({{"name", entry.name},
                      {"scope", server::ScopeName(entry.scope)},
                      {"created_at", entry.created_at}});
    }
    fmt::print("{}\n", list.dump());
    return kExitOk;
  }
  for (const auto& entry : *tokens) {
    fmt::print("{:<24} {:<8} {}\n", entry.name, server::ScopeName(entry.scope), entry.created_at);
  }
  return kExitOk;
}

int RunRemove(const GlobalOptions& options, const TokenArguments& arguments) {
  std::string path = TokensFile(options, arguments);
  Status removed = server::RemoveToken(path, arguments.name);
  if (!removed.ok()) return ReportFailure(removed);
  if (!options.json) fmt::print("Removed token '{}' from {}.\n", arguments.name, path);
  return kExitOk;
}

void AddTokensOption(CLI::App& command, TokenArguments& arguments) {
  command.add_option("--tokens", arguments.tokens_file,
                     "Tokens file (default: tokens.json in the ledger directory)");
}

}  // namespace

std::string DefaultTokensFile(const GlobalOptions& options) {
  return (std::filesystem::path(options.ledger_dir) / "tokens.json").string();
}

void AddTokenCommand(CLI::App& app, GlobalOptions& options) {
  auto arguments = std::make_shared<TokenArguments>();
  CLI::App* token = app.add_subcommand("token", "Manage bearer tokens for `rollbook serve`");
  token->require_subcommand(1);

  CLI::App* add = token->add_subcommand("add", "Create a token and print it once");
  add->add_option("name", arguments->name, "Token name; requests made with it act as this name")
      ->required();
  add->add_option("--scope", arguments->scope,
                  "read: GET endpoints; operate: also POST /v1/commands; admin: everything")
      ->check(CLI::IsMember({"read", "operate", "admin"}))
      ->capture_default_str();
  AddTokensOption(*add, *arguments);
  SetAction(*add, options, [&options, arguments] { return RunAdd(options, *arguments); });

  CLI::App* list = token->add_subcommand("list", "List token names and scopes (never tokens)");
  AddTokensOption(*list, *arguments);
  SetAction(*list, options, [&options, arguments] { return RunList(options, *arguments); });

  CLI::App* remove = token->add_subcommand("remove",
                                           "Remove a token; a running server stops "
                                           "accepting it within a second");
  remove->add_option("name", arguments->name, "Token name")->required();
  AddTokensOption(*remove, *arguments);
  SetAction(*remove, options, [&options, arguments] { return RunRemove(options, *arguments); });
}

}  // namespace rollbook::cli
