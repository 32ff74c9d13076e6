#include "tools/bench/stores.h"

#include <filesystem>

namespace rollbook::bench {

Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  if (options.system != "postgres") {
    if (options.directory.empty()) return InvalidArgument(options.system + " needs --dir");
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(options.directory).parent_path(),
                                        error);
    if (options.system == "sqlite") std::filesystem::create_directories(options.directory, error);
    if (error) return IoError("cannot create " + options.directory + ": " + error.message());
  }
  if (options.system == "rollbook") return OpenRollbookStore(options);
  if (options.system == "rocksdb" || options.system == "rocksdb-indexed") {
    return OpenRocksStore(options);
  }
  if (options.system == "postgres") return OpenPostgresStore(options);
  if (options.system == "sqlite") return OpenSqliteStore(options);
  return InvalidArgument("unknown system '" + options.system +
                         "'; use rollbook, rocksdb, rocksdb-indexed, postgres or sqlite");
}

}  // namespace rollbook::bench
