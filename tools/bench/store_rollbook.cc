// rollbook's side of every comparison: the ledger through its public interface.
#include <memory>

#include "ledger/ledger.h"
#include "tools/bench/stores.h"

namespace rollbook::bench {
namespace {

constexpr auto kCatchUpWait = std::chrono::milliseconds(100);
constexpr size_t kCatchUpMaxEvents = 512;

class RollbookSession final : public Session {
 public:
  explicit RollbookSession(ledger::Ledger& ledger) : ledger_(ledger) {}

  Status Append(const std::string& stream,
                const std::vector<const ledger::NewEvent*>& events) override {
    ledger::AppendRequest request;
    request.stream = stream;
    request.actor = "bench";
    request.events.reserve(events.size());
    for (const ledger::NewEvent* event : events) request.events.push_back(*event);
    auto appended = ledger_.Append(request);
    return appended.ok() ? Status::Ok() : appended.status();
  }

  Result<size_t> ReadNewest(size_t count) override {
    ledger::ReadOptions options;
    options.backward = true;
    options.limit = count;
    auto it = ledger_.Read(options);
    if (!it.ok()) return it.status();
    size_t read = 0;
    for (; (*it)->Valid(); (*it)->Next()) ++read;
    ROLLBOOK_RETURN_IF_ERROR((*it)->status());
    return read;
  }

  Result<uint64_t> LastPosition() override { return ledger_.HeadPosition(); }

  // Uses a real subscription, created at the first call and kept for the session.
  Result<uint64_t> CatchUp(uint64_t after) override {
    if (!subscription_) subscription_ = ledger_.Subscribe(after);
    auto first = subscription_->Next(kCatchUpWait);
    if (!first.ok()) return first.status();
    if (!first->has_value()) return subscription_->position();
    for (size_t n = 1; n < kCatchUpMaxEvents; ++n) {
      auto next = subscription_->Next(std::chrono::milliseconds(0));
      if (!next.ok()) return next.status();
      if (!next->has_value()) break;
    }
    return subscription_->position();
  }

 private:
  ledger::Ledger& ledger_;
  std::unique_ptr<ledger::Subscription> subscription_;
};

class RollbookStore final : public Store {
 public:
  explicit RollbookStore(std::unique_ptr<ledger::Ledger> ledger) : ledger_(std::move(ledger)) {}

  Result<std::unique_ptr<Session>> NewSession() override {
    return std::unique_ptr<Session>(std::make_unique<RollbookSession>(*ledger_));
  }
  std::string name() const override { return "rollbook"; }

 private:
  std::unique_ptr<ledger::Ledger> ledger_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenRollbookStore(const StoreOptions& options) {
  ledger::Options ledger_options;
  ledger_options.directory = options.directory;
  ledger_options.sync = options.sync;
  ledger_options.owner = "rollbook-bench";
  auto ledger = options.reuse ? ledger::Ledger::Open(ledger_options)
                              : ledger::Ledger::Create(ledger_options, "bench");
  if (!ledger.ok()) return ledger.status();
  return std::unique_ptr<Store>(std::make_unique<RollbookStore>(std::move(ledger).value()));
}

}  // namespace rollbook::bench
