"""``pshell development.ini``: a shell with ``dbsession`` and ``tm`` ready.

The session is joined to ``tm`` as in a request: call ``tm.commit()`` to keep
your changes (``tm.abort()`` to drop them); both start a new transaction.
"""


def setup(env):
    request = env["request"]
    # pshell's request is a GET, whose session would read in a read-only
    # transaction on PostgreSQL (myapp.db.replication); this one is for changes.
    request.method = "POST"
    request.tm.begin()
    env["tm"] = request.tm
    env["dbsession"] = request.dbsession
