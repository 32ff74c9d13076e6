// Status and Result: how rollbook reports an expected failure.
//
// Every fallible operation returns a [[nodiscard]] Status or Result<T>. A failed Status carries a
// code for programs to branch on and a message for people: what failed, on which value, and what
// to do next. Callers never branch on the message text.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace rollbook {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed or out of range
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // creating something that exists
  kConflict,            // an optimistic-concurrency or one-active-rule conflict
  kFailedPrecondition,  // the system is not in a state that allows the operation
  kBusy,                // another process owns the resource
  kCorruption,          // stored data fails a check (hash, decode, index)
  kIoError,             // the operating system or storage engine failed
  kUnavailable,         // a remote system could not be reached
  kTimeout,             // an operation ran past its deadline
  kCancelled,           // an operator cancelled the work
  kPermissionDenied,    // the actor lacks the needed scope
  kLimitExceeded,       // a size or count limit was passed
  kInternal,            // a bug: an invariant did not hold
};

// Returns the stable lower-case name of a code, such as "conflict".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns "code: message", or "ok".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context` and ": ".
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
inline Status NotFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status Conflict(std::string message) {
  return Status(StatusCode::kConflict, std::move(message));
}
inline Status FailedPrecondition(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message));
}
inline Status Corruption(std::string message) {
  return Status(StatusCode::kCorruption, std::move(message));
}
inline Status IoError(std::string message) {
  return Status(StatusCode::kIoError, std::move(message));
}
inline Status Internal(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}

// Result<T> holds either a value or a failed Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace rollbook

// Returns early from the enclosing function when `expr` yields a failed Status.
#define ROLLBOOK_RETURN_IF_ERROR(expr)          \
  do {                                          \
    ::rollbook::Status rollbook_status_ = (expr); \
    if (!rollbook_status_.ok()) return rollbook_status_; \
  } while (false)
