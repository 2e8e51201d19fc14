"""Production on one host, in the foreground: ``make production LISTEN=127.0.0.1:8080``.

    clients --> nginx (LISTEN; buffers whole requests and answers) --> unix socket
            --> gunicorn (`pserve production.ini`, gthread workers) --> PostgreSQL

nginx's configuration is deploy/nginx.conf, filled in here; everything else is
production.ini, read by pserve as ever: MYAPP_DATABASE_URL, MYAPP_JWT_SECRET
and the rest come from the environment. ``name=value`` arguments are ini
variables for pserve (e.g. ``threads=32``), as on pserve's command line.

Signals (to this process, e.g. ``kill -TERM``; docs/operations.md):
- TERM or INT: with ``--drain-seconds N``, readiness answers 503 draining for
  N seconds first while everything else is still served (a load balancer
  stops sending traffic); then nginx stops accepting and finishes what it
  holds, then gunicorn finishes its requests; everything has stopped when
  this process exits.
- HUP: gunicorn replaces its workers gracefully (same code, re-read settings).
- USR2: upgrade to the code now on disk: a second gunicorn starts on a socket
  of its own; once it answers, nginx switches to it (its old workers finish
  their requests on the old gunicorn), then the old gunicorn stops gracefully.
  No connection is refused and no request is lost.
The run folder (sockets, nginx's configuration and buffers, the metrics
folder unless PROMETHEUS_MULTIPROC_DIR is set) is removed at the end.
"""

import argparse
import configparser
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEMPLATE = ROOT / "deploy" / "nginx.conf"
START_TIMEOUT = 60  # seconds for gunicorn or nginx to answer
STOP_TIMEOUT = 30  # seconds for either to stop gracefully (gunicorn's graceful_timeout is 20)
HEALTH_PATH = "/api/health/ready"
#: What nginx answers for readiness while the instance drains (--drain-seconds).
DRAIN_LOCATION = """        location = /api/health/ready {
            add_header Retry-After 1 always;
            return 503 '{"errors":{"server":["draining"]}}';
        }
"""


def log(message):
    print(f"production: {message}", file=sys.stderr, flush=True)


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=2):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def answers(connection):
    """True when ``connection`` answers the readiness check with 200."""
    try:
        connection.request("GET", HEALTH_PATH)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def render(template, values):
    """``template`` with each ``${name}`` replaced; nginx's own ``$name`` left alone."""
    def value(match):
        return str(values[match.group(1)])

    return re.sub(r"\$\{(\w+)\}", value, template)


def ini_default(ini, name, fallback):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / ini)
    return parser.defaults().get(name, fallback)


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return {int(child) for child in listing.read().split()}
    except OSError:
        return set()


def wait_for(process, timeout):
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"pid {process.pid} did not stop in {timeout} s: killed")
        process.kill()
        process.wait()


class Production:
    def __init__(self, args):
        self.args = args
        self.run_dir = Path(tempfile.mkdtemp(prefix="myapp-production-"))
        # nginx's workers run as another user when started by root: they must reach the socket.
        self.run_dir.chmod(0o711)
        self.environ = dict(os.environ)
        self.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(self.run_dir / "metrics"))
        Path(self.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        self.ini_vars = dict(item.split("=", 1) for item in args.ini_vars)
        # The application trusts X-Forwarded-For from its unix-socket peer, nginx, one hop.
        self.ini_vars.setdefault("trusted_proxies", "unix")
        self.generation = 0
        self.draining = False
        self.app = self.socket = self.nginx = None
        self.pending = []

    # --- the application (gunicorn through pserve) -----------------------------------

    def start_app(self):
        """A new gunicorn on a socket of its own; (process, socket path) once it answers."""
        self.generation += 1
        path = self.run_dir / f"app-{self.generation}.sock"
        ini_vars = {**self.ini_vars, "http_listen": f"unix:{path}"}
        process = subprocess.Popen(
            [BIN / "pserve", self.args.ini, *(f"{k}={v}" for k, v in ini_vars.items())],
            cwd=ROOT, env=self.environ,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if path.exists() and answers(UnixConnection(str(path))):
                return process, path
            time.sleep(0.2)
        process.terminate()
        wait_for(process, STOP_TIMEOUT)
        raise RuntimeError(f"gunicorn ({self.args.ini}) did not answer on {path}")

    # --- nginx -----------------------------------------------------------------------------

    def write_nginx_conf(self):
        values = {
            "user_directive": "user nobody nogroup;" if os.geteuid() == 0 else "",
            "worker_processes": self.args.nginx_workers,
            "run_dir": self.run_dir,
            "listen": self.args.listen,
            "upstream": f"unix:{self.socket}",
            "client_timeout": f"{self.args.client_timeout}s",
            "drain_location": DRAIN_LOCATION if self.draining else "",
            "max_body_bytes": self.ini_vars.get(
                "max_body_bytes", ini_default(self.args.ini, "max_body_bytes", "1048576")),
        }
        conf = self.run_dir / "nginx.conf"
        conf.write_text(render(TEMPLATE.read_text(), values))
        return conf

    def start_nginx(self):
        conf = self.write_nginx_conf()
        command = [self.args.nginx, "-p", str(self.run_dir), "-c", str(conf), "-e", "stderr"]
        subprocess.run([*command, "-t", "-q"], check=True)
        self.nginx = subprocess.Popen(command)
        host, _, port = self.args.listen.rpartition(":")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.nginx.poll() is None:
            if answers(http.client.HTTPConnection(host.strip("[]") or "127.0.0.1", int(port))):
                return
            time.sleep(0.1)
        raise RuntimeError(f"nginx did not answer on {self.args.listen}")

    # --- signals -----------------------------------------------------------------------------

    def reload(self):
        log(f"HUP: gunicorn {self.app.pid} replaces its workers")
        self.app.send_signal(signal.SIGHUP)

    def upgrade(self):
        old_app, old_socket = self.app, self.socket
        log(f"USR2: starting new code beside gunicorn {old_app.pid}")
        try:
            self.app, self.socket = self.start_app()
        except RuntimeError as exc:
            log(f"upgrade abandoned, gunicorn {old_app.pid} keeps serving: {exc}")
            return
        old_workers = children(self.nginx.pid)
        self.write_nginx_conf()
        self.nginx.send_signal(signal.SIGHUP)
        # nginx's old workers finish the requests they hold, on the old gunicorn.
        deadline = time.monotonic() + STOP_TIMEOUT
        while old_workers & children(self.nginx.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        old_app.terminate()  # gunicorn: TERM is the graceful stop
        wait_for(old_app, STOP_TIMEOUT)
        old_socket.unlink(missing_ok=True)
        log(f"upgraded: gunicorn {self.app.pid} on {self.socket}, the old one stopped")

    def drain(self):
        """Readiness fails for ``--drain-seconds`` while every other request is served."""
        log(f"draining for {self.args.drain_seconds} s")
        self.draining = True
        self.write_nginx_conf()
        self.nginx.send_signal(signal.SIGHUP)
        time.sleep(self.args.drain_seconds)

    def stop(self):
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)  # nginx: QUIT is the graceful stop
            wait_for(self.nginx, STOP_TIMEOUT)
        if self.app is not None and self.app.poll() is None:
            self.app.terminate()
            wait_for(self.app, STOP_TIMEOUT)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def run(self):
        for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR2"):
            signal.signal(getattr(signal, name), lambda number, frame: self.pending.append(number))
        try:
            self.app, self.socket = self.start_app()
            self.start_nginx()
            log(f"listening on http://{self.args.listen} (nginx {self.nginx.pid}, "
                f"gunicorn {self.app.pid} on {self.socket})")
            while True:
                while self.pending:
                    number = self.pending.pop(0)
                    if number in (signal.SIGTERM, signal.SIGINT):
                        if self.args.drain_seconds:
                            self.drain()
                        log("stopping")
                        return 0
                    self.reload() if number == signal.SIGHUP else self.upgrade()
                for name, process in (("nginx", self.nginx), ("gunicorn", self.app)):
                    if process.poll() is not None:
                        log(f"{name} exited with status {process.returncode}: stopping")
                        return 1
                time.sleep(0.1)
        finally:
            self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT nginx listens on")
    parser.add_argument("--ini", default="production.ini")
    parser.add_argument("--nginx", default=os.environ.get("NGINX", "/usr/sbin/nginx"))
    parser.add_argument("--nginx-workers", default="1", help="nginx worker processes")
    parser.add_argument("--client-timeout", type=int, default=10,
                        help="seconds nginx waits between two reads or writes of a client")
    parser.add_argument("--drain-seconds", type=float, default=0,
                        help="on TERM, seconds readiness answers 503 before stopping "
                             "(behind a load balancer: more than its probe interval)")
    parser.add_argument("ini_vars", nargs="*", metavar="name=value")
    args = parser.parse_args(argv)
    try:
        return Production(args).run()
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        log(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
