#include "projections/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <thread>

#include "ledger/ledger.h"
#include "projections/projection_store.h"

namespace rollbook::projections {
namespace {

using Clock = std::chrono::steady_clock;

// How long a follower waits after a failed read or commit before it reloads and tries again.
constexpr std::chrono::seconds kRetryDelay{1};
// How many events a rebuild folds under one lock acquisition.
constexpr size_t kFoldChunk = 256;

}  // namespace

struct ProjectionRunner::Slot {
  std::string name;

  // Guards `projection` and the store's column family of this projection.
  std::shared_mutex state_mutex;
  std::unique_ptr<Projection> projection;

  std::atomic<uint64_t> applied{0};
  std::atomic<uint64_t> committed{0};
  std::atomic<bool> caught_up{false};
  std::atomic<bool> rebuilding{false};
  size_t pending = 0;  // events applied since the last commit; touched by the folding thread only

  // Follower control.
  std::mutex control_mutex;
  std::condition_variable control_changed;
  std::thread thread;                            // guarded by control_mutex
  ledger::Subscription* subscription = nullptr;  // guarded by control_mutex
  bool stop = false;                             // guarded by control_mutex
  std::string last_error;                        // guarded by control_mutex
};

struct ProjectionRunner::Impl {
  Impl(ledger::Ledger& ledger_in, RunnerOptions options_in)
      : ledger(ledger_in), options(std::move(options_in)) {}

  ledger::Ledger& ledger;
  RunnerOptions options;
  std::unique_ptr<ProjectionStore> store;
  std::vector<std::unique_ptr<Slot>> slots;

  std::mutex progress_mutex;
  std::condition_variable progress_changed;

  Slot* Find(std::string_view name) {
    for (auto& slot : slots) {
      if (slot->name == name) return slot.get();
    }
    return nullptr;
  }

  Status UnknownProjection(std::string_view name) const {
    std::string known;
    for (const auto& slot : slots) known += (known.empty() ? "" : ", ") + slot->name;
    return NotFound("no projection named '" + std::string(name) + "'; known projections: " + known);
  }

  // --- State loading and committing ---------------------------------------------------------

  // Replaces the in-memory state with the stored one. REQUIRES: state_mutex held exclusively.
  Status LoadLocked(Slot& slot) {
    auto stored = store->ReadCheckpoint(slot.name);
    if (!stored.ok()) return stored.status();
    uint32_t wanted = slot.projection->format_version();
    if (stored->format_version != 0 && stored->format_version != wanted) {
      spdlog::info("projection {}: stored format {} differs from {}; rebuilding from the log",
                   slot.name, stored->format_version, wanted);
      ROLLBOOK_RETURN_IF_ERROR(store->Reset(slot.name));
    } else if (stored->position > ledger.HeadPosition()) {
      // The ledger lost events the projection had applied, as after a crash with --no-sync.
      spdlog::warn(
          "projection {}: checkpoint {} is past the ledger head {}; rebuilding from the log",
          slot.name, stored->position, ledger.HeadPosition());
      ROLLBOOK_RETURN_IF_ERROR(store->Reset(slot.name));
    }
    auto reader = store->NewReader(slot.name);
    if (!reader.ok()) return reader.status();
    Status loaded = slot.projection->Load(**reader);
    if (loaded.code() == StatusCode::kCorruption) {
      spdlog::warn("projection {}: stored state is unreadable ({}); rebuilding from the log",
                   slot.name, loaded.message());
      ROLLBOOK_RETURN_IF_ERROR(store->Reset(slot.name));
      reader = store->NewReader(slot.name);
      if (!reader.ok()) return reader.status();
      loaded = slot.projection->Load(**reader);
    }
    ROLLBOOK_RETURN_IF_ERROR(loaded);
    slot.applied = (*reader)->checkpoint();
    slot.committed = (*reader)->checkpoint();
    slot.pending = 0;
    return Status::Ok();
  }

  Status Reload(Slot& slot) {
    std::unique_lock<std::shared_mutex> lock(slot.state_mutex);
    return LoadLocked(slot);
  }

  // Stores the changes and the checkpoint. On failure the in-memory state is reloaded from the
  // store, because Save() already handed its changes over, and the caller refolds from there.
  Status Commit(Slot& slot) {
    std::unique_lock<std::shared_mutex> lock(slot.state_mutex);
    uint64_t position = slot.applied;
    Status committed = store->Commit(
        slot.name, [&](StateWriter& writer) { return slot.projection->Save(writer); }, position,
        slot.projection->format_version());
    if (committed.ok()) {
      slot.committed = position;
      slot.pending = 0;
      return committed;
    }
    Status reloaded = LoadLocked(slot);
    if (!reloaded.ok())
      spdlog::error("projection {}: reload failed: {}", slot.name, reloaded.ToString());
    return committed;
  }

  void Apply(Slot& slot, const ledger::RecordedEvent& event) {
    slot.projection->Apply(event);
    slot.applied = event.position;
    ++slot.pending;
  }

  void NotifyProgress() {
    { std::lock_guard<std::mutex> lock(progress_mutex); }
    progress_changed.notify_all();
  }

  void RecordError(Slot& slot, const Status& status) {
    std::lock_guard<std::mutex> lock(slot.control_mutex);
    slot.last_error = status.ToString();
  }

  void ClearError(Slot& slot) {
    std::lock_guard<std::mutex> lock(slot.control_mutex);
    slot.last_error.clear();
  }

  // --- Follower -------------------------------------------------------------------------------

  bool StopRequested(Slot& slot) {
    std::lock_guard<std::mutex> lock(slot.control_mutex);
    return slot.stop;
  }

  // Follows the ledger from the applied position until stopped or until a read or commit fails.
  Status FollowOnce(Slot& slot) {
    std::unique_ptr<ledger::Subscription> subscription = ledger.Subscribe(slot.applied);
    {
      std::lock_guard<std::mutex> lock(slot.control_mutex);
      if (slot.stop) return Status::Ok();
      slot.subscription = subscription.get();
    }
    Status status = FollowSubscription(slot, *subscription);
    {
      std::lock_guard<std::mutex> lock(slot.control_mutex);
      slot.subscription = nullptr;
    }
    if (status.ok() && slot.pending > 0) status = Commit(slot);
    return status;
  }

  Status FollowSubscription(Slot& slot, ledger::Subscription& subscription) {
    Clock::time_point deadline = Clock::now() + options.commit_interval;
    while (!StopRequested(slot)) {
      auto wait = std::chrono::milliseconds(1000);
      if (slot.pending > 0) {
        wait = std::max(
            std::chrono::milliseconds(0),
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      }
      auto next = subscription.Next(wait);
      if (!next.ok()) return next.status();
      if (next->has_value()) {
        {
          std::unique_lock<std::shared_mutex> lock(slot.state_mutex);
          Apply(slot, **next);
        }
        if (slot.applied >= ledger.HeadPosition()) slot.caught_up = true;
        NotifyProgress();
        if (slot.pending == 1) deadline = Clock::now() + options.commit_interval;
      } else if (!StopRequested(slot)) {
        slot.caught_up = true;
        NotifyProgress();
      }
      bool due = slot.pending >= options.commit_every_events ||
                 (slot.pending > 0 && Clock::now() >= deadline);
      if (due) ROLLBOOK_RETURN_IF_ERROR(Commit(slot));
    }
    return Status::Ok();
  }

  void Follow(Slot& slot) {
    spdlog::debug("projection {}: following from position {}", slot.name, slot.applied.load());
    while (!StopRequested(slot)) {
      Status status = FollowOnce(slot);
      if (status.ok()) {
        ClearError(slot);
        continue;
      }
      spdlog::error("projection {}: {}; retrying from position {}", slot.name, status.ToString(),
                    slot.committed.load());
      RecordError(slot, status);
      std::unique_lock<std::mutex> lock(slot.control_mutex);
      slot.control_changed.wait_for(lock, kRetryDelay, [&] { return slot.stop; });
      lock.unlock();
      Status reloaded = Reload(slot);
      if (!reloaded.ok()) RecordError(slot, reloaded);
    }
  }

  void StartFollower(Slot& slot) {
    std::lock_guard<std::mutex> lock(slot.control_mutex);
    if (slot.thread.joinable()) return;
    slot.stop = false;
    slot.thread = std::thread([this, &slot] { Follow(slot); });
  }

  // Returns whether a follower was running.
  bool StopFollower(Slot& slot) {
    std::thread thread;
    {
      std::lock_guard<std::mutex> lock(slot.control_mutex);
      if (!slot.thread.joinable()) return false;
      slot.stop = true;
      if (slot.subscription != nullptr) slot.subscription->Close();
      thread = std::move(slot.thread);
    }
    slot.control_changed.notify_all();
    thread.join();
    return true;
  }

  // --- Folding a range on the calling thread ----------------------------------------------------

  Result<nlohmann::json> Evaluate(std::string_view name, uint64_t position, int64_t until_ns) {
    Slot* slot = Find(name);
    if (slot == nullptr) return UnknownProjection(name);
    std::unique_ptr<Projection> prototype;
    {
      std::shared_lock<std::shared_mutex> lock(slot->state_mutex);
      prototype = slot->projection->NewDetached();
    }
    return EvaluateProjection(ledger, *prototype, position, until_ns);
  }

  Status RebuildStopped(Slot& slot, const RebuildProgress& progress) {
    {
      std::unique_lock<std::shared_mutex> lock(slot.state_mutex);
      ROLLBOOK_RETURN_IF_ERROR(store->Reset(slot.name));
      ROLLBOOK_RETURN_IF_ERROR(LoadLocked(slot));
    }
    uint64_t head = ledger.HeadPosition();
    spdlog::info("projection {}: rebuilding from position 1 to {}", slot.name, head);

    // Fold under the lock in chunks, so readers see the state grow and never a half-applied event.
    ledger::ReadOptions read;
    read.to_position = head;
    auto it = ledger.Read(read);
    if (!it.ok()) return it.status();
    while ((*it)->Valid()) {
      {
        std::unique_lock<std::shared_mutex> lock(slot.state_mutex);
        for (size_t n = 0; n < kFoldChunk && (*it)->Valid(); ++n, (*it)->Next()) {
          Apply(slot, (*it)->event());
        }
      }
      NotifyProgress();
      if (slot.pending >= options.commit_every_events) {
        ROLLBOOK_RETURN_IF_ERROR(Commit(slot));
        if (progress) progress(slot.applied, head);
      }
    }
    ROLLBOOK_RETURN_IF_ERROR((*it)->status());
    ROLLBOOK_RETURN_IF_ERROR(Commit(slot));
    if (progress) progress(slot.applied, head);
    spdlog::info("projection {}: rebuilt up to position {}", slot.name, slot.applied.load());
    return Status::Ok();
  }
};

Result<nlohmann::json> EvaluateProjection(ledger::Ledger& ledger, const Projection& prototype,
                                          uint64_t position, int64_t until_ns) {
  std::unique_ptr<Projection> detached = prototype.NewDetached();
  ledger::ReadOptions read;
  read.to_position = position;
  auto it = ledger.Read(read);
  if (!it.ok()) return it.status();

  // Recording times never decrease along positions, so the first later event ends the fold.
  uint64_t last = 0;
  for (; (*it)->Valid(); (*it)->Next()) {
    const ledger::RecordedEvent& event = (*it)->event();
    if (until_ns != 0 && event.recorded_at_ns > until_ns) break;
    detached->Apply(event);
    last = event.position;
  }
  ROLLBOOK_RETURN_IF_ERROR((*it)->status());
  return nlohmann::json{{"projection", std::string(prototype.name())},
                        {"position", last},
                        {"state", detached->ToJson()}};
}

std::string ProjectionDirectory(const std::string& ledger_directory) {
  return ledger_directory + "/projections";
}

ProjectionRunner::ProjectionRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ProjectionRunner::~ProjectionRunner() { Stop(); }

Result<std::unique_ptr<ProjectionRunner>> ProjectionRunner::Open(
    ledger::Ledger& ledger, std::vector<std::unique_ptr<Projection>> projections,
    RunnerOptions options) {
  if (options.directory.empty()) options.directory = ProjectionDirectory(ledger.directory());
  if (options.commit_every_events == 0) options.commit_every_events = 1;
  auto impl = std::make_unique<Impl>(ledger, options);

  std::vector<std::string> names;
  for (auto& projection : projections) {
    auto slot = std::make_unique<Slot>();
    slot->name = std::string(projection->name());
    if (impl->Find(slot->name) != nullptr) {
      return InvalidArgument("projection '" + slot->name + "' is registered twice");
    }
    slot->projection = std::move(projection);
    names.push_back(slot->name);
    impl->slots.push_back(std::move(slot));
  }

  auto store = ProjectionStore::Open(options.directory, names);
  if (!store.ok()) return store.status();
  impl->store = std::move(store).value();
  for (auto& slot : impl->slots) {
    Status loaded = impl->Reload(*slot);
    if (!loaded.ok()) return loaded.WithContext("cannot load projection " + slot->name);
    spdlog::debug("projection {}: loaded at position {}", slot->name, slot->applied.load());
  }
  return std::unique_ptr<ProjectionRunner>(new ProjectionRunner(std::move(impl)));
}

void ProjectionRunner::Start() {
  for (auto& slot : impl_->slots) impl_->StartFollower(*slot);
}

void ProjectionRunner::Stop() {
  for (auto& slot : impl_->slots) impl_->StopFollower(*slot);
}

Status ProjectionRunner::Rebuild(std::string_view name, const RebuildProgress& progress) {
  Slot* slot = impl_->Find(name);
  if (slot == nullptr) return impl_->UnknownProjection(name);
  if (slot->rebuilding.exchange(true)) {
    return Status(StatusCode::kConflict, "projection " + slot->name + " is already being rebuilt");
  }
  bool was_running = impl_->StopFollower(*slot);
  slot->caught_up = false;
  Status status = impl_->RebuildStopped(*slot, progress);
  if (!status.ok()) {
    spdlog::error("projection {}: rebuild failed: {}", slot->name, status.ToString());
    impl_->RecordError(*slot, status);
  }
  slot->rebuilding = false;
  if (was_running) impl_->StartFollower(*slot);
  return status;
}

Result<nlohmann::json> ProjectionRunner::EvaluateAt(std::string_view name, uint64_t position) {
  uint64_t head = impl_->ledger.HeadPosition();
  if (position > head) {
    return NotFound("position " + std::to_string(position) + " is past the ledger head " +
                    std::to_string(head));
  }
  return impl_->Evaluate(name, position, 0);
}

Result<nlohmann::json> ProjectionRunner::EvaluateAsOf(std::string_view name, int64_t time_ns) {
  if (time_ns <= 0) return InvalidArgument("as-of time must be after 1970-01-01T00:00:00Z");
  auto evaluated = impl_->Evaluate(name, impl_->ledger.HeadPosition(), time_ns);
  if (evaluated.ok()) (*evaluated)["as_of_ns"] = time_ns;
  return evaluated;
}

Status ProjectionRunner::Read(
    std::string_view name,
    const std::function<Status(const Projection& projection, StateReader& stored)>& read) {
  Slot* slot = impl_->Find(name);
  if (slot == nullptr) return impl_->UnknownProjection(name);
  std::shared_lock<std::shared_mutex> lock(slot->state_mutex);
  auto reader = impl_->store->NewReader(slot->name);
  if (!reader.ok()) return reader.status();
  return read(*slot->projection, **reader);
}

bool ProjectionRunner::WaitForPosition(uint64_t position, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->progress_mutex);
  return impl_->progress_changed.wait_for(lock, timeout, [&] {
    for (const auto& slot : impl_->slots) {
      if (slot->applied.load() < position) return false;
    }
    return true;
  });
}

std::vector<ProjectionStatus> ProjectionRunner::Statuses() const {
  std::vector<ProjectionStatus> statuses;
  for (const auto& slot : impl_->slots) {
    ProjectionStatus status;
    status.name = slot->name;
    status.applied_position = slot->applied;
    status.committed_position = slot->committed;
    status.caught_up = slot->caught_up;
    status.rebuilding = slot->rebuilding;
    std::lock_guard<std::mutex> lock(slot->control_mutex);
    status.last_error = slot->last_error;
    statuses.push_back(std::move(status));
  }
  return statuses;
}

bool ProjectionRunner::CaughtUp() const {
  return std::all_of(impl_->slots.begin(), impl_->slots.end(),
                     [](const auto& slot) { return slot->caught_up.load(); });
}

std::vector<std::string> ProjectionRunner::names() const {
  std::vector<std::string> names;
  for (const auto& slot : impl_->slots) names.push_back(slot->name);
  return names;
}

}  // namespace rollbook::projections
