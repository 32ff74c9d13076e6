// ctest-labels: unit
// Splitting SQL scripts into statements for the postgres driver's sql action.
#include "commands/drivers/sql_statements.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rollbook::commands {
namespace {

std::vector<std::string> Texts(std::string_view script) {
  Result<std::vector<SqlStatement>> statements = SplitSqlStatements(script);
  EXPECT_TRUE(statements.ok()) << statements.status().ToString();
  std::vector<std::string> texts;
  if (!statements.ok()) return texts;
  for (const SqlStatement& statement : *statements) texts.push_back(statement.text);
  return texts;
}

Status SplitError(std::string_view script) {
  Result<std::vector<SqlStatement>> statements = SplitSqlStatements(script);
  return statements.ok() ? Status::Ok() : statements.status();
}

TEST(SqlStatementsTest, SplitsAtSemicolons) {
  EXPECT_EQ(Texts("SELECT 1; SELECT 2;\nSELECT 3"),
            (std::vector<std::string>{"SELECT 1", "SELECT 2", "SELECT 3"}));
}

TEST(SqlStatementsTest, RecordsStartLine) {
  Result<std::vector<SqlStatement>> statements =
      SplitSqlStatements("-- header\n\nCREATE TABLE a (id int);\n/* note */\nDROP TABLE b;\n");

  ASSERT_TRUE(statements.ok());
  ASSERT_EQ(statements->size(), 2u);
  EXPECT_EQ((*statements)[0].line, 3);
  EXPECT_EQ((*statements)[0].text, "CREATE TABLE a (id int)");
  EXPECT_EQ((*statements)[1].line, 5);
}

TEST(SqlStatementsTest, SkipsEmptyStatements) {
  EXPECT_EQ(Texts(";; SELECT 1;;\n;"), (std::vector<std::string>{"SELECT 1"}));
  EXPECT_TRUE(Texts("-- only a comment\n/* and another */").empty());
}

TEST(SqlStatementsTest, KeepsSemicolonsInQuotes) {
  EXPECT_EQ(Texts("INSERT INTO t VALUES ('a;b', 'it''s; fine'); SELECT \"odd;name\" FROM t"),
            (std::vector<std::string>{"INSERT INTO t VALUES ('a;b', 'it''s; fine')",
                                      "SELECT \"odd;name\" FROM t"}));
  EXPECT_EQ(Texts("SELECT E'\\';'; SELECT 2"),
            (std::vector<std::string>{"SELECT E'\\';'", "SELECT 2"}));
}

TEST(SqlStatementsTest, KeepsSemicolonsInComments) {
  EXPECT_EQ(Texts("SELECT 1 -- trailing; comment\n; SELECT /* a; /* nested; */ b; */ 2"),
            (std::vector<std::string>{"SELECT 1 -- trailing; comment",
                                      "SELECT /* a; /* nested; */ b; */ 2"}));
}

TEST(SqlStatementsTest, KeepsDollarQuotedBodies) {
  std::string function =
      "CREATE FUNCTION f() RETURNS int AS $fn$\nBEGIN\n  RETURN $$;$$::text;\nEND\n$fn$ "
      "LANGUAGE plpgsql";
  EXPECT_EQ(Texts(function + ";\nDO $$ BEGIN PERFORM 1; END $$;"),
            (std::vector<std::string>{function, "DO $$ BEGIN PERFORM 1; END $$"}));
}

TEST(SqlStatementsTest, ParametersAndIdentifiersWithDollarAreNotQuotes) {
  EXPECT_EQ(Texts("PREPARE p AS SELECT $1; SELECT a$b$ FROM t;"),
            (std::vector<std::string>{"PREPARE p AS SELECT $1", "SELECT a$b$ FROM t"}));
}

TEST(SqlStatementsTest, KeepsAtomicRoutineBodies) {
  std::string body =
      "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql\nBEGIN ATOMIC\n  INSERT INTO t VALUES (1);\n"
      "  SELECT CASE WHEN true THEN 1 END;\nEND";
  EXPECT_EQ(Texts(body + ";\nSELECT 2;"), (std::vector<std::string>{body, "SELECT 2"}));
}

TEST(SqlStatementsTest, KeepsParenthesizedSemicolons) {
  std::string rule =
      "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); "
      "INSERT INTO b VALUES (2))";
  EXPECT_EQ(Texts(rule + "; SELECT 1"), (std::vector<std::string>{rule, "SELECT 1"}));
}

TEST(SqlStatementsTest, RejectsUnterminatedQuote) {
  Status status = SplitError("SELECT 1;\nSELECT 'oops;\n");

  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("string literal starting on line 2"), std::string::npos)
      << status.message();
}

TEST(SqlStatementsTest, RejectsUnterminatedCommentAndDollarQuote) {
  EXPECT_NE(SplitError("SELECT 1 /* never closed").message().find("block comment"),
            std::string::npos);
  EXPECT_NE(SplitError("DO $x$ BEGIN END $y$;").message().find("$x$"), std::string::npos);
}

TEST(SqlStatementsTest, RejectsPsqlMetaCommands) {
  Status status = SplitError("SELECT 1;\n\\connect other\nSELECT 2;");

  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("\\connect"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("line 2"), std::string::npos);
}

TEST(SqlStatementsTest, FirstLineIsShort) {
  SqlStatement statement{"UPDATE t SET a = 1\nWHERE b = 2", 1};
  EXPECT_EQ(statement.FirstLine(), "UPDATE t SET a = 1");

  SqlStatement long_statement{std::string(150, 'x'), 1};
  EXPECT_EQ(long_statement.FirstLine(), std::string(100, 'x') + "...");
}

}  // namespace
}  // namespace rollbook::commands
