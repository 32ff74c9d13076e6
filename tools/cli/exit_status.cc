#include "tools/cli/exit_status.h"

#include <fmt/core.h>

#include <cstdio>

namespace rollbook::cli {

ExitCode ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kLimitExceeded:
      return kExitUsage;
    case StatusCode::kNotFound:
      return kExitNotFound;
    case StatusCode::kBusy:
      return kExitBusy;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
      return kExitConflict;
    case StatusCode::kIoError:
      return kExitIo;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kCorruption:
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
    case StatusCode::kCancelled:
    case StatusCode::kPermissionDenied:
    case StatusCode::kInternal:
      return kExitFailed;
  }
  return kExitFailed;
}

int ReportFailure(const Status& status) {
  return ReportFailure(ExitCodeFor(status.code()), status.message());
}

int ReportFailure(ExitCode code, std::string_view message) {
  fmt::print(stderr, "rollbook: {}\n", message);
  std::fflush(stderr);
  return code;
}

}  // namespace rollbook::cli
