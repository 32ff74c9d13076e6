// ctest-labels: unit
// Communication templates: built-ins filled from ledger facts, a templates directory that
// overrides and adds, and placeholders missing from the data reported by name.
#include "analyzer/comms.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/analyzer/analyzer_fixture.h"

namespace rollbook::testing {
namespace {

class CommsTest : public AnalyzerTest {
 protected:
  void SetUp() override {
    AnalyzerTest::SetUp();
    WriteEventfulRollback();
    AddActionItems();
    analysis_ = Analyze("rb-1");
    templates_ = dir_.Join("templates");
    std::filesystem::create_directories(templates_);
  }

  void WriteTemplate(const std::string& name, const std::string& text) {
    std::ofstream(templates_ + "/" + name + ".mustache") << text;
  }

  Result<std::string> Render(const std::string& name, bool with_dir = false) {
    return analyzer::RenderComms(
        analysis_, name, analyzer::CommsOptions{with_dir ? templates_ : "", kHistoryEpochNs});
  }

  Result<std::string> RenderText(const std::string& text) {
    return analyzer::RenderCommsText(analysis_, "custom", text,
                                     analyzer::CommsOptions{"", kHistoryEpochNs});
  }

  analyzer::Analysis analysis_;
  std::string templates_;
};

TEST_F(CommsTest, EveryBuiltInTemplateRenders) {
  for (const std::string& name : analyzer::BuiltInTemplateNames()) {
    auto text = Render(name);
    ASSERT_TRUE(text.ok()) << name << ": " << text.status().ToString();
    EXPECT_FALSE(text->empty()) << name;
    ExpectGolden("comms-" + name + ".txt", *text);
  }
  EXPECT_EQ(analyzer::BuiltInTemplateNames().size(), 6u);
}

TEST_F(CommsTest, InternalStartCarriesLedgerFacts) {
  auto text = Render("internal-start");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("Rollback rb-1 started: checkout in production"), std::string::npos)
      << *text;
  EXPECT_NE(text->find("Reason: checkout error rate above 5%"), std::string::npos);
  EXPECT_NE(text->find("Started by alice at 2026-12-04T10:00:00.000Z"), std::string::npos);
}

TEST_F(CommsTest, ExternalTextsLeakNoInternals) {
  for (const char* name : {"external-start", "external-resolved"}) {
    auto text = Render(name);
    ASSERT_TRUE(text.ok());
    for (const char* internal : {"web-1.internal", "rb-1", "alice", "connection refused"}) {
      EXPECT_EQ(text->find(internal), std::string::npos) << name << " mentions " << internal;
    }
  }
}

TEST_F(CommsTest, MissingPlaceholderIsAnErrorNamingIt) {
  auto text = RenderText("Status page: {{status_page_url}}\n");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(text.status().message().find("{{status_page_url}}"), std::string::npos);
  EXPECT_NE(text.status().message().find("line 1"), std::string::npos);
}

TEST_F(CommsTest, MissingPlaceholderInsideEmptyListIsFound) {
  // This rollback skipped no step, so the section never renders, and the check still finds it.
  auto text = RenderText("{{#skipped}}\n- {{step}} by {{who}}\n{{/skipped}}\n");
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("{{who}}"), std::string::npos) << text.status().message();
  EXPECT_NE(text.status().message().find("line 2"), std::string::npos);
}

TEST_F(CommsTest, ListItemFieldsAndOuterNamesResolve) {
  auto text = RenderText("{{#components}}{{name}} of {{feature}}: {{status}}\n{{/components}}");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "flags of checkout: succeeded\nweb of checkout: succeeded\n");
}

TEST_F(CommsTest, SkippedSectionsLeaveNoBlankLine) {
  auto text = RenderText(
      "A\n{{#skipped}}\n- "
      "{{step}}\n{{/skipped}}\n{{^completed}}\nrunning\n{{/completed}}\nB\n\nC\n");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "A\nB\n\nC\n");
}

TEST_F(CommsTest, ValuesAreNotHtmlEscaped) {
  auto text = RenderText("{{reason}} & {{{feature}}}");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "checkout error rate above 5% & checkout");
}

TEST_F(CommsTest, MalformedTemplatesAreRejected) {
  EXPECT_FALSE(RenderText("{{#components}}{{name}}").ok());    // never closed
  EXPECT_FALSE(RenderText("{{#components}}{{/notes}}").ok());  // closed by another
  EXPECT_FALSE(RenderText("{{> header}}").ok());               // partials unsupported
  EXPECT_FALSE(RenderText("{{feature").ok());                  // unterminated tag
  auto custom_delimiters = RenderText("{{=<% %>=}}<% feature %> {{literal}}");
  ASSERT_TRUE(custom_delimiters.ok()) << custom_delimiters.status().ToString();
  EXPECT_EQ(*custom_delimiters, "checkout {{literal}}");
}

TEST_F(CommsTest, DirectoryOverridesAndAddsTemplates) {
  WriteTemplate("internal-start", "Custom start for {{rollback_id}}\n");
  WriteTemplate("status-page", "{{feature}} is {{outcome}}\n");
  auto overridden = Render("internal-start", true);
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(*overridden, "Custom start for rb-1\n");
  auto added = Render("status-page", true);
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(*added, "checkout is succeeded\n");
  auto names = analyzer::ListTemplates(analyzer::CommsOptions{templates_, 0});
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 7u);
}

TEST_F(CommsTest, BrokenOverrideNamesTheTemplate) {
  WriteTemplate("internal-update", "{{elapsed_minutes}}\n");
  auto text = Render("internal-update", true);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("internal-update"), std::string::npos);
  EXPECT_NE(text.status().message().find("{{elapsed_minutes}}"), std::string::npos);
}

TEST_F(CommsTest, UnknownTemplateListsTheKnownOnes) {
  auto text = Render("press-release");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kNotFound);
  EXPECT_NE(text.status().message().find("internal-start"), std::string::npos);
  EXPECT_EQ(Render("../etc/passwd").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rollbook::testing
