"""The benchmark behind ``make bench`` (bench/README.md).

``python -m bench`` starts a private PostgreSQL cluster, serves every target
with gunicorn (2 workers each, whatever the ini's ``[server:main]`` says), gives
each application target a fresh database seeded through its public API, checks
that the bare baselines answer byte for byte what this tree answers, then runs
wrk over the scenarios a–i with the targets alternated, and prints the medians
with the ratios, and the in-process cost of a new Session per request.

Modules: ``targets`` (gunicorn processes), ``seed`` (the data set, through the
API), ``scenarios`` and ``wrk`` (the load), ``bare`` (framework-free WSGI apps),
``session_cost`` (the micro-benchmark), ``report`` (the table).
"""
