"""The benchmark behind ``make bench`` (bench/README.md).

``python -m bench`` starts a private PostgreSQL cluster and serves every
target as it is deployed: this tree through its own production command(s)
(``pserve production.ini``; ``make production``'s nginx in front when the
tree has it), the "before" commit through its own, and two baselines with
the same worker and thread counts (gunicorn gthread): the design floor
(``floor``: Pyramid, pyramid_tm, zope.sqlalchemy, a new Session per request,
nothing else) and the bare baseline (``bare``: no framework, no transaction).
Each tree gets a fresh database seeded through its public API; the bench
checks that the baselines answer byte for byte what this tree answers, then
runs wrk over the scenarios a–i at each level (-c16, -c64) and the sweep
(-c256 on a list and a write), targets alternated, and prints the medians, the
ratios, issue 18's targets and the in-process cost of a new Session.

Modules: ``targets`` (the servers), ``probe`` (proves which ``myapp`` a server
imported), ``seed`` (the data set, through the API), ``scenarios`` and ``wrk``
(the load), ``bare`` and ``floor`` (the baselines), ``session_cost`` (the
micro-benchmark), ``report`` (the tables), ``profile`` (``make profile``).
"""
