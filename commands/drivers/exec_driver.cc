// The exec driver: runs a program with a timeout and captures its output.
//
// The program runs without a shell unless the step sets `shell: true`, in its own process group
// so that a timeout can stop everything it started: SIGTERM to the group, then SIGKILL to the
// group two seconds later. It gets a minimal environment (PATH, HOME, locale and a few more
// taken from rollbook's own) plus the step's `env`.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "commands/drivers/drivers.h"

namespace rollbook::commands {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int64_t kDefaultMaxOutputBytes = 64 * 1024;
constexpr int64_t kMaxOutputLimit = 256LL * 1024 * 1024;
constexpr milliseconds kTermGrace{2000};
// How long to keep reading after the program exited while something it started in the
// background keeps its stdout or stderr open.
constexpr milliseconds kAfterExitDrain{500};
constexpr milliseconds kPollTick{50};
constexpr size_t kShownOutputBytes = 200;

constexpr std::array<const char*, 10> kInheritedVariables = {
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SHELL"};
constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

struct ExecOptions {
  std::vector<std::string> argv;
  bool shell = false;
  std::map<std::string, std::string> env;
  std::string cwd;
  size_t max_output_bytes = kDefaultMaxOutputBytes;
  int64_t expect_exit = 0;
  std::optional<std::string> stdout_equals;
  std::optional<std::string> stdout_contains;
  bool backup_stdout = false;
  std::string origin;
};

Result<ExecOptions> ParseOptions(const StepContext& context) {
  ParamReader params(context);
  ExecOptions options;
  options.shell = params.Boolean("shell", false);
  if (params.Has("argv") && params.Has("command")) {
    params.Fail(
        "give either 'argv' (a list, run without a shell) or 'command' with shell: true, "
        "not both");
  } else if (params.Has("command")) {
    if (!options.shell) {
      params.Fail(
          "parameter 'command' runs through /bin/sh, so the step must also set "
          "shell: true; or give the program and its arguments as an 'argv' list");
    }
    options.argv = {"/bin/sh", "-c", params.String("command")};
  } else {
    options.argv = params.StringList("argv");
    if (options.shell) {
      params.Fail("shell: true needs a 'command' string; an 'argv' list runs without a shell");
    }
  }
  options.env = params.StringMap("env");
  options.cwd = params.String("cwd", "");
  options.max_output_bytes = static_cast<size_t>(
      params.Integer("max_output_bytes", kDefaultMaxOutputBytes, 0, kMaxOutputLimit));
  options.expect_exit = params.Integer("expect_exit", 0, 0, 255);
  if (params.Has("stdout_equals")) options.stdout_equals = params.String("stdout_equals");
  if (params.Has("stdout_contains")) options.stdout_contains = params.String("stdout_contains");
  options.backup_stdout = params.Boolean("backup_stdout", false);
  if (options.backup_stdout) options.origin = params.String("origin");
  if (!params.ok()) return params.status();
  return options;
}

std::string CommandText(const ExecOptions& options) {
  if (options.shell) return options.argv[2];
  std::string text;
  for (const std::string& arg : options.argv) {
    if (!text.empty()) text += ' ';
    bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`") == std::string::npos;
    text += plain ? arg : nlohmann::json(arg).dump();
  }
  return text;
}

std::string DescribeCommand(const ExecOptions& options, milliseconds timeout) {
  std::string text = options.shell ? "would run `" + CommandText(options) + "` with /bin/sh -c"
                                   : "would run `" + CommandText(options) + "`";
  if (!options.cwd.empty()) text += " in " + options.cwd;
  text += " with a timeout of " + std::to_string(timeout.count()) + " ms";
  text += ", expecting exit status " + std::to_string(options.expect_exit);
  if (options.backup_stdout) text += ", and store its stdout as a backup of " + options.origin;
  return text;
}

// --- Starting the process ----------------------------------------------------------------

std::vector<std::string> BuildEnvironment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> variables;
  for (const char* name : kInheritedVariables) {
    if (const char* value = std::getenv(name)) variables[name] = value;
  }
  if (variables.count("PATH") == 0) variables["PATH"] = kDefaultPath;
  for (const auto& [name, value] : extra) variables[name] = value;

  std::vector<std::string> entries;
  for (const auto& [name, value] : variables) entries.push_back(name + "=" + value);
  return entries;
}

std::string PathOf(const std::vector<std::string>& environment) {
  for (const std::string& entry : environment) {
    if (entry.rfind("PATH=", 0) == 0) return entry.substr(5);
  }
  return kDefaultPath;
}

// Finds `program` in `search_path` the way execvp does. A name with a slash is used as given,
// relative to the working directory the child changes to.
Result<std::string> ResolveProgram(const std::string& program, const std::string& search_path) {
  if (program.empty()) return InvalidArgument("argv[0] is empty; name the program to run");
  if (program.find('/') != std::string::npos) return program;
  std::istringstream directories(search_path);
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    if (directory.empty()) directory = ".";
    std::string candidate = directory + "/" + program;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return NotFound("command not found: '" + program + "' is not in PATH (" + search_path +
                  "); give its full path or set PATH in the step's env");
}

// The child's report of a failed start, sent through the close-on-exec pipe.
struct StartFailure {
  int stage = 0;  // kStageChdir or kStageExec
  int error = 0;
};
constexpr int kStageChdir = 1;
constexpr int kStageExec = 2;

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_.data(), O_CLOEXEC) != 0) fds_ = {-1, -1};
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  bool ok() const { return fds_[0] >= 0; }
  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  void CloseRead() { Close(0); }
  void CloseWrite() { Close(1); }

 private:
  void Close(int index) {
    if (fds_[index] >= 0) ::close(fds_[index]);
    fds_[index] = -1;
  }
  std::array<int, 2> fds_{-1, -1};
};

// Runs in the forked child, so it calls only async-signal-safe functions.
[[noreturn]] void ExecChild(const char* program, char* const* argv, char* const* envp,
                            const char* cwd, int stdout_fd, int stderr_fd, int report_fd) {
  ::setpgid(0, 0);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(stdout_fd, STDOUT_FILENO);
  ::dup2(stderr_fd, STDERR_FILENO);

  // Signal dispositions and the mask are inherited; the program expects defaults.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) {
    ::sigaction(signal_number, &default_action, nullptr);
  }
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);

  StartFailure failure;
  if (cwd != nullptr && ::chdir(cwd) != 0) {
    failure = {kStageChdir, errno};
  } else {
    ::execve(program, argv, envp);
    failure = {kStageExec, errno};
  }
  ssize_t ignored = ::write(report_fd, &failure, sizeof(failure));
  (void)ignored;
  ::_exit(127);
}

// --- Watching the process ----------------------------------------------------------------

struct CaptureStream {
  int fd = -1;
  std::string* text = nullptr;
  bool open = true;
};

struct ProcessRun {
  CapturedOutput output;
  bool timed_out = false;
  bool cancelled = false;  // the caller's cancelled() turned true before the program exited
  bool killed = false;     // SIGKILL was needed after SIGTERM
  int signal = 0;          // the signal that ended the program, 0 when it exited
  milliseconds elapsed{0};
};

// Reads what is available on `stream`, keeping at most `cap` bytes of it.
void Drain(CaptureStream& stream, size_t cap, bool& truncated) {
  std::array<char, 16384> buffer{};
  ssize_t count = ::read(stream.fd, buffer.data(), buffer.size());
  if (count < 0) {
    if (errno != EINTR && errno != EAGAIN) stream.open = false;
    return;
  }
  if (count == 0) {
    stream.open = false;
    return;
  }
  size_t room = cap > stream.text->size() ? cap - stream.text->size() : 0;
  size_t kept = std::min(room, static_cast<size_t>(count));
  stream.text->append(buffer.data(), kept);
  if (kept < static_cast<size_t>(count)) truncated = true;
}

// Waits up to `wait` for output on the open streams or, when `exit_fd` (a pidfd) is not -1, for
// the program to exit, and reads what arrived.
void PollStreams(std::array<CaptureStream, 2>& streams, int exit_fd, milliseconds wait, size_t cap,
                 bool& truncated) {
  std::array<pollfd, 3> fds{};
  nfds_t count = 0;
  std::array<CaptureStream*, 2> polled{};
  for (CaptureStream& stream : streams) {
    if (!stream.open) continue;
    fds[count] = {stream.fd, POLLIN, 0};
    polled[count++] = &stream;
  }
  nfds_t stream_count = count;
  if (exit_fd >= 0) fds[count++] = {exit_fd, POLLIN, 0};
  if (count == 0) {
    // No pidfd: the program closed its output but is not yet reaped, so check again soon.
    ::usleep(static_cast<useconds_t>(std::min<int64_t>(wait.count(), 1) * 1000));
    return;
  }
  int ready = ::poll(fds.data(), count, static_cast<int>(wait.count()));
  if (ready <= 0) return;
  for (nfds_t i = 0; i < stream_count; ++i) {
    if (fds[i].revents != 0) Drain(*polled[i], cap, truncated);
  }
}

// A file descriptor that becomes readable when process `pid` exits, or -1 on kernels before 5.3.
class ExitDescriptor {
 public:
  explicit ExitDescriptor(pid_t pid) : fd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {}
  ~ExitDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  ExitDescriptor(const ExitDescriptor&) = delete;
  ExitDescriptor& operator=(const ExitDescriptor&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Waits for the program in process group `pid` while capturing its output; on timeout stops
// the whole group.
ProcessRun Supervise(pid_t pid, int stdout_fd, int stderr_fd, size_t cap, milliseconds timeout,
                     const std::function<bool()>& cancelled) {
  ProcessRun run;
  std::array<CaptureStream, 2> streams = {CaptureStream{stdout_fd, &run.output.stdout_text},
                                          CaptureStream{stderr_fd, &run.output.stderr_text}};
  Clock::time_point start = Clock::now();
  Clock::time_point deadline = start + timeout;
  std::optional<Clock::time_point> exited_at;
  std::optional<Clock::time_point> term_sent_at;
  std::optional<Clock::time_point> kill_sent_at;
  int wait_status = 0;
  // Polled beside the pipes, so that an exit right after the program closes its output is seen
  // at once rather than on the next tick.
  ExitDescriptor exit_descriptor(pid);

  while (true) {
    Clock::time_point now = Clock::now();
    if (!exited_at && ::waitpid(pid, &wait_status, WNOHANG) == pid) exited_at = now;
    bool streams_open = streams[0].open || streams[1].open;

    if (!term_sent_at) {
      if (exited_at && !streams_open) break;
      if (exited_at && now - *exited_at >= kAfterExitDrain) break;
      if (!exited_at && now >= deadline) {
        ::kill(-pid, SIGTERM);
        term_sent_at = now;
        run.timed_out = true;
        continue;
      }
      if (!exited_at && cancelled && cancelled()) {
        ::kill(-pid, SIGTERM);
        term_sent_at = now;
        run.cancelled = true;
        continue;
      }
    } else {
      bool group_gone = exited_at && ::kill(-pid, 0) != 0 && errno == ESRCH;
      if (group_gone && !streams_open) break;
      if (!kill_sent_at && !group_gone && now - *term_sent_at >= kTermGrace) {
        ::kill(-pid, SIGKILL);
        kill_sent_at = now;
        run.killed = true;
      }
      // A process that left the group (setsid) may still hold the pipes; stop waiting for it.
      if (exited_at && kill_sent_at && now - *kill_sent_at >= kAfterExitDrain) break;
      if (exited_at && group_gone && now - *exited_at >= kAfterExitDrain) break;
    }

    milliseconds wait = kPollTick;
    if (!term_sent_at && !exited_at) {
      wait = std::min(wait,
                      std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1));
    }
    PollStreams(streams, exited_at ? -1 : exit_descriptor.fd(), wait, cap, run.output.truncated);
  }

  if (!exited_at) ::waitpid(pid, &wait_status, 0);
  run.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  if (WIFEXITED(wait_status)) {
    run.output.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    run.signal = WTERMSIG(wait_status);
    run.output.exit_code = 128 + run.signal;
  }
  return run;
}

std::vector<char*> PointerArray(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Runs the program, stopping its process group at the timeout, or when `cancelled` (polled
// every tick, 50 ms) turns true.
Result<ProcessRun> RunProcess(const ExecOptions& options, milliseconds timeout,
                              const std::function<bool()>& cancelled) {
  std::vector<std::string> environment = BuildEnvironment(options.env);
  Result<std::string> program = ResolveProgram(options.argv[0], PathOf(environment));
  if (!program.ok()) return program.status();

  std::vector<std::string> argv = options.argv;
  std::vector<char*> argv_pointers = PointerArray(argv);
  std::vector<char*> env_pointers = PointerArray(environment);
  Pipe out;
  Pipe err;
  Pipe report;
  if (!out.ok() || !err.ok() || !report.ok()) {
    return IoError(std::string("creating pipes for the command failed: ") + std::strerror(errno));
  }

  pid_t pid = ::fork();
  if (pid < 0) return IoError(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    ExecChild(program->c_str(), argv_pointers.data(), env_pointers.data(),
              options.cwd.empty() ? nullptr : options.cwd.c_str(), out.write_fd(), err.write_fd(),
              report.write_fd());
  }
  ::setpgid(pid, pid);  // also done in the child; whichever runs first wins the race
  out.CloseWrite();
  err.CloseWrite();
  report.CloseWrite();

  // The report pipe closes on a successful execve, so this read returns 0 then.
  StartFailure failure;
  ssize_t count;
  do {
    count = ::read(report.read_fd(), &failure, sizeof(failure));
  } while (count < 0 && errno == EINTR);
  if (count == static_cast<ssize_t>(sizeof(failure))) {
    int ignored_status = 0;
    ::waitpid(pid, &ignored_status, 0);
    if (failure.stage == kStageChdir) {
      return NotFound("cannot change to working directory " + options.cwd + ": " +
                      std::strerror(failure.error));
    }
    if (failure.error == ENOENT) {
      return NotFound("command not found: " + *program + " does not exist");
    }
    return Status(StatusCode::kFailedPrecondition,
                  "cannot run " + *program + ": " + std::strerror(failure.error));
  }

  return Supervise(pid, out.read_fd(), err.read_fd(), options.max_output_bytes, timeout, cancelled);
}

// --- Checking the outcome ----------------------------------------------------------------

std::string Shorten(std::string text) {
  if (text.size() > kShownOutputBytes) text = text.substr(0, kShownOutputBytes) + "...";
  return text;
}

std::string TrimTrailingNewlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// Fills the verification record; the caller decides whether one is wanted.
VerificationRecord Verify(const ExecOptions& options, const CapturedOutput& output) {
  VerificationRecord record;
  std::string stdout_text = TrimTrailingNewlines(output.stdout_text);
  record.check = "exit status " + std::to_string(options.expect_exit);
  record.expected = "exit " + std::to_string(options.expect_exit);
  record.actual = "exit " + std::to_string(output.exit_code);
  record.passed = output.exit_code == options.expect_exit;
  if (options.stdout_equals) {
    record.check += " and stdout equals the expected text";
    record.expected += ", stdout " + nlohmann::json(*options.stdout_equals).dump();
    record.passed = record.passed && stdout_text == TrimTrailingNewlines(*options.stdout_equals);
  }
  if (options.stdout_contains) {
    record.check += " and stdout contains the expected text";
    record.expected += ", stdout containing " + nlohmann::json(*options.stdout_contains).dump();
    record.passed =
        record.passed && output.stdout_text.find(*options.stdout_contains) != std::string::npos;
  }
  if (options.stdout_equals || options.stdout_contains) {
    record.actual += ", stdout " + nlohmann::json(Shorten(stdout_text)).dump();
  }
  return record;
}

Status StoreStdout(const StepContext& context, const ExecOptions& options,
                   const CapturedOutput& output, StepResult& result) {
  if (context.backups == nullptr) {
    return Internal("backup_stdout is set but the step has no backup store");
  }
  if (output.truncated) {
    return Status(StatusCode::kLimitExceeded,
                  "stdout is larger than max_output_bytes (" +
                      std::to_string(options.max_output_bytes) +
                      " bytes), so it cannot be stored whole as a backup; raise max_output_bytes");
  }
  BackupRecord record;
  record.driver = "exec";
  record.origin = options.origin;
  record.format = "exec-stdout";
  record.rollback_id = context.rollback_id;
  record.component = context.component;
  record.step = context.step;
  // The backup keeps the raw bytes so that a restore reproduces them exactly; only the
  // captured copy in the step result is redacted.
  Result<BackupRecord> stored = context.backups->PutBytes(output.stdout_text, std::move(record));
  if (!stored.ok()) return stored.status();
  result.backups.push_back(*stored);
  return Status::Ok();
}

class ExecDriver : public Driver {
 public:
  ExecDriver() {
    actions_.push_back(ActionSpec{
        "run",
        StepRole::kChange,
        /*mutates=*/true,
        /*idempotent=*/false,
        {
            {"argv", ParamType::kStringList, false, "program and arguments, run without a shell"},
            {"command", ParamType::kString, false, "a shell command; needs shell: true"},
            {"shell", ParamType::kBoolean, false, "run 'command' with /bin/sh -c"},
            {"env", ParamType::kStringMap, false, "variables added to a minimal environment"},
            {"cwd", ParamType::kString, false, "working directory"},
            {"max_output_bytes", ParamType::kInteger, false,
             "bytes of stdout and of stderr kept, each (default 65536)"},
            {"expect_exit", ParamType::kInteger, false, "expected exit status (default 0)"},
            {"stdout_equals", ParamType::kString, false,
             "expected stdout, trailing newlines ignored"},
            {"stdout_contains", ParamType::kString, false, "text stdout must contain"},
            {"backup_stdout", ParamType::kBoolean, false, "store stdout in the backup store"},
            {"origin", ParamType::kString, false, "what the stored stdout is a backup of"},
        },
        "run a program and check its exit status"});
  }

  std::string_view name() const override { return "exec"; }
  const std::vector<ActionSpec>& actions() const override { return actions_; }

  std::string Describe(const StepContext& context) const override {
    Result<ExecOptions> options = ParseOptions(context);
    if (!options.ok()) return "would run a command, but " + options.status().message();
    return RedactText(context, DescribeCommand(*options, context.timeout));
  }

  StepOutcome Run(const StepContext& context) override {
    if (std::optional<StepOutcome> rejected = RejectUnknownAction(*this, context)) return *rejected;
    if (context.dry_run) return DryRunOutcome(*this, context);
    StepOutcome outcome;
    Result<ExecOptions> options = ParseOptions(context);
    if (!options.ok()) {
      outcome.status = options.status();
      return outcome;
    }
    outcome.status = RunCommand(context, *options, outcome.result);
    if (!outcome.status.ok()) {
      outcome.status = Status(outcome.status.code(), RedactText(context, outcome.status.message()));
    }
    return outcome;
  }

 private:
  Status RunCommand(const StepContext& context, const ExecOptions& options, StepResult& result) {
    std::string command = RedactText(context, CommandText(options));
    Result<ProcessRun> run = RunProcess(options, context.timeout, context.cancelled);
    if (!run.ok()) {
      result.summary = "could not start `" + command + "`";
      return run.status();
    }
    result.output = run->output;
    result.output.stdout_text = RedactText(context, result.output.stdout_text);
    result.output.stderr_text = RedactText(context, result.output.stderr_text);

    if (run->cancelled) {
      result.summary = "`" + command + "` was stopped because the step was cancelled";
      return Status(StatusCode::kCancelled, result.summary);
    }
    if (run->timed_out) {
      std::string how = run->killed ? "SIGTERM and, 2 s later, SIGKILL" : "SIGTERM";
      result.summary =
          "`" + command + "` timed out after " + std::to_string(context.timeout.count()) + " ms";
      spdlog::warn("step {}/{}: command timed out after {} ms; its process group got {}",
                   context.component, context.step, context.timeout.count(), how);
      return Status(StatusCode::kTimeout, "`" + command + "` timed out after " +
                                              std::to_string(context.timeout.count()) +
                                              " ms; its process group was sent " + how +
                                              "; raise the step's timeout if it needs longer");
    }

    result.summary = "ran `" + command + "` in " + std::to_string(run->elapsed.count()) +
                     " ms: exit " + std::to_string(run->output.exit_code);
    if (run->output.truncated) result.summary += " (output truncated)";

    bool wants_verification =
        context.role == StepRole::kVerify || options.stdout_equals || options.stdout_contains;
    if (wants_verification) {
      VerificationRecord record = Verify(options, run->output);
      record.actual = RedactText(context, record.actual);
      record.expected = RedactText(context, record.expected);
      result.verification = record;
      if (!record.passed) {
        return FailedPrecondition("verification failed: expected " + record.expected + ", got " +
                                  record.actual);
      }
    } else if (run->output.exit_code != options.expect_exit) {
      std::string ended = run->signal != 0
                              ? "was killed by signal " + std::to_string(run->signal)
                              : "exited with status " + std::to_string(run->output.exit_code);
      std::string hint = run->output.exit_code == 127 && options.shell
                             ? " (the shell reports 127 when it cannot find the command)"
                             : "";
      return IoError("`" + command + "` " + ended + hint + ", expected " +
                     std::to_string(options.expect_exit) +
                     "; stderr: " + Shorten(TrimTrailingNewlines(result.output.stderr_text)));
    }

    if (options.backup_stdout) return StoreStdout(context, options, run->output, result);
    return Status::Ok();
  }

  std::vector<ActionSpec> actions_;
};

}  // namespace

std::unique_ptr<Driver> MakeExecDriver() { return std::make_unique<ExecDriver>(); }

}  // namespace rollbook::commands
