"""``python -m bench.scale --sizes 10k,100k,1M`` (``make bench-scale SIZE=...``).

Per size: a fresh private PostgreSQL cluster, seeded with set-based SQL
(bench/scale/seed.py), served by ``pserve production.ini``, every answer
checked against SQL, every read endpoint and write timed. Prints p50, p99
and req/s per size, the growth factor p50(largest) / p50(smallest), each
worker's RSS, the slowest statements and their plans; writes the whole
result as JSON (``--json``).

``--migration``: instead, per size, the online migrations timed on a seeded
database while writers write (bench/scale/migration.py): each revision's
seconds, the writes made meanwhile, the longest one, and the application's
lock waits over one second.
"""

import argparse
import dataclasses
import datetime
import json
import sys

from .migration import run_migration
from .run import run_size
from .seed import SIZES


def log(message):
    print(f"[scale {datetime.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def table(results):
    sizes = [result["size"] for result in results]
    names = list(results[0]["reads"]) + list(results[0]["writes"])
    header = "| endpoint | " + " | ".join(f"{s} p50 / p99 ms, req/s" for s in sizes) + " | growth |"
    lines = [header, "|---" * (len(sizes) + 2) + "|"]
    for name in names:
        cells, p50s = [], []
        for result in results:
            timing = result["reads"].get(name) or result["writes"].get(name)
            p50s.append(timing.p50_ms)
            errors = f", {timing.errors} errors" if timing.errors else ""
            cells.append(f"{timing.p50_ms:.1f} / {timing.p99_ms:.1f}, {timing.rps:.0f}{errors}")
        growth = p50s[-1] / p50s[0] if len(p50s) > 1 and p50s[0] else 1.0
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {growth:.2f} |")
    return "\n".join(lines)


def migrations(sizes, json_path):
    results = []
    for size in sizes:
        log(f"{size}: seeding at the revision before the counters, then migrating while writing")
        results.append(run_migration(size, SIZES[size], log))
    print("| size | revision | seconds | writes meanwhile | longest write ms "
          "| lock waits over 1 s, longest wait ms (0: none over 0.2 s) |")
    print("|---|---|---|---|---|---|")
    for result in results:
        for step in result["revisions"]:
            print(f"| {result['size']} | {step['what']} ({step['revision']}) | {step['seconds']:.1f} | "
                  f"{step['writes']} | {step['longest_write_ms']:.0f} | {len(step['waits_over_1s'])}, "
                  f"{step['longest_wait_ms']:.0f} |")
        print(f"\n{result['size']}: seeded in {result['seeded_seconds']:.0f} s; {result['writes']} writes, "
              f"statuses {result['statuses']}; afterwards every count equals count(*), every tag date "
              "its article's, every index valid")
    if json_path:
        with open(json_path, "w") as handle:
            json.dump(results, handle, indent=1)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per read endpoint")
    parser.add_argument("--rounds", type=int, default=100, help="requests per write")
    parser.add_argument("--no-explain", action="store_true", help="skip the auto_explain pass")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--migration", action="store_true",
                        help="time the online migrations on each size while writes go on, instead")
    args = parser.parse_args(argv)
    sizes = [size.strip() for size in args.sizes.split(",") if size.strip()]
    unknown = [size for size in sizes if size not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; choose among {list(SIZES)}")
    if args.migration:
        return migrations(sizes, args.json)
    results = []
    for size in sizes:
        log(f"{size}: seeding, checking and timing")
        results.append(run_size(size, args.duration, args.rounds, not args.no_explain, log))
    print(table(results))
    for result in results:
        seed = result["seed"]
        print(f"\n{result['size']}: seeded in {seed['total']:.0f} s "
              f"({', '.join(f'{k} {v:.0f} s' for k, v in seed.items() if k != 'total')}); "
              f"RSS per worker: {', '.join(f'{m:.0f} MiB' for m in result['rss_mib'])}; "
              f"{result['counted_subjects']} counts equal count(*) after the writes")
        print("slowest statements (mean ms, calls, query):")
        for mean, calls, query in result["slowest"]:
            print(f"  {mean} ms x{calls}: {query}")
        for ms, plan in result["plans"]:
            print(f"plan of a {ms:.1f} ms statement (EXPLAIN ANALYZE, BUFFERS):\n{plan}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1, default=lambda o: dataclasses.asdict(o)
                      if dataclasses.is_dataclass(o) else str(o))


if __name__ == "__main__":
    main()
