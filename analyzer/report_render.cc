// Laying out the report document as Markdown, HTML or JSON.
#include <nlohmann/json.hpp>

#include "analyzer/analysis_output.h"
#include "analyzer/format.h"
#include "analyzer/report_document.h"

namespace rollbook::analyzer {
namespace internal {
namespace {

// Table cells cannot hold a line break or an unescaped pipe in Markdown.
std::string MarkdownCell(std::string_view text) {
  std::string cell;
  for (char c : text) {
    if (c == '|') {
      cell += "\\|";
    } else if (c == '\n' || c == '\r') {
      cell += ' ';
    } else {
      cell += c;
    }
  }
  return cell;
}

std::string MarkdownLine(std::string_view text) {
  std::string line;
  for (char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;
  return line;
}

std::string MarkdownTable(const std::vector<std::string>& header,
                          const std::vector<std::vector<std::string>>& rows) {
  std::string text = "|";
  std::string rule = "|";
  for (const std::string& name : header) {
    text += " " + MarkdownCell(name) + " |";
    rule += " --- |";
  }
  text += "\n" + rule + "\n";
  for (const auto& row : rows) {
    text += "|";
    for (const std::string& cell : row) text += " " + MarkdownCell(cell) + " |";
    text += "\n";
  }
  return text;
}

struct MarkdownBlock {
  std::string& out;
  void operator()(const Paragraph& paragraph) { out += MarkdownLine(paragraph.text) + "\n\n"; }
  void operator()(const KeyValues& values) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [key, value] : values.rows) rows.push_back({key, value});
    out += MarkdownTable({"Item", "Value"}, rows) + "\n";
  }
  void operator()(const Table& table) { out += MarkdownTable(table.header, table.rows) + "\n"; }
  void operator()(const BulletList& list) {
    for (const std::string& item : list.items) out += "- " + MarkdownLine(item) + "\n";
    out += "\n";
  }
  void operator()(const ChartPlaceholder&) {}
};

constexpr const char* kStyle = R"css(
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
tr.failed td, tr.overdue td { background: #fdecea; }
tr.over td { background: #fff4e5; }
tr.component td { font-weight: bold; }
tr.resolved td { color: #777; }
.chart { overflow-x: auto; }
)css";

struct HtmlBlock {
  std::string& out;
  const std::string& chart;

  void operator()(const Paragraph& paragraph) {
    out += "<p>" + XmlEscape(paragraph.text) + "</p>\n";
  }
  void operator()(const KeyValues& values) {
    out += "<table>\n";
    for (const auto& [key, value] : values.rows) {
      out += "<tr><th>" + XmlEscape(key) + "</th><td>" + XmlEscape(value) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  void operator()(const Table& table) {
    out += "<table>\n<tr>";
    for (const std::string& name : table.header) out += "<th>" + XmlEscape(name) + "</th>";
    out += "</tr>\n";
    for (size_t r = 0; r < table.rows.size(); ++r) {
      const std::string& row_class = r < table.row_classes.size() ? table.row_classes[r] : "";
      out += row_class.empty() ? "<tr>" : "<tr class=\"" + XmlEscape(row_class) + "\">";
      for (const std::string& cell : table.rows[r]) out += "<td>" + XmlEscape(cell) + "</td>";
      out += "</tr>\n";
    }
    out += "</table>\n";
  }
  void operator()(const BulletList& list) {
    out += "<ul>\n";
    for (const std::string& item : list.items) out += "<li>" + XmlEscape(item) + "</li>\n";
    out += "</ul>\n";
  }
  void operator()(const ChartPlaceholder&) {
    out += "<div class=\"chart\">\n" + chart + "</div>\n";
  }
};

}  // namespace

std::string RenderMarkdown(const ReportDocument& document) {
  std::string out = "# " + MarkdownLine(document.title) + "\n\n";
  for (const Section& section : document.sections) {
    out += "## " + section.title + "\n\n";
    for (const Block& block : section.blocks) std::visit(MarkdownBlock{out}, block);
  }
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n')
    out.pop_back();
  return out;
}

std::string RenderHtml(const ReportDocument& document, const std::string& chart_svg) {
  std::string out =
      "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
      "<meta charset=\"utf-8\" />\n<title>" +
      XmlEscape(document.title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  out += "<h1>" + XmlEscape(document.title) + "</h1>\n";
  for (const Section& section : document.sections) {
    out += "<h2 id=\"" + XmlEscape(section.id) + "\">" + XmlEscape(section.title) + "</h2>\n";
    for (const Block& block : section.blocks) std::visit(HtmlBlock{out, chart_svg}, block);
  }
  out += "</body>\n</html>\n";
  return out;
}

std::string RenderReportJson(const Analysis& analysis, const ReportOptions& options) {
  nlohmann::ordered_json json = AnalysisToJson(analysis, AnalysisSection::kFull);
  ReportMetrics metrics = ComputeMetrics(analysis, options.as_of_ns);
  json["report"] = {{"as_of", FormatTime(options.as_of_ns)},
                    {"impact_window",
                     {{"start", FormatTime(analysis.rollback.requested_at_ns)},
                      {"end", FormatTime(analysis.rollback.completed_at_ns)},
                      {"duration_ms", analysis.duration_ms}}},
                    {"metrics",
                     {{"components", metrics.components},
                      {"components_succeeded", metrics.components_succeeded},
                      {"steps", metrics.steps},
                      {"steps_succeeded", metrics.steps_succeeded},
                      {"steps_failed", metrics.steps_failed},
                      {"steps_skipped", metrics.steps_skipped},
                      {"attempts", metrics.attempts},
                      {"failed_attempts", metrics.failed_attempts},
                      {"retries", metrics.retries},
                      {"backups", metrics.backups},
                      {"changes", metrics.changes},
                      {"verifications_passed", metrics.verifications_passed},
                      {"verifications_failed", metrics.verifications_failed},
                      {"notifications_sent", metrics.notifications_sent},
                      {"notifications_failed", metrics.notifications_failed},
                      {"first_change_offset_ms", metrics.first_change_offset_ms},
                      {"open_action_items", metrics.open_action_items},
                      {"overdue_action_items", metrics.overdue_action_items}}}};
  for (size_t i = 0; i < analysis.action_items.size(); ++i) {
    json["action_items"][i]["overdue"] = Overdue(analysis.action_items[i], options.as_of_ns);
  }
  return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace internal

Result<ReportFormat> ParseReportFormat(std::string_view name) {
  if (name == "md" || name == "markdown") return ReportFormat::kMarkdown;
  if (name == "json") return ReportFormat::kJson;
  if (name == "html") return ReportFormat::kHtml;
  return InvalidArgument("unknown report format '" + std::string(name) + "'; use md, json or html");
}

std::string XmlEscape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        // XML 1.0 forbids most control characters even as references, so they become spaces.
        escaped += (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') ? ' ' : c;
    }
  }
  return escaped;
}

std::string RenderReport(const Analysis& analysis, ReportFormat format,
                         const ReportOptions& options) {
  switch (format) {
    case ReportFormat::kMarkdown:
      return internal::RenderMarkdown(internal::BuildReportDocument(analysis, options));
    case ReportFormat::kHtml:
      return internal::RenderHtml(internal::BuildReportDocument(analysis, options),
                                  RenderGanttSvg(analysis));
    case ReportFormat::kJson:
      return internal::RenderReportJson(analysis, options);
  }
  return {};
}

}  // namespace rollbook::analyzer
