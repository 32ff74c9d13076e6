// The SVG Gantt chart of a rollback: a row per component and per step, on a shared time axis
// that starts at the rollback request.
#include <fmt/core.h>

#include <algorithm>

#include "analyzer/format.h"
#include "analyzer/report.h"

namespace rollbook::analyzer {
namespace {

constexpr int kLabelWidth = 300;
constexpr int kPlotWidth = 640;
constexpr int kRowHeight = 18;
constexpr int kBarHeight = 12;
constexpr int kAxisHeight = 24;
constexpr int kMinBarWidth = 2;  // a step that took no measurable time still shows

std::string ColorFor(const std::string& status) {
  if (status == "succeeded") return "#2e7d32";
  if (status == "failed") return "#c62828";
  if (status == "retrying") return "#ef6c00";
  if (status == "skipped" || status == "cancelled") return "#9e9e9e";
  if (status == "outcome-unknown") return "#6a1b9a";
  if (status == "running") return "#1565c0";
  if (status == "partially-succeeded") return "#f9a825";
  return "#bdbdbd";  // pending
}

int64_t ChartEndMs(const Analysis& analysis) {
  int64_t end = std::max<int64_t>(analysis.duration_ms, 1);
  for (const ComponentReport& component : analysis.components) {
    end = std::max(end, component.finished_offset_ms);
    for (const StepReport& step : component.steps) end = std::max(end, step.finished_offset_ms);
  }
  return end;
}

class Chart {
 public:
  explicit Chart(const Analysis& analysis) : analysis_(analysis), end_ms_(ChartEndMs(analysis)) {}

  std::string Render() {
    for (const ComponentReport& component : analysis_.components) {
      ComponentRow(component);
      for (const StepReport& step : component.steps) StepRow(component, step);
    }
    int height = kAxisHeight + row_ * kRowHeight + 4;
    int width = kLabelWidth + kPlotWidth + 48;  // room for the last tick label
    return fmt::format(
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
               "viewBox=\"0 0 {} {}\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\" "
               "aria-label=\"Timeline of rollback {}\">\n",
               width, height, width, height, XmlEscape(analysis_.rollback.id)) +
           Axis(height) + body_ + "</svg>\n";
  }

 private:
  int X(int64_t offset_ms) const {
    int64_t clamped = std::clamp<int64_t>(offset_ms, 0, end_ms_);
    return kLabelWidth + static_cast<int>(clamped * kPlotWidth / end_ms_);
  }

  std::string Axis(int height) const {
    std::string axis;
    for (int tick = 0; tick <= 4; ++tick) {
      int64_t at_ms = end_ms_ * tick / 4;
      int x = X(at_ms);
      axis += fmt::format(
          "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e0e0e0\" />\n"
          "<text x=\"{}\" y=\"14\" text-anchor=\"middle\">{}</text>\n",
          x, kAxisHeight - 6, x, height, x, XmlEscape(FormatOffset(at_ms)));
    }
    return axis;
  }

  int RowY() const { return kAxisHeight + row_ * kRowHeight; }

  void ComponentRow(const ComponentReport& component) {
    int y = RowY();
    body_ += fmt::format("<text x=\"4\" y=\"{}\" font-weight=\"bold\">{}</text>\n", y + kBarHeight,
                         XmlEscape(component.name));
    if (component.started_offset_ms >= 0) {
      int64_t end = component.finished_offset_ms >= 0
                        ? component.finished_offset_ms
                        : component.started_offset_ms + component.duration_ms;
      int x = X(component.started_offset_ms);
      int width = std::max(X(end) - x, kMinBarWidth);
      body_ += fmt::format(
          "<rect data-component=\"{}\" data-outcome=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" "
          "height=\"{}\" fill=\"{}\" fill-opacity=\"0.25\"><title>{}: {} in {}</title></rect>\n",
          XmlEscape(component.name), XmlEscape(component.status), x, y + 2, width, kBarHeight,
          ColorFor(component.status), XmlEscape(component.name), XmlEscape(component.status),
          XmlEscape(FormatMs(component.duration_ms)));
    }
    ++row_;
  }

  void StepRow(const ComponentReport& component, const StepReport& step) {
    int y = RowY();
    std::string key = component.name + "/" + step.name;
    body_ +=
        fmt::format("<text x=\"16\" y=\"{}\">{}</text>\n", y + kBarHeight, XmlEscape(step.name));
    // A step that never started is drawn as a thin mark where its component started.
    int64_t start = step.started_offset_ms >= 0 ? step.started_offset_ms
                                                : std::max<int64_t>(component.started_offset_ms, 0);
    int64_t end = step.finished_offset_ms >= 0 ? step.finished_offset_ms : start;
    int x = X(start);
    int width = std::max(X(end) - x, kMinBarWidth);
    body_ += fmt::format(
        "<rect data-step=\"{}\" data-outcome=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
        "fill=\"{}\"><title>{}: {}, {} attempt(s), {}</title></rect>\n",
        XmlEscape(key), XmlEscape(step.status), x, y + 2, width, kBarHeight, ColorFor(step.status),
        XmlEscape(key), XmlEscape(step.status), step.attempts,
        XmlEscape(FormatMs(step.duration_ms)));
    ++row_;
  }

  const Analysis& analysis_;
  const int64_t end_ms_;
  int row_ = 0;
  std::string body_;
};

}  // namespace

std::string RenderGanttSvg(const Analysis& analysis) { return Chart(analysis).Render(); }

}  // namespace rollbook::analyzer
