"""The peer servers the benchmarks start: PostgreSQL and nginx, on free loopback ports in
temporary directories, stopped and removed when the suite ends."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time


def free_loopback_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, timeout, process=None):
    """Wait until 127.0.0.1:port accepts connections; raise RuntimeError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before "
                               f"listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def postgres_bin_dir():
    """Return the newest /usr/lib/postgresql/<major>/bin holding initdb and pg_ctl."""
    candidates = []
    for bin_dir in glob.glob("/usr/lib/postgresql/*/bin"):
        major = os.path.basename(os.path.dirname(bin_dir))
        if major.isdigit() and os.path.exists(os.path.join(bin_dir, "pg_ctl")):
            candidates.append((int(major), bin_dir))
    if not candidates:
        raise RuntimeError("initdb and pg_ctl not found under /usr/lib/postgresql/*/bin; "
                           "run tools/install-deps.sh")
    return max(candidates)[1]


class PostgresCluster:
    """A PostgreSQL cluster with durable commits (fsync=on, synchronous_commit=on), run by the
    postgres user from a temporary directory; trust authentication on 127.0.0.1 only."""

    def __init__(self, log):
        self.log = log
        self.bin_dir = postgres_bin_dir()
        self.dir = tempfile.mkdtemp(prefix="rollbook-bench-pg-")
        self.port = None
        self.running = False
        user = pwd.getpwnam("postgres")
        os.chown(self.dir, user.pw_uid, user.pw_gid)

    def _as_postgres(self, *argv):
        command = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(command, cwd=self.dir, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed with status {done.returncode}: {done.stderr}")

    def start(self):
        data = os.path.join(self.dir, "data")
        self._as_postgres(f"{self.bin_dir}/initdb", "-D", data, "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--no-locale")
        self.port = free_loopback_port()
        options = (f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=on "
                   "-c synchronous_commit=on -c full_page_writes=on -c max_connections=64")
        self._as_postgres(f"{self.bin_dir}/pg_ctl", "-D", data, "-l",
                          os.path.join(self.dir, "server.log"), "-w", "-t", "60", "-o", options,
                          "start")
        self.running = True
        self.log(f"PostgreSQL {self.bin_dir} started on 127.0.0.1:{self.port} in {self.dir}")
        return self

    @property
    def dsn(self):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def stop(self):
        if self.running:
            try:
                self._as_postgres(f"{self.bin_dir}/pg_ctl", "-D", os.path.join(self.dir, "data"),
                                  "-m", "fast", "-w", "-t", "60", "stop")
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                self.log(f"stopping PostgreSQL failed: {error}")
            self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)


NGINX_CONFIG = """\
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/json;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {dir}/www;
  }}
}}
"""


class NginxServer:
    """nginx serving files from its own temporary directory on a free loopback port."""

    def __init__(self, log, workers):
        self.log = log
        self.workers = workers
        self.dir = tempfile.mkdtemp(prefix="rollbook-bench-nginx-")
        # nginx workers run as an unprivileged user, so they must be able to read www/.
        os.chmod(self.dir, 0o755)
        os.makedirs(os.path.join(self.dir, "www"), mode=0o755)
        os.makedirs(os.path.join(self.dir, "tmp"), mode=0o755)
        self.port = None
        self.process = None

    def put_file(self, name, body):
        path = os.path.join(self.dir, "www", name)
        with open(path, "wb") as out:
            out.write(body)
        os.chmod(path, 0o644)
        return f"http://127.0.0.1:{self.port}/{name}"

    def start(self):
        self.port = free_loopback_port()
        config = os.path.join(self.dir, "nginx.conf")
        with open(config, "w") as out:
            out.write(NGINX_CONFIG.format(workers=self.workers, dir=self.dir, port=self.port))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([nginx, "-p", self.dir, "-c", config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_port(self.port, 10, self.process)
        self.log(f"nginx started on 127.0.0.1:{self.port} in {self.dir}")
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class RollbookServer:
    """`rollbook serve` on a free loopback port over an existing ledger."""

    def __init__(self, log, rollbook, ledger_dir):
        self.log = log
        self.rollbook = rollbook
        self.ledger_dir = ledger_dir
        self.port = None
        self.process = None
        self.command = None

    def start(self):
        self.port = free_loopback_port()
        self.command = [self.rollbook, "--ledger", self.ledger_dir, "serve", "--listen",
                        f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        wait_for_port(self.port, 30, self.process)
        self.log(f"rollbook serve started on 127.0.0.1:{self.port}")
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
