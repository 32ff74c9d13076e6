// The benchmark workload: which stream each append goes to, and the payload bytes it carries.
//
// Streams follow a Zipf distribution (stream k is chosen with probability proportional to
// 1 / k^exponent), so a few streams are hot and most are cold, as with rollbacks and notes on a
// busy service. Payloads are serialized annotation events of about 300 bytes of word-like text,
// built before timing starts so that every store writes exactly the same bytes.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ledger/event.h"

namespace rollbook::bench {

struct WorkloadOptions {
  size_t stream_count = 10000;
  double zipf_exponent = 1.0;
  size_t payload_text_bytes = 300;
  size_t payload_pool_size = 1024;  // distinct payloads, reused round-robin
};

// Picks stream indexes 0..stream_count-1 with Zipf weights. Thread-compatible: share one
// chooser between threads, give each thread its own random engine.
class ZipfChooser {
 public:
  ZipfChooser(size_t count, double exponent);
  size_t Choose(std::mt19937_64& random) const;

 private:
  std::vector<double> cumulative_;  // cumulative_[k] = P(index <= k)
};

class Workload {
 public:
  explicit Workload(WorkloadOptions options);

  // Returns the stream id for index k, such as "svc-0042/notes".
  static std::string StreamName(size_t index);

  std::string ChooseStream(std::mt19937_64& random) const;
  // Returns the i-th pooled payload: a serialized schema::Payload holding an annotation.
  const ledger::NewEvent& Payload(uint64_t i) const { return payloads_[i % payloads_.size()]; }
  size_t stream_count() const { return options_.stream_count; }

 private:
  WorkloadOptions options_;
  ZipfChooser chooser_;
  std::vector<ledger::NewEvent> payloads_;
};

// Returns about `bytes` bytes of space-separated pseudo-words derived from `seed`.
std::string MakeNoteText(uint64_t seed, size_t bytes);

// Returns the events of one short, successful rollback "rb-<number>" (requested, started, one
// component with a backup, a change and a verify step, completed), for datasets that the
// rollbacks projection should fold into real state.
std::vector<ledger::NewEvent> MakeRollbackEvents(uint64_t number);

}  // namespace rollbook::bench
