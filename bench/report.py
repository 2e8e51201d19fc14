"""The bench's printed report: Markdown tables, medians of the rounds."""

import datetime
import statistics

#: The issue's targets: (label, scenario, compared with, at least).
#: "bare" is the bare baseline of the same scenario, "main" the baseline
#: commit, a scenario key another scenario of this tree.
TARGETS = [
    ("a ≥ 0.5× bare", "a", "bare", 0.5),
    ("d ≥ 0.5× bare", "d", "bare", 0.5),
    ("e ≥ 0.5× bare", "e", "bare", 0.5),
    ("f ≥ 0.5× bare", "f", "bare", 0.5),
    ("b ≥ 0.8× a", "b", "a", 0.8),
    ("c ≥ 0.8× a", "c", "a", 0.8),
    ("a ≥ 1× main", "a", "main", 1.0),
    ("b ≥ 1× main", "b", "main", 1.0),
    ("c ≥ 1× main", "c", "main", 1.0),
    ("d ≥ 1.4× main", "d", "main", 1.4),
    ("e ≥ 1× main", "e", "main", 1.0),
    ("f ≥ 2.1× main", "f", "main", 2.1),
    ("g ≥ 1.35× main", "g", "main", 1.35),
    ("h ≥ 1.5× main", "h", "main", 1.5),
]
READS = "abcdef"


def _median(results, attribute):
    return statistics.median(getattr(result, attribute) for result in results)


def render(results, scenarios, mine, baseline, bare, session, args, machine):
    rps = {key: _median(runs, "rps") for key, runs in results.items()}
    lines = [
        f"## Benchmark {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"{machine}; PostgreSQL private cluster; gunicorn -w {args.workers} -k {args.worker_class}"
        f" per target; wrk -t2 -c16, {args.duration} s runs, median of {args.rounds} rounds,"
        f" targets alternated; data set '{args.size}'.",
        "",
        "| scenario | target | req/s | × " + (baseline or "baseline") + " | p50 ms | p99 ms"
        " | non-2xx | SQL/req (+BEGIN/COMMIT) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in scenarios:
        for target in (mine, baseline, bare):
            runs = results.get((scenario.key, target))
            if not runs:
                continue
            base = rps.get((scenario.key, baseline))
            ratio = f"{rps[(scenario.key, target)] / base:.2f}" if base else "–"
            lines.append(
                f"| {scenario.key} {scenario.title} | {target} | {rps[(scenario.key, target)]:,.0f}"
                f" | {ratio} | {_median(runs, 'p50_ms'):.1f} | {_median(runs, 'p99_ms'):.1f}"
                f" | {sum(run.non2xx for run in runs)} | {_median(runs, 'statements'):.2f}"
                f" (+{_median(runs, 'transaction_control'):.2f}) |"
            )
    lines += [
        "",
        "SQL/req: statements per request counted by pg_stat_statements in the target's"
        " database, BEGIN/COMMIT/ROLLBACK in parentheses; SQLAlchemy's pool_pre_ping sends"
        " an empty query, which it does not count.",
        "",
        "| target | ratio | holds |",
        "|---|---:|---|",
    ]
    names = {"bare": bare, "main": baseline}
    for label, key, other, least in TARGETS:
        mine_rps = rps.get((key, mine))
        other_rps = rps.get((key, names[other])) if other in names else rps.get((other, mine))
        if mine_rps is None or other_rps is None:
            continue
        ratio = mine_rps / other_rps
        lines.append(f"| {label} | {ratio:.2f} | {'yes' if ratio >= least else '**no**'} |")
    lines += [
        "",
        "New Session per request (in-process, µs per transaction; cost = difference to one"
        " reused session):",
        "",
        "| way | µs |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {value:.1f} |" for name, value in session.items()]
    cost = max(session["new session, this tree"], 0.0)  # below zero: within the noise
    shares = []
    for key in READS:
        if (key, mine) in rps:
            per_request_us = args.workers / rps[(key, mine)] * 1e6
            shares.append(f"{key} {cost / per_request_us:.1%}")
    if shares:
        lines += [
            "",
            f"Share of a request (cost ÷ a worker's time per request, {args.workers} workers):"
            f" {', '.join(shares)}.",
        ]
    return "\n".join(lines)
