"""The bench's printed report: Markdown tables, medians of the rounds.

One table per wrk level (every scenario, every target), the concurrency
sweep, then issue 18's targets for each of this tree's production commands,
and the in-process cost of a new Session per request.
"""

import datetime
import statistics

READS_WITH_BARE = "adef"


def _median(runs, attribute):
    return statistics.median(getattr(run, attribute) for run in runs)


class Results:
    def __init__(self, results):
        self.runs = results  # (connections, scenario key, target name) -> [Result]

    def get(self, level, key, target, attribute="rps"):
        runs = self.runs.get((level, key, target))
        return _median(runs, attribute) if runs else None

    def non2xx(self, level, key, target):
        return sum(run.non2xx for run in self.runs.get((level, key, target), ()))

    def levels(self):
        return sorted({level for level, _, _ in self.runs})


def _ratio(value, other):
    return f"{value / other:.2f}" if value is not None and other else "–"


def _cpu(runs, field):
    values = [getattr(run, field) for run in runs if getattr(run, field) is not None]
    return f"{statistics.median(values):,.0f}" if values else "–"


def _level_table(results, level, scenarios, names, before, bare):
    lines = [
        f"#### wrk -c{level}",
        "",
        f"| scenario | target | req/s | × {before or 'before'} | × bare | p50 ms | p99 ms | max ms"
        " | non-2xx | SQL/req (+BEGIN/END) | db ms/req | CPU µs/req: server | PostgreSQL |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in scenarios:
        for name in names:
            runs = results.runs.get((level, scenario.key, name))
            if not runs:
                continue
            rps = results.get(level, scenario.key, name)
            lines.append(
                f"| {scenario.key} {scenario.title} | {name} | {rps:,.0f}"
                f" | {_ratio(rps, results.get(level, scenario.key, before))}"
                f" | {_ratio(rps, results.get(level, scenario.key, bare))}"
                f" | {_median(runs, 'p50_ms'):.1f} | {_median(runs, 'p99_ms'):.1f}"
                f" | {_median(runs, 'max_ms'):.0f} | {results.non2xx(level, scenario.key, name)}"
                f" | {_median(runs, 'statements'):.2f} (+{_median(runs, 'transaction_control'):.2f})"
                f" | {_median(runs, 'db_ms'):.2f}"
                f" | {_cpu(runs, 'server_cpu_us')} | {_cpu(runs, 'postgres_cpu_us')} |"
            )
    return lines + [""]


def _sweep_table(results, keys, titles, names):
    lines = [
        "| scenario | target | " + " | ".join(
            f"-c{level} req/s | p50 | p99 | non-2xx" for level in results.levels()
        ) + " |",
        "|---|---|" + "---:|" * (4 * len(results.levels())),
    ]
    for key in keys:
        for name in names:
            cells = []
            for level in results.levels():
                rps = results.get(level, key, name)
                if rps is None:
                    cells.append("– | – | – | –")
                    continue
                cells.append(
                    f"{rps:,.0f} | {results.get(level, key, name, 'p50_ms'):.1f}"
                    f" | {results.get(level, key, name, 'p99_ms'):.1f} | {results.non2xx(level, key, name)}"
                )
            if any(cell != "– | – | – | –" for cell in cells):
                lines.append(f"| {key} {titles[key]} | {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def targets(results, mine, before, bare, scenario_keys, levels):
    """[(label, figure, holds)] of issue 18's targets for this tree's target ``mine``."""
    rows = []
    for level in [level for level in levels if level in (16, 64)]:
        for key in READS_WITH_BARE:
            rps, base = results.get(level, key, mine), results.get(level, key, bare)
            if rps is not None and base:
                rows.append((f"-c{level} {key} ≥ 0.5× bare", f"{rps / base:.2f}×", rps / base >= 0.5))
        anonymous = results.get(level, "a", mine)
        for key in "bc":
            rps = results.get(level, key, mine)
            if rps is not None and anonymous:
                rows.append((f"-c{level} {key} ≥ 0.8× a", f"{rps / anonymous:.2f}×", rps / anonymous >= 0.8))
    for key in READS_WITH_BARE:
        p99, base = results.get(16, key, mine, "p99_ms"), results.get(16, key, bare, "p99_ms")
        if p99 is not None and base:
            rows.append((f"-c16 {key} p99 ≤ 2× bare's", f"{p99:.0f} / {base:.0f} ms", p99 <= 2 * base))
    for level in (16, 64):
        refused = [(key, results.non2xx(level, key, mine)) for key in scenario_keys
                   if (level, key, mine) in results.runs]
        if refused:
            total = sum(count for _, count in refused)
            worst = ", ".join(f"{key} {count}" for key, count in refused if count)
            rows.append((f"-c{level} 0 non-2xx", f"{total}" + (f" ({worst})" if worst else ""), total == 0))
    if before:
        slower = []
        compared = 0
        for level, key, name in sorted(results.runs):
            if name != mine or results.get(level, key, before) is None:
                continue
            compared += 1
            ratio = results.get(level, key, mine) / results.get(level, key, before)
            if ratio < 1:
                slower.append(f"-c{level} {key} {ratio:.2f}×")
        rows.append((f"no scenario slower than {before}",
                     ", ".join(slower) or f"all {compared} ≥ 1×", not slower))
    return rows


def render(raw_results, scenarios, apps, baselines, session, args, counts, machine):
    results = Results(raw_results)
    workers, threads = counts
    mine = [target.name for target in apps if target.source == apps[0].source]
    before = next((t.name for t in apps if t.name.startswith("before")), None)
    bare = next((t.name for t in baselines if t.name == "bare"), None)
    names = [t.name for t in apps] + [t.name for t in baselines]
    commands = "; ".join(
        f"{t.name}: " + ("`pserve production.ini`" if t.topology == "pserve" else "`make production` (nginx + pserve)")
        for t in apps
    )
    titles = {scenario.key: scenario.title for scenario in scenarios}
    sweep = [key for key in args.sweep_scenarios if key in titles]
    lines = [
        f"### Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"{machine}; PostgreSQL private cluster; {commands}; design floor and bare: gunicorn"
        f" gthread; every target {workers} workers × {threads} threads"
        + (f" (but {args.compare.split('=')[0]} as named)" if args.compare else "")
        + (f"; this tree with {', '.join(args.set)}" if args.set else "")
        + f"; wrk -t2, {args.duration} s runs, median of {args.rounds} rounds (non-2xx: their sum),"
        f" targets alternated; data set '{args.size}'.",
        "",
    ]
    for level in sorted({int(n) for n in args.levels.split(",") if n}):
        lines += _level_table(results, level, scenarios, names, before, bare)
    if sweep:
        lines += ["#### Concurrency sweep", ""] + _sweep_table(results, sweep, titles, names)
    lines += [
        "req/s: answered requests (2xx/3xx) per second, refusals not counted; non-2xx:"
        " wrk's 4xx/5xx answers plus socket errors. SQL/req: statements per answered request"
        " counted by pg_stat_statements in the target's database, BEGIN/COMMIT/ROLLBACK in"
        " parentheses; db ms/req: the server's execution time of them all per answered request."
        " CPU µs/req: CPU time (/proc, user + system) per answered request of the target's server"
        " processes (its process group) and of PostgreSQL's (the cluster's; it serves one target"
        " at a time).",
        "",
    ]
    for name in mine:
        rows = targets(results, name, before, bare, [s.key for s in scenarios], results.levels())
        lines += [f"#### Issue 18's targets: {name}", "", "| target | figure | holds |", "|---|---:|---|"]
        lines += [f"| {label} | {figure} | {'yes' if holds else '**no**'} |" for label, figure, holds in rows]
        lines.append("")
    if session:
        lines += [
            "New Session per request (in-process, µs per transaction; cost = difference to one"
            " reused session):",
            "",
            "| way | µs |",
            "|---|---:|",
        ]
        lines += [f"| {name} | {value:.1f} |" for name, value in session.items()]
    return "\n".join(lines)
