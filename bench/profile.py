"""``make profile``: where one request's time goes, layer by layer.

The application is loaded exactly as ``pserve production.ini`` loads it (the
ini's settings and logging, the access log and metrics on, PostgreSQL in a
private cluster, seeded through the API by a real ``pserve``), then called
in-process as one gunicorn thread calls it: the WSGI callable, one request
after another. Each scenario is timed without a profiler first (the wall
time per request), then run under cProfile.

Layers come from the profile. Each tween of the chain is wrapped in a
one-line function named after it, so its cumulative time is known; a tween's
own cost is its time minus the next one's. Inside the router: the view
(``myapp/*/views.py``), SQL build (SQLAlchemy: statement cache, parameters,
result set-up), execute (psycopg: send, wait for the server, receive), fetch
(rows into Python), rendering (the renderer to the response), and the
transaction (pyramid_tm's begin, commit or abort, the Session's close).
cProfile's own cost inflates Python-heavy layers more than the waits; the
shares, not the profiled microseconds, are the claim.
"""

import argparse
import cProfile
import io
import pstats
import time

from .inprocess import call_all, environs, production_app
from .scenarios import BY_KEY
from .seed import SIZES

WRAPPER = "bench_layer__"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--scenarios", default="adfg", help="keys of the scenarios to profile")
    parser.add_argument("--requests", type=int, default=1000, help="requests per scenario")
    parser.add_argument("--size", choices=sorted(SIZES), default="full", help="data set size")
    parser.add_argument("--top", type=int, default=12, help="functions listed by own time")
    return parser.parse_args(argv)


def _wrap(name, handler):
    """``handler`` behind a function of its own name (cProfile tells functions by code)."""
    label = WRAPPER + "".join(c if c.isalnum() else "_" for c in name)
    namespace = {"handler": handler}
    exec(f"def {label}(request):\n    return handler(request)\n", namespace)  # noqa: S102
    return label, namespace[label]


def instrument(app):
    """Rebuild ``app``'s tween chain with each tween wrapped; [(tween name, label)], outermost first."""
    from pyramid.interfaces import ITweens

    registry = app.registry
    tweens = registry.queryUtility(ITweens)
    chain = tweens.explicit or tweens.implicit()
    handler = app.orig_handle_request
    labels = []
    label, handler = _wrap("router", handler)
    labels.append(("router: routing, view, rendering", label))
    for name, factory in reversed(chain):
        label, handler = _wrap(name, factory(handler, registry))
        labels.append((name, label))
    app.handle_request = handler
    return list(reversed(labels))


def _cum(stats, predicate):
    """Cumulative seconds of the functions matching ``predicate(filename, function)``."""
    return sum(value[3] for (filename, _, function), value in stats.items() if predicate(filename, function))


def _called_from(stats, predicate, caller_suffix):
    """Cumulative seconds of the matching functions, in their calls from ``caller_suffix``'s functions."""
    total = 0.0
    for (filename, _, function), value in stats.items():
        if predicate(filename, function):
            total += sum(edge[3] for caller, edge in value[4].items() if caller[0].endswith(caller_suffix))
    return total


def _view(stats):
    """The views' cumulative seconds: functions of myapp's views.py modules, in their calls
    from anything but another views.py function (a helper the view calls is the view's)."""
    total = 0.0
    for (filename, _, function), value in stats.items():
        if "/myapp/" in filename and filename.endswith("views.py"):
            total += sum(edge[3] for caller, edge in value[4].items()
                         if not ("/myapp/" in caller[0] and caller[0].endswith("views.py")))
    return total


def _orm_execute(filename, function):
    """Session._execute_internal: every ORM execute, scalars, get goes through it; and the
    hot reads compiled once (myapp/db/compiled.py), which run on the DBAPI cursor instead."""
    return ((function == "_execute_internal" and filename.endswith("orm/session.py"))
            or (function == "rows" and filename.endswith("myapp/db/compiled.py")))


def _psycopg_wait(filename, function):
    return function == "wait" and filename.endswith("psycopg/connection.py")


def _waits(stats):
    """(waits of the transaction's end, every other wait).

    psycopg's ``Connection.wait`` is where every wait on the server goes:
    commit() and rollback() call it directly; every other wait (BEGIN, which
    psycopg sends before a transaction's first statement, the statements,
    connecting) comes through the cursor or the connection's other methods.
    """
    ending = other = 0.0
    for (filename, _, function), value in stats.items():
        if _psycopg_wait(filename, function):
            for caller, edge in value[4].items():
                if caller[0].endswith("psycopg/connection.py") and caller[2] in ("commit", "rollback"):
                    ending += edge[3]
                else:
                    other += edge[3]
    return ending, other


def layers(whole, labels, requests):
    """[(layer, µs per request)] adding up to the request, and that total (profiled µs)."""
    per = 1e6 / requests
    cum = [_cum(whole, lambda f, fn, label=label: fn == label) for _, label in labels]
    total = _cum(whole, lambda f, fn: fn == "__call__" and f.endswith("pyramid/router.py"))
    view = _view(whole)
    sql = _cum(whole, _orm_execute)
    observability = _cum(whole, lambda f, fn: fn == "finish" and "/myapp/observability/" in f)
    fetch = _cum(whole, lambda f, fn: fn in ("all", "first", "one", "scalar", "scalar_one", "one_or_none",
                                             "fetchall", "fetchone", "scalars")
                 and f.endswith("engine/result.py"))
    render = _cum(whole, lambda f, fn: fn == "render_to_response" and f.endswith("pyramid/renderers.py"))
    ending_wait, sql_wait = _waits(whole)
    ending = _cum(whole, lambda f, fn: fn in ("commit", "abort") and f.endswith("transaction/_manager.py"))

    rows = [
        ("WSGI: Router.__call__, pyramid_retry's policy, request and response objects, callbacks",
         (total - cum[0] - observability) * per),
        ("access log line, metrics, Server-Timing (myapp.observability's finish)", observability * per),
    ]
    for index, (name, _) in enumerate(labels[:-1]):
        own = (cum[index] - cum[index + 1]) * per
        if name == "pyramid_tm.tm_tween_factory":
            rows += [
                ("tween pyramid_tm: the transaction, of which", None),
                ("  · commit/abort: waiting for the server (ROLLBACK or COMMIT)", ending_wait * per),
                ("  · commit/abort: Python (transaction, zope.sqlalchemy, Session.close, pool return)",
                 (ending - ending_wait) * per),
                ("  · the rest of the tween (begin, veto, retry bookkeeping)", own - ending * per),
            ]
        else:
            rows.append((f"tween {name}", own))
    router = cum[-1]
    rows += [
        ("routing, view derivers and views, their Python (security, idempotency keys, ETags,"
         " parsing, shaping rows)", (router - render - sql - fetch) * per),
        ("SQL build and send, every statement (the identity's, idempotency keys', the view's):"
         " SQLAlchemy's ORM execute or a compiled hot read's cursor execute (checkout, parameters,"
         " result set-up)",
         (sql - sql_wait) * per),
        ("SQL execute: waiting for the server (BEGIN, then each statement)", sql_wait * per),
        ("SQL fetch: rows into Python (Result.all/first/...)", fetch * per),
        ("rendering: RendererHelper.render_to_response", render * per),
        ("(included above: the view functions themselves, their SQL included)", -view * per),
    ]
    return rows, total * per


def _stats(profile):
    """A profile's pstats dict; empty when it never ran (e.g. no SQL at all)."""
    profile.create_stats()
    return profile.stats


def top_functions(profile, count):
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(count)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return lines[start:start + count + 1]


def profile_scenario(app, labels, scenario, seeded, requests):
    """(µs per request unprofiled, statuses, layer rows, profiled µs per request, whole profile)."""
    call_all(app, environs(scenario, seeded, 200))  # warm up
    batch = environs(scenario, seeded, requests)
    start = time.perf_counter()
    statuses = call_all(app, batch)
    wall = (time.perf_counter() - start) / requests * 1e6

    whole = cProfile.Profile()
    batch = environs(scenario, seeded, requests)
    whole.enable()
    call_all(app, batch)
    whole.disable()

    rows, profiled_total = layers(_stats(whole), labels, requests)
    return wall, statuses, rows, profiled_total, whole


def main(argv=None):
    args = parse_args(argv)
    scenarios = [BY_KEY[key] for key in args.scenarios if key in BY_KEY]
    with production_app(args.size, "profile") as (app, seeded, _):
        labels = instrument(app)
        out = [
            "### Where one request's time goes (`make profile`)",
            "",
            "In-process, production.ini's settings and logging (access log formatted and written"
            f" to /dev/null), PostgreSQL private cluster, data set '{args.size}',"
            f" {args.requests} requests per scenario after 200 to warm up.",
            "Tween chain, outermost first: " + " → ".join(name for name, _ in labels[:-1]) + " → router.",
            "",
        ]
        for scenario in scenarios:
            wall, statuses, rows, total, profile = profile_scenario(app, labels, scenario, seeded, args.requests)
            out += [
                f"#### {scenario.key} {scenario.title}: {wall:.0f} µs per request without the profiler"
                f" ({', '.join(f'{n}× {s}' for s, n in sorted(statuses.items()))})",
                "",
                f"| layer | µs per request (profiled, {total:.0f} in all) | share |",
                "|---|---:|---:|",
            ]
            for name, value in rows:
                if value is None:
                    out.append(f"| {name} | | |")
                elif name.startswith("(included above"):  # a part of rows above, shown apart
                    out.append(f"| {name} | ({abs(value):.0f}) | ({abs(value) / total:.0%}) |")
                else:
                    out.append(f"| {name} | {value:.0f} | {value / total:.0%} |")
            out += ["", "Own time, the top functions:", "", "```"]
            out += top_functions(profile, args.top)
            out += ["```", ""]
        print("\n".join(out))


if __name__ == "__main__":
    main()
