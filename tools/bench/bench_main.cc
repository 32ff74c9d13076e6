// rollbook-bench: runs one side of one comparison once and prints its numbers as one JSON
// object on stdout. tools/bench/suite.py runs it repeatedly, alternating the sides.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tools/bench/append_bench.h"
#include "tools/bench/dataset.h"

namespace rollbook::bench {
namespace {

using nlohmann::json;

struct Arguments {
  StoreOptions store;
  bool no_sync = false;
  AppendBenchOptions append;
  double seconds = 0;
  bool no_reader = false;
  bool no_subscriber = false;
  WorkloadOptions workload;
  FillOptions fill;
  std::string output;
  std::string stream = kProbeStream;
  int repeat = 20;
  std::string projections_dir;
  std::string projection;  // empty: every default projection
};

int Fail(const Status& status) {
  std::cerr << "rollbook-bench: " << status.ToString() << "\n";
  return 1;
}

int Print(const json& result) {
  std::cout << result.dump() << "\n";
  return 0;
}

int RunAppend(Arguments& arguments) {
  arguments.store.sync = !arguments.no_sync;
  arguments.append.duration =
      std::chrono::milliseconds(static_cast<int64_t>(arguments.seconds * 1000));
  arguments.append.with_reader = !arguments.no_reader;
  arguments.append.with_subscriber = !arguments.no_subscriber;
  Workload workload(arguments.workload);
  auto store = OpenStore(arguments.store);
  if (!store.ok()) return Fail(store.status());
  auto result = RunAppendBench(**store, workload, arguments.append);
  if (!result.ok()) return Fail(result.status());
  return Print({{"system", arguments.store.system},
                {"writers", arguments.append.writers},
                {"events_per_append", arguments.append.events_per_append},
                {"sync", arguments.store.sync},
                {"appends", result->appends},
                {"events", result->events},
                {"seconds", result->seconds},
                {"appends_per_second", result->appends_per_second},
                {"events_per_second", result->events_per_second},
                {"p50_us", result->p50_us},
                {"p99_us", result->p99_us},
                {"max_us", result->max_us},
                {"reads", result->reads},
                {"subscribed_events", result->subscribed_events},
                {"retries", result->retries},
                {"machine_cpu_busy", result->machine_cpu_busy},
                {"process_cpu_seconds", result->process_cpu_seconds},
                {"process_cpu_us_per_append",
                 result->appends ? result->process_cpu_seconds * 1e6 / result->appends : 0},
                {"process_cpu_us_per_event",
                 result->events ? result->process_cpu_seconds * 1e6 / result->events : 0}});
}

json ScanJson(const ScanResult& result) {
  return {{"events", result.events},
          {"bytes", result.bytes},
          {"seconds", result.seconds},
          {"events_per_second", result.events / result.seconds},
          {"rollbacks", result.rollbacks}};
}

void AddStoreOptions(CLI::App& command, Arguments& arguments) {
  command.add_option("--system", arguments.store.system, "rollbook, rocksdb, postgres or sqlite")
      ->required();
  command.add_option(
      "--dir", arguments.store.directory,
      "Data directory (rollbook, rocksdb) or directory of the database file (sqlite)");
  command.add_option("--dsn", arguments.store.dsn, "libpq connection string (postgres)");
  command.add_flag("--reuse", arguments.store.reuse, "Open existing data instead of a new store");
  command.add_flag("--no-sync", arguments.no_sync, "Do not fsync each append (rollbook, rocksdb)");
}

void AddAppendCommand(CLI::App& app, Arguments& arguments, std::function<int()>& action) {
  CLI::App* append =
      app.add_subcommand("append", "Concurrent appends with a reader and a subscriber");
  AddStoreOptions(*append, arguments);
  append->add_option("--writers", arguments.append.writers, "Concurrent writer threads")
      ->capture_default_str();
  append
      ->add_option("--events-per-append", arguments.append.events_per_append,
                   "Events in each append, all to one stream")
      ->capture_default_str();
  append->add_option("--seconds", arguments.seconds, "Run for this many seconds");
  append->add_option("--appends", arguments.append.appends, "Or stop after this many appends");
  append->add_flag("--no-reader", arguments.no_reader, "Run without the reader thread");
  append->add_flag("--no-subscriber", arguments.no_subscriber, "Run without the subscriber thread");
  append->add_flag("--latency", arguments.append.record_latency, "Record p50 and p99 latency");
  append->add_option("--streams", arguments.workload.stream_count, "Number of streams")
      ->capture_default_str();
  append->callback([&] { action = [&] { return RunAppend(arguments); }; });
}

void AddDatasetCommands(CLI::App& app, Arguments& arguments, std::function<int()>& action) {
  CLI::App* fill = app.add_subcommand("fill", "Create a ledger without sync and fill it");
  fill->add_option("--dir", arguments.fill.directory, "New ledger directory")->required();
  fill->add_option("--events", arguments.fill.events, "Annotation events")->capture_default_str();
  fill->add_option("--events-per-append", arguments.fill.events_per_append)->capture_default_str();
  fill->add_option("--threads", arguments.fill.threads)->capture_default_str();
  fill->add_option("--probe-events", arguments.fill.probe_events, "Events in the probe stream")
      ->capture_default_str();
  fill->add_option("--rollback-every", arguments.fill.rollback_every,
                   "One rollback per this many annotation events")
      ->capture_default_str();
  fill->callback([&] {
    action = [&] {
      Workload workload(arguments.workload);
      auto result = FillLedger(workload, arguments.fill);
      if (!result.ok()) return Fail(result.status());
      return Print({{"head", result->head},
                    {"seconds", result->seconds},
                    {"events_per_second", result->head / result->seconds},
                    {"size_on_disk_bytes", result->size_on_disk_bytes},
                    {"rollbacks", result->rollbacks}});
    };
  });

  CLI::App* flush = app.add_subcommand(
      "flush-memtables", "Flush every column family of a closed ledger, as a flush on close would");
  flush->add_option("--dir", arguments.store.directory, "Ledger directory")->required();
  flush->callback([&] {
    action = [&] {
      auto started = std::chrono::steady_clock::now();
      Status flushed = FlushLedgerMemtables(arguments.store.directory);
      if (!flushed.ok()) return Fail(flushed);
      return Print(
          {{"seconds",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
    };
  });

  CLI::App* replay =
      app.add_subcommand("replay", "Scan a ledger: rollbook folds, rocksdb iterates");
  replay->add_option("--dir", arguments.store.directory, "Ledger directory")->required();
  replay->add_option("--system", arguments.store.system, "rollbook or rocksdb")->required();
  replay->callback([&] {
    action = [&] {
      auto result = arguments.store.system == "rocksdb" ? IterateRaw(arguments.store.directory)
                                                        : ReplayWithFold(arguments.store.directory);
      if (!result.ok()) return Fail(result.status());
      return Print(ScanJson(*result));
    };
  });

  CLI::App* exported = app.add_subcommand("export-raw", "Write the stored event bytes to a file");
  exported->add_option("--dir", arguments.store.directory, "Ledger directory")->required();
  exported->add_option("--output", arguments.output, "File to write")->required();
  exported->callback([&] {
    action = [&] {
      auto result = ExportStoredBytes(arguments.store.directory, arguments.output);
      if (!result.ok()) return Fail(result.status());
      return Print(ScanJson(*result));
    };
  });

  CLI::App* read = app.add_subcommand("read-stream", "Read one stream repeatedly");
  read->add_option("--dir", arguments.store.directory, "Ledger directory")->required();
  read->add_option("--stream", arguments.stream, "Stream id")->capture_default_str();
  read->add_option("--repeat", arguments.repeat, "Reads")->capture_default_str();
  read->callback([&] {
    action = [&] {
      auto result = ReadStream(arguments.store.directory, arguments.stream, arguments.repeat);
      if (!result.ok()) return Fail(result.status());
      return Print({{"head", result->head},
                    {"events_per_read", result->events_per_read},
                    {"median_us", result->median_us},
                    {"min_us", result->min_us}});
    };
  });

  CLI::App* rebuild = app.add_subcommand("rebuild", "Rebuild every default projection");
  rebuild->add_option("--dir", arguments.store.directory, "Ledger directory")->required();
  rebuild->add_option("--projections-dir", arguments.projections_dir, "New projection store")
      ->required();
  rebuild->add_option("--projection", arguments.projection, "Rebuild only this projection");
  rebuild->callback([&] {
    action = [&] {
      auto result = RebuildProjections(arguments.store.directory, arguments.projections_dir,
                                       arguments.projection);
      if (!result.ok()) return Fail(result.status());
      return Print({{"head", result->head},
                    {"seconds", result->seconds},
                    {"peak_rss_kib", result->peak_rss_kib},
                    {"projections", result->projections}});
    };
  });

  CLI::App* fsync = app.add_subcommand("fsync", "Measure write + fdatasync rate in a directory");
  fsync->add_option("--dir", arguments.store.directory, "Directory on the disk to measure")
      ->required();
  fsync->add_option("--seconds", arguments.seconds, "Duration")->capture_default_str();
  fsync->callback([&] {
    action = [&] {
      auto result =
          MeasureFsync(arguments.store.directory, arguments.seconds > 0 ? arguments.seconds : 2);
      if (!result.ok()) return Fail(result.status());
      return Print({{"syncs", result->syncs},
                    {"seconds", result->seconds},
                    {"syncs_per_second", result->syncs_per_second},
                    {"p50_us", result->p50_us}});
    };
  });
}

int Main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  Arguments arguments;
  std::function<int()> action;
  CLI::App app{"rollbook-bench: one run of one benchmark side, printed as JSON", "rollbook-bench"};
  app.require_subcommand(1);
  AddAppendCommand(app, arguments, action);
  AddDatasetCommands(app, arguments, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  return action ? action() : 1;
}

}  // namespace
}  // namespace rollbook::bench

int main(int argc, char** argv) {
  try {
    return rollbook::bench::Main(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "rollbook-bench: unexpected error: " << error.what() << "\n";
    return 1;
  }
}
