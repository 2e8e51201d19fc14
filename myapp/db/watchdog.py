"""The request deadline's enforcer: one thread per process that cancels overdue statements.

While a request holds a connection, the connection is *armed* with the
request's deadline (myapp.db.budgets, at checkout; disarmed at checkin, or
when the pool discards it). A few times a second the ``Watchdog`` looks at
the armed connections. One past its deadline with a statement still running
gets that statement cancelled on the server (psycopg's ``cancel_safe``, from
a thread of its own): the waiting thread receives ``QueryCanceled``, the
transaction rolls back and the connection stays in the pool. If the server
does not even take the cancel within ``CANCEL_GRACE`` (its host hung, a
network black hole), the connection's socket is shut down: the waiting
thread sees a disconnect and that one connection is discarded.
"""

import logging
import os
import socket
import threading
import time

import psycopg
from psycopg.pq import TransactionStatus

log = logging.getLogger(__name__)

#: Seconds between two looks of the watchdog at the armed connections: the
#: precision of the deadline, at about twenty wake-ups a second per process.
WATCHDOG_TICK = 0.05

#: Seconds the server has to take a cancel before the connection's socket is
#: shut down: a live server takes one within milliseconds, even when busy.
CANCEL_GRACE = 1.0


class Watchdog:
    """Cancels the statements still running at their connection's deadline.

    ``arm``/``disarm`` are all a request pays (at checkout and checkin); the
    thread, started on first use in each process, does the rest. ``disarm``
    and the watchdog's decisions share a lock, so the watchdog never acts on
    a connection its request has given back (a cancel would end the next
    request's statement, a shutdown another socket), and the pool disarms a
    connection it discards too (``configure_postgresql``), so nothing of a
    dead connection stays behind.
    """

    def __init__(self, tick=WATCHDOG_TICK):
        self.tick = tick
        self.armed = {}  # psycopg connection -> deadline
        self.cancelling = {}  # psycopg connection -> Cancel
        self._lock = threading.Lock()
        self._thread = None
        self._starting = threading.Lock()
        os.register_at_fork(after_in_child=self._forget_parent)

    def arm(self, connection, deadline):
        self.armed[connection] = deadline
        if self._thread is None:
            self._start()

    def disarm(self, connection):
        with self._lock:
            self.armed.pop(connection, None)
            cancel = self.cancelling.pop(connection, None)
        if cancel is not None:
            # The cancel must not reach the server after another request took
            # the connection: wait for it to have been delivered (or given up).
            cancel.thread.join()
            cancel.close()

    def _start(self):
        with self._starting:
            if self._thread is None:
                thread = threading.Thread(target=self._watch, name="myapp-db-watchdog", daemon=True)
                thread.start()
                self._thread = thread

    def _forget_parent(self):
        # A forked child has none of its parent's threads, and its own connections.
        self.armed, self.cancelling = {}, {}
        self._lock = threading.Lock()
        self._thread, self._starting = None, threading.Lock()

    def _watch(self):
        while True:
            time.sleep(self.tick)
            try:
                self.look()
            except Exception:  # never let the watchdog die
                log.exception("database watchdog")

    def look(self):
        """Cancel what is overdue; shut down what the server did not take a cancel for."""
        now = time.monotonic()
        for connection in list(self.armed):
            with self._lock:  # still armed, and by the request seen overdue
                deadline = self.armed.get(connection)
                if deadline is None or deadline > now:
                    continue
                if connection.pgconn.transaction_status != TransactionStatus.ACTIVE:
                    continue  # not waiting for a statement
                cancel = self.cancelling.get(connection)
                if cancel is None:
                    self.cancelling[connection] = Cancel(connection)
                elif not cancel.delivered and not cancel.shut_down and now - cancel.sent >= CANCEL_GRACE:
                    # The server did not even take the cancel: presumed unreachable.
                    cancel.shut_down_socket()


class Cancel:
    """A cancel request for the statement ``connection`` runs, sent from a thread of its own.

    It keeps a duplicate of the connection's socket, taken while the statement
    runs: if the cancel is not taken, the socket shut down is that one, even
    if libpq has closed its own descriptor meanwhile and the number now
    belongs to another connection. ``close`` (at disarm) lets the duplicate go.
    """

    def __init__(self, connection):
        self.sent = time.monotonic()
        self.delivered = False  # the server took it: the statement ends, nothing more to do
        self.shut_down = False
        try:
            self.socket = socket.socket(fileno=os.dup(connection.pgconn.socket))
        except (OSError, psycopg.Error):
            self.socket = None  # the connection is gone already: nothing to shut down
        self.thread = threading.Thread(target=self._send, args=(connection,), daemon=True)
        self.thread.start()

    def _send(self, connection):
        try:
            connection.cancel_safe(timeout=CANCEL_GRACE)
            self.delivered = True
        except Exception as exc:  # the watchdog shuts the socket down
            log.warning("cannot cancel a statement past its deadline: %s", exc)

    def shut_down_socket(self):
        """End the connection under the waiting thread, which then sees a disconnect."""
        self.shut_down = True
        if self.socket is not None:
            try:
                self.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closed by the server already

    def close(self):
        if self.socket is not None:
            self.socket.close()


WATCHDOG = Watchdog()
