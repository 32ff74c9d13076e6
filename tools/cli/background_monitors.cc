#include "tools/cli/background_monitors.h"

#include <spdlog/spdlog.h>

namespace rollbook::cli {

BackgroundMonitors::~BackgroundMonitors() {
  stopping_ = true;
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [id, run] : runs_) {
    if (run->thread.joinable()) run->thread.join();
  }
}

void BackgroundMonitors::ReapFinishedLocked() {
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (!it->second->done) {
      ++it;
      continue;
    }
    if (it->second->thread.joinable()) it->second->thread.join();
    it = runs_.erase(it);
  }
}

Status BackgroundMonitors::Start(const projections::RollbackState& rollback,
                                 analyzer::MonitorSpec spec, analyzer::MonitorOptions options) {
  std::lock_guard<std::mutex> lock(mutex_);
  ReapFinishedLocked();
  if (runs_.contains(rollback.id) || foreground_.contains(rollback.id)) {
    return Conflict(rollback.id +
                    " is already being monitored by this process; wait for its "
                    "monitorCompleted event or stop the process");
  }
  options.keep_running = [this] { return !stopping_.load(); };
  options.progress = nullptr;  // no terminal here: breaches and recoveries go to the ledger
  auto run = std::make_unique<Run>();
  Run* started = run.get();
  run->thread =
      std::thread([this, started, rollback, spec = std::move(spec), options = std::move(options)] {
        spdlog::info("monitoring {} in the background", rollback.id);
        auto summary = analyzer::RunMonitor(ledger_, rollback, spec, options);
        if (summary.ok()) {
          spdlog::info("monitoring {} ended: {}", rollback.id, summary->text);
        } else {
          spdlog::error("monitoring {} failed: {}", rollback.id, summary.status().ToString());
        }
        started->done = true;
      });
  runs_.emplace(rollback.id, std::move(run));
  return Status::Ok();
}

BackgroundMonitors::ForegroundRun::ForegroundRun(BackgroundMonitors& monitors,
                                                 std::string rollback_id)
    : monitors_(monitors), rollback_id_(std::move(rollback_id)) {
  std::lock_guard<std::mutex> lock(monitors_.mutex_);
  monitors_.foreground_.insert(rollback_id_);
}

BackgroundMonitors::ForegroundRun::~ForegroundRun() {
  std::lock_guard<std::mutex> lock(monitors_.mutex_);
  monitors_.foreground_.erase(rollback_id_);
}

}  // namespace rollbook::cli
