"""gunicorn settings of the bench's own WSGI apps (``-c bench/gunicorn_conf.py``).

Each worker says when it is ready, so the bench measures only once every
worker serves. gunicorn 25.1+ would otherwise open a control socket at one
fixed path per user, which two servers on one host would fight over.
"""

MARKER = "bench-worker: ready"
control_socket_disable = True


def post_worker_init(worker):
    worker.log.warning(MARKER)
