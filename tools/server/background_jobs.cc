#include "tools/server/background_jobs.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "ledger/time_format.h"
#include "projections/runner.h"

namespace rollbook::server {

nlohmann::json VerifyJob::Poll(bool refresh) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t head = ledger_.HeadPosition();
  bool covered = report_ && report_->head_position >= head && error_.empty();
  if (!running_ && !stopping_ && (refresh || !covered)) {
    if (thread_.joinable()) thread_.join();  // the previous run has finished
    running_ = true;
    checked_ = 0;
    target_ = head;
    started_at_ns_ = ledger::NowNs();
    thread_ = std::thread([this, head] { Run(head); });
  }
  nlohmann::json state = StateLocked();
  state["head_position"] = head;
  return state;
}

nlohmann::json VerifyJob::StateLocked() const {
  nlohmann::json state;
  state["running"] = running_;
  if (running_) {
    state["progress"] = {{"checked", checked_},
                         {"target", target_},
                         {"started_at", ledger::FormatTimestamp(started_at_ns_)}};
  }
  if (report_) {
    state["last_result"] = {{"intact", report_->intact},
                            {"events_checked", report_->events_checked},
                            {"head_position", report_->head_position},
                            {"first_bad_position", report_->first_bad_position},
                            {"problem", report_->problem},
                            {"finished_at", ledger::FormatTimestamp(finished_at_ns_)}};
  }
  if (!error_.empty()) state["last_error"] = error_;
  return state;
}

void VerifyJob::Run(uint64_t target) {
  spdlog::info("verify: checking the chain up to position {}", target);
  ledger::VerifyOptions options;
  options.progress = [this](uint64_t checked, uint64_t) {
    std::lock_guard<std::mutex> lock(mutex_);
    checked_ = checked;
  };
  auto report = ledger_.Verify(options);

  std::lock_guard<std::mutex> lock(mutex_);
  running_ = false;
  finished_at_ns_ = ledger::NowNs();
  if (!report.ok()) {
    error_ = report.status().ToString();
    spdlog::error("verify: failed: {}", error_);
    return;
  }
  error_.clear();
  report_ = *report;
  checked_ = report->events_checked;
  if (report->intact) {
    spdlog::info("verify: chain intact, {} events checked", report->events_checked);
  } else {
    spdlog::error("verify: chain broken at position {}: {}", report->first_bad_position,
                  report->problem);
  }
}

void VerifyJob::Stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

Status RebuildJobs::Start(const std::string& name, const std::string& actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return Status(StatusCode::kUnavailable, "the server is shutting down");
  if (running_[name]) {
    return Status(StatusCode::kConflict, "projection " + name + " is already being rebuilt");
  }
  auto previous = threads_.find(name);
  if (previous != threads_.end() && previous->second.joinable()) previous->second.join();
  running_[name] = true;
  spdlog::info("rebuild of projection {} requested by {}", name, actor);
  threads_[name] = std::thread([this, name] {
    Status status = runner_.Rebuild(name);
    if (!status.ok()) spdlog::error("rebuild of projection {} failed: {}", name, status.ToString());
    std::lock_guard<std::mutex> done(mutex_);
    running_[name] = false;
  });
  return Status::Ok();
}

void RebuildJobs::Stop() {
  std::map<std::string, std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    threads = std::move(threads_);
  }
  for (auto& [name, thread] : threads) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace rollbook::server
