#include "commands/drivers/postgres_tools.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

extern char** environ;

namespace rollbook::commands {
namespace {

constexpr size_t kMaxStderrBytes = 64 * 1024;
constexpr std::chrono::seconds kTermGrace{3};

std::string ErrnoText(int error) { return std::strerror(error); }

bool HasClientPrograms(const std::filesystem::path& dir) {
  std::error_code error;
  return std::filesystem::exists(dir / "pg_dump", error) &&
         std::filesystem::exists(dir / "pg_restore", error);
}

// Builds the child's environment: the parent's, with `extra_env` added or replacing.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra_env) {
  std::vector<std::string> env = extra_env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view variable(*entry);
    std::string_view name = variable.substr(0, variable.find('='));
    bool replaced = std::any_of(extra_env.begin(), extra_env.end(), [&](const std::string& extra) {
      return std::string_view(extra).substr(0, extra.find('=')) == name;
    });
    if (!replaced) env.emplace_back(variable);
  }
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Owns the spawn attribute objects so every exit path destroys them.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                    int stderr_fd) {
  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, stderr_fd, 2);

  // A new process group, so a timeout can signal the program and anything it started.
  sigset_t default_signals;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setflags(&setup.attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&setup.attributes, 0);
  posix_spawnattr_setsigdefault(&setup.attributes, &default_signals);
  posix_spawnattr_setsigmask(&setup.attributes, &no_signals);

  std::vector<std::string> args = argv;
  std::vector<std::string> env = ChildEnvironment(extra_env);
  std::vector<char*> arg_pointers = CStrings(args);
  std::vector<char*> env_pointers = CStrings(env);
  pid_t pid = 0;
  int error = posix_spawn(&pid, argv[0].c_str(), &setup.actions, &setup.attributes,
                          arg_pointers.data(), env_pointers.data());
  if (error != 0) {
    return IoError("cannot start " + argv[0] + ": " + ErrnoText(error));
  }
  return pid;
}

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// Sends SIGTERM to the group, then SIGKILL when it has not exited after the grace period.
// Returns the wait status.
int StopGroup(pid_t pid) {
  kill(-pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + kTermGrace;
  int wait_status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &wait_status, WNOHANG) == pid) return wait_status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid, SIGKILL);
  waitpid(pid, &wait_status, 0);
  return wait_status;
}

void ReadAvailable(int fd, std::string& text, bool& eof) {
  char buffer[4096];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      size_t room = kMaxStderrBytes - std::min(kMaxStderrBytes, text.size());
      text.append(buffer, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) eof = true;
    if (n < 0 && errno == EINTR) continue;
    return;
  }
}

}  // namespace

Result<std::string> FindPostgresBinDir(const std::string& configured) {
  if (!configured.empty()) {
    if (HasClientPrograms(configured)) return configured;
    return NotFound("pg_bin_dir \"" + configured +
                    "\" has no pg_dump and pg_restore; point it at PostgreSQL's bin directory");
  }
  const std::filesystem::path root = "/usr/lib/postgresql";
  int best_major = -1;
  std::string best;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
    std::string version = entry.path().filename().string();
    int major = std::atoi(version.c_str());
    if (major > best_major && HasClientPrograms(entry.path() / "bin")) {
      best_major = major;
      best = (entry.path() / "bin").string();
    }
  }
  if (best.empty()) {
    return NotFound(
        "pg_dump and pg_restore not found under /usr/lib/postgresql/*/bin; install "
        "the postgresql-client package or set the step's pg_bin_dir parameter");
  }
  return best;
}

Result<ChildRun> RunChildProcess(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env,
                                 std::chrono::milliseconds timeout,
                                 const std::function<bool()>& cancelled) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return IoError("cannot create a pipe: " + ErrnoText(errno));
  Result<pid_t> spawned = Spawn(argv, extra_env, pipe_fds[1]);
  close(pipe_fds[1]);
  if (!spawned.ok()) {
    close(pipe_fds[0]);
    return spawned.status();
  }
  pid_t pid = *spawned;
  int read_fd = pipe_fds[0];
  fcntl(read_fd, F_SETFL, fcntl(read_fd, F_GETFL) | O_NONBLOCK);

  ChildRun run;
  bool eof = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int wait_status = 0;
  while (true) {
    pollfd poll_fd{read_fd, POLLIN, 0};
    poll(&poll_fd, eof ? 0 : 1, 50);
    if (!eof) ReadAvailable(read_fd, run.stderr_text, eof);
    if (waitpid(pid, &wait_status, WNOHANG) == pid) break;

    bool timed_out = std::chrono::steady_clock::now() >= deadline;
    if (timed_out || (cancelled && cancelled())) {
      StopGroup(pid);
      close(read_fd);
      std::string program = std::filesystem::path(argv[0]).filename().string();
      if (timed_out) {
        return Status(StatusCode::kTimeout, program + " did not finish within " +
                                                std::to_string(timeout.count()) +
                                                " ms and was stopped; raise the step's timeout");
      }
      return Status(StatusCode::kCancelled,
                    program + " was stopped because the step was cancelled");
    }
  }
  // The program has exited; read what it left in the pipe, without waiting for descendants
  // that may still hold it open.
  ReadAvailable(read_fd, run.stderr_text, eof);
  close(read_fd);
  run.exit_code = ExitCode(wait_status);
  return run;
}

}  // namespace rollbook::commands
