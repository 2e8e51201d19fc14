"""gunicorn settings of every bench target (``-c bench/gunicorn_conf.py``).

Each worker logs which ``myapp`` it imported, so the bench can prove that the
baseline target runs the baseline commit's code and not this tree's.
"""

import sys

MARKER = "bench-worker: myapp from "


def post_worker_init(worker):
    module = sys.modules.get("myapp")
    worker.log.warning("%s%s", MARKER, getattr(module, "__file__", None))
