"""``make cpu``: CPU time per request of this tree against the design floor, in-process.

On a shared machine wall time moves with everyone else's load; the CPU time
a process spends per request does much less, and on 2 cores it is what
bounds throughput (one request costs app CPU + PostgreSQL CPU + the load
generator's). This loads this tree as ``pserve production.ini`` does
(bench.inprocess: its settings, logging with the access log written to
/dev/null, metrics in multiprocess mode) and the design floor
(bench.floor) on the same database in one process, checks that they
answer the same bytes, then calls each in turn, one request after another,
in alternated batches, and reports the process's CPU time
(``time.process_time``, every thread of the process: the deadline watchdog
included) and the wall time per request, the median batch of each.

The difference is what this tree adds on top of the design, nearly all of
it Python outside the SQL: both send the same statement, BEGIN and its end.
"""

import argparse
import statistics
import time

from .inprocess import call_all, environs, production_app
from .scenarios import BY_KEY
from .seed import SIZES


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__)
    parser.add_argument("--scenarios", default="df", help="keys of the scenarios (a, d, e, f)")
    parser.add_argument("--requests", type=int, default=500, help="requests per batch")
    parser.add_argument("--batches", type=int, default=7, help="batches per target, alternated")
    parser.add_argument("--size", choices=sorted(SIZES), default="full", help="data set size")
    return parser.parse_args(argv)


def body_of(app, environ):
    """(status, body bytes) of one request."""
    seen = []
    chunks = app(dict(environ), lambda status, headers, exc_info=None: seen.append(status))
    body = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return seen[0], body


def timed(app, batch):
    """(CPU µs, wall µs) per request of ``batch``, and its statuses."""
    cpu, wall = time.process_time(), time.perf_counter()
    statuses = call_all(app, batch)
    count = len(batch)
    return (time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e6, statuses


def measure(apps, scenario, seeded, requests, batches):
    """{target: (median CPU µs, median wall µs, statuses)} over alternated batches."""
    for app in apps.values():
        call_all(app, environs(scenario, seeded, 200))  # warm up
    runs = {name: [] for name in apps}
    statuses = {name: {} for name in apps}
    for _ in range(batches):
        for name, app in apps.items():
            cpu, wall, seen = timed(app, environs(scenario, seeded, requests))
            runs[name].append((cpu, wall))
            for status, count in seen.items():
                statuses[name][status] = statuses[name].get(status, 0) + count
    return {
        name: (statistics.median(c for c, _ in values), statistics.median(w for _, w in values),
               statuses[name])
        for name, values in runs.items()
    }


def main(argv=None):
    args = parse_args(argv)
    scenarios = [BY_KEY[key] for key in args.scenarios if key in BY_KEY and BY_KEY[key].bare]
    with production_app(args.size, "cpu") as (tree, seeded, url):
        from .floor import make_app

        floor = make_app(url.replace("postgresql+psycopg://", "postgresql://", 1))
        apps = {"this tree": tree, "design floor": floor}
        out = [
            "### CPU per request: this tree against the design floor (`make cpu`)",
            "",
            f"In-process, one request after another; data set '{args.size}'; {args.batches} alternated"
            f" batches of {args.requests} requests per target, the median batch. CPU: the process's"
            " (time.process_time), PostgreSQL's not included.",
            "",
            "| scenario | target | CPU µs/req | wall µs/req | statuses |",
            "|---|---|---:|---:|---|",
        ]
        for scenario in scenarios:
            first = environs(scenario, seeded, 1)[0]
            answers = {name: body_of(app, first) for name, app in apps.items()}
            if answers["this tree"] != answers["design floor"]:
                raise SystemExit(f"{scenario.key}: this tree and the floor answer differently: {answers}")
            results = measure(apps, scenario, seeded, args.requests, args.batches)
            for name, (cpu, wall, statuses) in results.items():
                seen = ", ".join(f"{n}× {s}" for s, n in sorted(statuses.items()))
                out.append(f"| {scenario.key} {scenario.title} | {name} | {cpu:.0f} | {wall:.0f} | {seen} |")
            tree_cpu, floor_cpu = results["this tree"][0], results["design floor"][0]
            out.append(f"| {scenario.key} {scenario.title} | this tree − floor | {tree_cpu - floor_cpu:.0f}"
                       f" ({tree_cpu / floor_cpu:.2f}×) | | |")
        print("\n".join(out))


if __name__ == "__main__":
    main()
