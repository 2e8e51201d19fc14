"""``python -m bench`` (``make bench``): see bench/__init__.py and bench/README.md."""

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.live.cluster import PostgresCluster

from . import report
from .scenarios import BY_KEY, SCENARIOS
from .seed import SIZES, seed
from .session_cost import measure
from .targets import ROOT, AppTarget, BareTarget, extract_commit
from .wrk import StatementCounter, run_wrk

BASELINE_COMMIT = "6b7e654"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per scenario (median kept)")
    parser.add_argument("--duration", type=int, default=8, help="seconds of wrk per run")
    parser.add_argument("--size", choices=sorted(SIZES), default="full", help="data set size")
    parser.add_argument("--scenarios", default="abcdefghi", help="keys of the scenarios to run")
    parser.add_argument(
        "--baseline-commit", default=BASELINE_COMMIT,
        help="the commit to compare with ('' for none)",
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baselines")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per target")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument(
        "--session-iterations", type=int, default=400,
        help="transactions per batch of the session micro-benchmark",
    )
    return parser.parse_args(argv)


def log(message):
    print(f"[bench {datetime.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def check_identical(bare, mine, seeded, scenarios):
    """Each bare baseline answers byte for byte what this tree answers."""
    for scenario in scenarios:
        if not scenario.bare:
            continue
        for path in scenario.paths(seeded):
            answers = [_raw_get(target.server.base + path) for target in (bare, mine)]
            if answers[0] != answers[1] or answers[0][0] != 200:
                raise RuntimeError(
                    f"bare and this tree differ on {path}:\n{answers[0]!r:.600}\n{answers[1]!r:.600}"
                )


def _raw_get(url):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def run(cluster, args, scenarios, everyone, mine, bare):
    """Prepare every target on ``cluster``, then the rounds; (results, session costs)."""
    server_options = {
        "workers": args.workers, "worker_class": args.worker_class, "threads": args.threads,
    }
    targets = [target for target in everyone if target.kind == "app"]
    counter = StatementCounter(cluster.url())
    try:
        databases = {target.name: f"bench_{uuid.uuid4().hex[:8]}" for target in targets}

        def prepare(target):
            """Migrate, start and seed one target; the targets are prepared in parallel."""
            log(f"{target.name}: migrate and start on a fresh database")
            target.start(cluster.create_database(databases[target.name]), **server_options)
            log(f"{target.name}: seed ({args.size}) through the API")
            return seed(target.server.base, args.size)

        with ThreadPoolExecutor(len(targets)) as pool:
            seeded = dict(zip(databases, pool.map(prepare, targets)))
        if bare is not None:
            bare.start(mine.database_url, **server_options)
            databases[bare.name] = databases[mine.name]
            seeded[bare.name] = seeded[mine.name]
            check_identical(bare, mine, seeded[mine.name], scenarios)
            log("bare answers are byte-identical to this tree's")

        log("session micro-benchmark")
        session = measure(mine.database_url, iterations=args.session_iterations)

        results = {}  # (scenario key, target name) -> [Result per round]
        for round_number in range(args.rounds):
            for scenario in scenarios:
                players = [t for t in everyone if t.kind == "app" or scenario.bare]
                # Alternate: each round starts with another target.
                shift = round_number % len(players)
                for target in players[shift:] + players[:shift]:
                    result = run_wrk(
                        target.server.base, scenario, seeded[target.name], args.duration,
                        counter, databases[target.name],
                    )
                    results.setdefault((scenario.key, target.name), []).append(result)
                    log(f"round {round_number + 1} {scenario.key} {target.name}: "
                        f"{result.rps:.0f} req/s")
    finally:
        counter.close()
    return results, session


def main(argv=None):
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed; run scripts/install-wrk.sh (make bench does)")
    scenarios = [BY_KEY[key] for key in args.scenarios if key in BY_KEY]
    mine = AppTarget("this tree", ROOT)
    targets = [mine]
    baseline = None
    if args.baseline_commit:
        commit = subprocess.run(
            ["git", "rev-parse", "--verify", f"{args.baseline_commit}^{{commit}}"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
        folder = extract_commit(commit)
        baseline = AppTarget(f"main {commit[:7]}", folder / "tree", cleanup=folder)
        targets.append(baseline)
    bare = None if args.no_bare else BareTarget("bare", of=mine)

    everyone = targets + ([bare] if bare is not None else [])
    settings = {"shared_preload_libraries": "'pg_stat_statements'", "max_connections": "200"}
    try:
        with PostgresCluster(name="bench", settings=settings) as cluster:
            results, session = run(cluster, args, scenarios, everyone, mine, bare)
    finally:
        for target in everyone:
            target.stop()  # idempotent; removes the baseline's extracted tree

    print(report.render(
        results, scenarios, mine.name, baseline.name if baseline else None,
        bare.name if bare else None, session, args, machine(),
    ))


if __name__ == "__main__":
    main()
