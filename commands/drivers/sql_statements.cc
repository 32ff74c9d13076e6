#include "commands/drivers/sql_statements.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace rollbook::commands {
namespace {

bool IsIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsIdentifierChar(char c) {
  return IsIdentifierStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}

std::string Lower(std::string_view word) {
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

Status Unterminated(std::string_view what, int line) {
  return InvalidArgument("unterminated " + std::string(what) + " starting on line " +
                         std::to_string(line) + "; close it or remove it");
}

// A scanner over the whole script. Quoted text, comments and dollar-quoted bodies are skipped as
// units, so only top-level semicolons end statements.
class Splitter {
 public:
  explicit Splitter(std::string_view script) : script_(script) {}

  Result<std::vector<SqlStatement>> Run() {
    while (pos_ < script_.size()) {
      Status status = Step();
      if (!status.ok()) return status;
    }
    EndStatement(script_.size());
    return std::move(statements_);
  }

 private:
  char At(size_t pos) const { return pos < script_.size() ? script_[pos] : '\0'; }

  void Advance(size_t count) {
    for (size_t i = 0; i < count && pos_ < script_.size(); ++i) {
      if (script_[pos_] == '\n') ++line_;
      ++pos_;
    }
  }

  void BeginStatementIfNeeded() {
    if (start_) return;
    start_ = pos_;
    start_line_ = line_;
  }

  void EndStatement(size_t end) {
    if (start_) {
      std::string_view text = script_.substr(*start_, end - *start_);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
      }
      statements_.push_back(SqlStatement{std::string(text), start_line_});
    }
    start_.reset();
    paren_depth_ = 0;
    begin_depth_ = 0;
    words_.clear();
  }

  Status Step() {
    char c = script_[pos_];
    if (std::isspace(static_cast<unsigned char>(c))) {
      Advance(1);
      return Status::Ok();
    }
    if (c == '-' && At(pos_ + 1) == '-') return SkipLineComment();
    if (c == '/' && At(pos_ + 1) == '*') return SkipBlockComment();
    if (!start_ && c == '\\') {
      size_t end = script_.find_first_of(" \t\r\n", pos_);
      return InvalidArgument("line " + std::to_string(line_) + ": psql meta-command `" +
                             std::string(script_.substr(pos_, end - pos_)) +
                             "` is not SQL; the sql action sends statements to the server, so "
                             "remove it or run the file with psql through the exec driver");
    }
    if (c == ';' && paren_depth_ == 0 && begin_depth_ == 0) {
      EndStatement(pos_);
      Advance(1);
      return Status::Ok();
    }

    BeginStatementIfNeeded();
    if (c == '\'') return SkipQuoted('\'', /*backslash_escapes=*/false, "string literal");
    if (c == '"') return SkipQuoted('"', /*backslash_escapes=*/false, "quoted identifier");
    if ((c == 'e' || c == 'E') && At(pos_ + 1) == '\'' && !FollowsIdentifier()) {
      Advance(1);
      return SkipQuoted('\'', /*backslash_escapes=*/true, "string literal");
    }
    if (c == '$' && !FollowsIdentifier()) {
      std::optional<std::string_view> tag = DollarTagAt(pos_);
      if (tag) return SkipDollarQuoted(*tag);
    }
    if (IsIdentifierStart(c)) return ReadWord();
    if (c == '(') ++paren_depth_;
    if (c == ')' && paren_depth_ > 0) --paren_depth_;
    Advance(1);
    return Status::Ok();
  }

  bool FollowsIdentifier() const { return pos_ > 0 && IsIdentifierChar(script_[pos_ - 1]); }

  Status SkipLineComment() {
    while (pos_ < script_.size() && script_[pos_] != '\n') Advance(1);
    return Status::Ok();
  }

  // PostgreSQL block comments nest.
  Status SkipBlockComment() {
    int start_line = line_;
    int depth = 0;
    while (pos_ < script_.size()) {
      if (script_[pos_] == '/' && At(pos_ + 1) == '*') {
        ++depth;
        Advance(2);
      } else if (script_[pos_] == '*' && At(pos_ + 1) == '/') {
        Advance(2);
        if (--depth == 0) return Status::Ok();
      } else {
        Advance(1);
      }
    }
    return Unterminated("block comment", start_line);
  }

  // A doubled quote character stands for itself; with `backslash_escapes` (E'...'), a backslash
  // escapes the next character.
  Status SkipQuoted(char quote, bool backslash_escapes, std::string_view what) {
    int start_line = line_;
    Advance(1);
    while (pos_ < script_.size()) {
      char c = script_[pos_];
      if (backslash_escapes && c == '\\') {
        Advance(2);
      } else if (c == quote && At(pos_ + 1) == quote) {
        Advance(2);
      } else if (c == quote) {
        Advance(1);
        return Status::Ok();
      } else {
        Advance(1);
      }
    }
    return Unterminated(what, start_line);
  }

  // Returns the dollar-quote opener at `pos` ("$$" or "$tag$"), or std::nullopt when the dollar
  // sign starts something else, such as the parameter $1.
  std::optional<std::string_view> DollarTagAt(size_t pos) const {
    size_t end = pos + 1;
    if (end < script_.size() && script_[end] != '$') {
      if (!IsIdentifierStart(script_[end])) return std::nullopt;
      while (end < script_.size() && IsIdentifierChar(script_[end]) && script_[end] != '$') ++end;
    }
    if (end >= script_.size() || script_[end] != '$') return std::nullopt;
    return script_.substr(pos, end - pos + 1);
  }

  Status SkipDollarQuoted(std::string_view tag) {
    int start_line = line_;
    size_t close = script_.find(tag, pos_ + tag.size());
    if (close == std::string_view::npos) {
      return Unterminated("dollar-quoted string " + std::string(tag), start_line);
    }
    Advance(close + tag.size() - pos_);
    return Status::Ok();
  }

  // Tracks keywords the way psql does for SQL-standard routine bodies: inside CREATE [OR
  // REPLACE] FUNCTION or PROCEDURE, BEGIN and CASE open a block that END closes.
  Status ReadWord() {
    size_t end = pos_;
    while (end < script_.size() && IsIdentifierChar(script_[end])) ++end;
    std::string word = Lower(script_.substr(pos_, end - pos_));
    if (words_.size() < 4) words_.push_back(word);
    if (IsRoutineDefinition()) {
      if (word == "begin" || word == "case") ++begin_depth_;
      if (word == "end" && begin_depth_ > 0) --begin_depth_;
    }
    Advance(end - pos_);
    return Status::Ok();
  }

  bool IsRoutineDefinition() const {
    auto is_routine = [](const std::string& word) {
      return word == "function" || word == "procedure";
    };
    if (words_.size() < 2 || words_[0] != "create") return false;
    if (is_routine(words_[1])) return true;
    return words_.size() >= 4 && words_[1] == "or" && words_[2] == "replace" &&
           is_routine(words_[3]);
  }

  std::string_view script_;
  size_t pos_ = 0;
  int line_ = 1;
  std::optional<size_t> start_;
  int start_line_ = 0;
  int paren_depth_ = 0;
  int begin_depth_ = 0;
  std::vector<std::string> words_;  // the first words of the current statement, lower-case
  std::vector<SqlStatement> statements_;
};

}  // namespace

std::string SqlStatement::FirstLine() const {
  constexpr size_t kMaxLength = 100;
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  if (line.size() > kMaxLength) line = line.substr(0, kMaxLength) + "...";
  return line;
}

Result<std::vector<SqlStatement>> SplitSqlStatements(std::string_view script) {
  return Splitter(script).Run();
}

}  // namespace rollbook::commands
