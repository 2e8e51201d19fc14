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
from .scenarios import BY_KEY
from .seed import SIZES, seed
from .session_cost import measure
from .targets import ROOT, AppTarget, WsgiTarget, extract_commit, production_counts, topologies
from .wrk import CpuMeter, StatementCounter, run_wrk

#: "before": main when issue 18's work started (admission, access log, metrics,
#: ETags and time budgets all in), served by its own production command.
BEFORE_COMMIT = "e8e1806"
THIS_TREE = "this tree"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per scenario (median kept)")
    parser.add_argument("--duration", type=int, default=3, help="seconds of wrk per run")
    parser.add_argument("--size", choices=sorted(SIZES), default="full", help="data set size")
    parser.add_argument("--scenarios", default="abcdefghi", help="keys of the scenarios to run")
    parser.add_argument("--levels", default="16,64", help="wrk connections for every scenario")
    parser.add_argument("--sweep", default="256", help="more connections, for --sweep-scenarios only")
    parser.add_argument("--sweep-scenarios", default="ag", help="the concurrency sweep's scenarios")
    parser.add_argument(
        "--before-commit", default=BEFORE_COMMIT, help="the commit to compare with ('' for none)",
    )
    parser.add_argument(
        "--topologies", default=None,
        help="this tree's production commands to run, of pserve,nginx (default: every one it has)",
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baseline")
    parser.add_argument("--no-floor", action="store_true", help="skip the design floor")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: the ini's)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: the ini's)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a production.ini variable for this tree's targets, e.g. max_busy_requests=6 (repeatable)",
    )
    parser.add_argument(
        "--compare", default=None, metavar="NAME=V1,V2,...",
        help="serve this tree (pserve) once per value of an ini variable, e.g. threads=4,8,12,"
        " side by side (instead of its topologies)",
    )
    parser.add_argument(
        "--session-iterations", type=int, default=400,
        help="transactions per batch of the session micro-benchmark (0: skip it)",
    )
    return parser.parse_args(argv)


def log(message):
    print(f"[bench {datetime.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _raw_get(url):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_identical(reference, others, seeded, scenarios):
    """Every other target answers the bare scenarios byte for byte as ``reference``."""
    for scenario in scenarios:
        if not scenario.bare:
            continue
        for path in scenario.paths(seeded):
            expected = _raw_get(reference.server.base + path)
            for target in others:
                answer = _raw_get(target.server.base + path)
                if answer != expected or expected[0] != 200:
                    raise RuntimeError(
                        f"{target.name} and {reference.name} differ on {path}:\n"
                        f"{answer!r:.600}\n{expected!r:.600}"
                    )


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def plan(args, scenarios):
    """[(connections, scenario)] of one round: every scenario at every level, then the sweep."""
    levels = [int(n) for n in args.levels.split(",") if n]
    sweep = [int(n) for n in args.sweep.split(",") if n]
    runs = [(level, scenario) for level in levels for scenario in scenarios]
    runs += [(level, BY_KEY[key]) for level in sweep for key in args.sweep_scenarios if key in BY_KEY]
    return runs


def run(cluster, args, scenarios, apps, baselines, counts):
    """Start and seed every target on ``cluster``, then the rounds; (results, session costs)."""
    workers, threads = counts
    mine = apps[0]
    counter = StatementCounter(cluster.url())
    try:
        # One database per tree (this tree's topologies share one), migrated by that tree.
        databases, urls = {}, {}
        for target in apps:
            key = target.source
            if key not in urls:
                databases[key] = f"bench_{uuid.uuid4().hex[:8]}"
                urls[key] = cluster.create_database(databases[key])

        def prepare(tree):
            # One tree's targets one after the other (they share its database and
            # its migration); the trees in parallel.
            for target in tree:
                log(f"{target.name}: migrate and start ({target.topology})")
                target.start(urls[target.source], workers=workers, threads=target.threads)

        trees = {}
        for target in apps:
            trees.setdefault(target.source, []).append(target)
        with ThreadPoolExecutor(len(trees)) as pool:
            list(pool.map(prepare, trees.values()))
        seeders = {}
        for target in apps:  # the first target of each tree seeds its database
            seeders.setdefault(target.source, target)
        with ThreadPoolExecutor(len(seeders)) as pool:
            log(f"seed ({args.size}) through the API")
            seeded_by_tree = dict(zip(
                seeders, pool.map(lambda target: seed(target.server.base, args.size), seeders.values())
            ))
        seeded = {target.name: seeded_by_tree[target.source] for target in apps}
        database = {target.name: databases[target.source] for target in apps}
        for target in baselines:
            log(f"{target.name}: start ({workers} workers x {threads} threads)")
            target.start(mine.database_url, workers, threads)
            seeded[target.name] = seeded[mine.name]
            database[target.name] = database[mine.name]
        others = baselines + [t for t in apps[1:] if t.source == mine.source]
        check_identical(mine, others, seeded[mine.name], scenarios)
        if others:
            log(f"{', '.join(t.name for t in others)}: answers byte-identical to {mine.name}'s")

        session = None
        if args.session_iterations:
            log("session micro-benchmark")
            session = measure(mine.database_url, iterations=args.session_iterations)

        results = {}  # (connections, scenario key, target name) -> [Result per round]
        everyone = apps + baselines
        for round_number in range(args.rounds):
            for connections, scenario in plan(args, scenarios):
                players = [t for t in everyone if t.kind == "app" or scenario.bare]
                shift = round_number % len(players)  # each round starts with another target
                for target in players[shift:] + players[:shift]:
                    result = run_wrk(
                        target.server.base, scenario, seeded[target.name], args.duration,
                        counter, database[target.name], connections=connections,
                        meter=CpuMeter(target.server.process.pid, cluster.processes),
                    )
                    results.setdefault((connections, scenario.key, target.name), []).append(result)
                    log(f"round {round_number + 1} -c{connections} {scenario.key} {target.name}: "
                        f"{result.rps:.0f} req/s, p99 {result.p99_ms:.0f} ms, {result.non2xx} non-2xx")
    finally:
        counter.close()
    return results, session


def build_targets(args):
    """(app targets, this tree's first; baseline targets)."""
    available = topologies(ROOT)
    wanted = args.topologies.split(",") if args.topologies else available
    missing = set(wanted) - set(available)
    if missing:
        sys.exit(f"bench: this tree has no production command for {', '.join(sorted(missing))}")
    ini_vars = dict(item.split("=", 1) for item in args.set)
    apps = []
    if args.compare:
        name, values = args.compare.split("=", 1)
        for value in values.split(","):
            apps.append(AppTarget(f"{THIS_TREE}, {name}={value}", ROOT, "pserve",
                                  threads=args.threads, ini_vars={**ini_vars, name: value}))
    else:
        for topology in wanted:
            name = f"{THIS_TREE} ({topology})" if len(wanted) > 1 else THIS_TREE
            apps.append(AppTarget(name, ROOT, topology, threads=args.threads, ini_vars=ini_vars))
    if args.before_commit:
        commit = subprocess.run(
            ["git", "rev-parse", "--verify", f"{args.before_commit}^{{commit}}"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
        folder = extract_commit(commit)
        apps.append(AppTarget(f"before {commit[:7]}", folder / "tree", "pserve", cleanup=folder,
                              threads=args.threads))
    baselines = []
    if not args.no_floor:
        baselines.append(WsgiTarget("design floor", "bench.floor:app", of=apps[0]))
    if not args.no_bare:
        baselines.append(WsgiTarget("bare", "bench.bare:app", of=apps[0]))
    return apps, baselines


def main(argv=None):
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed; run scripts/install-wrk.sh (make bench does)")
    scenarios = [BY_KEY[key] for key in args.scenarios if key in BY_KEY]
    apps, baselines = build_targets(args)
    threads = args.threads
    if threads is None and args.compare and args.compare.startswith("threads="):
        threads = int(args.compare.split("=", 1)[1].split(",")[0])
    counts = production_counts(ROOT, args.workers, threads)
    settings = {"shared_preload_libraries": "'pg_stat_statements'", "max_connections": "600"}
    try:
        with PostgresCluster(name="bench", settings=settings) as cluster:
            results, session = run(cluster, args, scenarios, apps, baselines, counts)
    finally:
        for target in apps + baselines:
            target.stop()  # idempotent; removes the baseline's extracted tree

    print(report.render(results, scenarios, apps, baselines, session, args, counts, machine()))


if __name__ == "__main__":
    main()
