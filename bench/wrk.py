"""One wrk run of one scenario against one target, with the SQL it caused.

wrk keeps ``connections`` connections open (-c16, -c64, -c256: the same
clients, more at once) from two threads. req/s counts the answered requests
only (2xx/3xx: a refusal is no throughput); p50, p99 and max are wrk's latency
over every request; non-2xx is wrk's count of 4xx/5xx answers plus socket
errors (connect, read, write, timeout).

Statements are counted by the database itself (pg_stat_statements, loaded by
the bench's private cluster), for the target's database only, from a reset
just before wrk starts to just after it ends. BEGIN/COMMIT/ROLLBACK are
counted apart from the rest, and the server's execution time of them all is
summed (``total_exec_time``): the database's share of a request. Requests still in flight when wrk stops are not
in its count but their statements are: an overcount of at most 16 requests'
worth, negligible over a full round.

CPU time is read from ``/proc`` around the same window (``CpuMeter``): the
target's server (every process of its process group: arbiter, workers, nginx
in front when there is one) and PostgreSQL (the cluster's postmaster and its
backends; a backend that ended is in the postmaster's children's time). On
these 2 cores the sum is what bounds throughput, so these two columns say
where a request's cost is: in the server's Python or in the database.
"""

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass

import psycopg

from .scenarios import lua_script

THREADS = 2
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


def _is_transaction_control(query):
    """BEGIN, COMMIT, ROLLBACK, and the BEGIN READ ONLY / READ WRITE psycopg sends."""
    words = query.split()
    return bool(words) and words[0].upper().rstrip(";") in TRANSACTION_CONTROL


@dataclass
class Result:
    rps: float  # answered (2xx/3xx) requests per second
    p50_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    requests: int
    statements: float  # per request, BEGIN/COMMIT/ROLLBACK excluded
    transaction_control: float  # BEGIN/COMMIT/ROLLBACK per request
    db_ms: float  # the server's execution time per request, every statement included
    server_cpu_us: float | None = None  # the server's processes' CPU time per answered request
    postgres_cpu_us: float | None = None  # PostgreSQL's processes' CPU time per answered request


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_ticks(pid):
    """(user + system CPU ticks of ``pid`` and of its ended children, its process group)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(field) for field in fields[11:15]), int(fields[2])


class CpuMeter:
    """CPU time of one server's process group and of a PostgreSQL cluster's processes."""

    def __init__(self, server_group, postgres_pids):
        self.server_group = server_group
        self.postgres_pids = postgres_pids  # a callable: the cluster's pids now

    def read(self):
        """(server ticks, PostgreSQL ticks) so far."""
        postgres = set(self.postgres_pids())
        server = database = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                ticks, group = _process_ticks(entry)
            except (OSError, ValueError, IndexError):  # ended meanwhile
                continue
            if group == self.server_group:
                server += ticks
            elif int(entry) in postgres:
                database += ticks
        return server, database


class StatementCounter:
    """pg_stat_statements of one database, read through the cluster's ``postgres`` db."""

    def __init__(self, admin_url):
        self.connection = psycopg.connect(
            admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
        )
        self.connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def reset(self):
        self.connection.execute("SELECT pg_stat_statements_reset()")

    def counts(self, database):
        """(statements, transaction control statements, execution ms) since the reset."""
        rows = self.connection.execute(
            "SELECT s.query, s.calls, s.total_exec_time FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s",
            (database,),
        ).fetchall()
        control = sum(calls for query, calls, _ in rows if _is_transaction_control(query))
        return sum(calls for _, calls, _ in rows) - control, control, sum(ms for *_, ms in rows)

    def close(self):
        self.connection.close()


def bench_json(completed):
    """The figures a finished wrk run printed on its ``BENCH_JSON`` line (bench/scenarios.py's Lua)."""
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return json.loads(lines[-1].split(" ", 1)[1])


def run_wrk(base, scenario, seeded, duration, counter, database, connections=16, meter=None):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(scenario, seeded))
    try:
        counter.reset()
        cpu_before = meter.read() if meter else None
        completed = subprocess.run(
            ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
             "-s", script.name, base],
            capture_output=True, text=True, timeout=duration + 60,
        )
        cpu_after = meter.read() if meter else None
        statements, control, db_ms = counter.counts(database)
    finally:
        os.unlink(script.name)
    data = bench_json(completed)
    refused = data["non2xx"] + data["socket_errors"]
    # Only answered requests count: a fast refusal (503) is no throughput, and
    # sends no SQL.
    answered = max(data["requests"] - data["non2xx"], 0)
    per = max(answered, 1)
    cpu = {}
    if meter:
        server, postgres = (after - before for after, before in zip(cpu_after, cpu_before))
        cpu = {"server_cpu_us": server / CLOCK_TICKS * 1e6 / per,
               "postgres_cpu_us": postgres / CLOCK_TICKS * 1e6 / per}
    return Result(
        rps=answered / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non2xx=refused,
        requests=data["requests"],
        statements=statements / per,
        transaction_control=control / per,
        db_ms=db_ms / per,
        **cpu,
    )
