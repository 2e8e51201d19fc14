"""Sessions: a brand-new Session per request, joined to the request's transaction.

- ``get_session_factory``: the application's one ``sessionmaker``, with
  zope.sqlalchemy's listeners attached once, to the factory.
- ``get_tm_session``: a new Session whose commit and rollback belong to a
  transaction manager (a request's ``request.tm``, or a script's).
- ``request_dbsession``: ``request.dbsession``, made on first access (on the
  engine myapp.db.replication picks for a safe method, the primary's writing
  bind otherwise) and closed when the request ends.
- ``mark_session_changed``: what a Core INSERT/UPDATE/DELETE must call.

Why the listeners are attached to the factory:
``zope.sqlalchemy.register(session, transaction_manager=tm)`` binds one
transaction manager to the seven listeners it attaches. With a manager per
request (pyramid_tm's explicit mode) that meant attaching them to every new
Session, which cost more than the Session itself (``make bench``'s
micro-benchmark: about 85 µs against 5). Here they are attached once, to the
factory, and each session names its manager in ``session.info``; a session
without one is left alone. What they do is zope.sqlalchemy's: join the
session to the manager's transaction when it begins or gets an object, mark
it changed after a flush or an ORM insert/update/delete, and refuse a commit
that does not come from the manager.
"""

from sqlalchemy import event
from sqlalchemy.orm import sessionmaker
from zope.sqlalchemy.datamanager import (
    ZopeStatus,
    ZopeTransactionEvents,
    join_transaction,
    mark_changed,
)

from ..methods import SAFE_METHODS

#: The key of ``session.info`` naming the session's transaction manager.
TM_INFO_KEY = "transaction_manager"
SESSION_EVENTS = (
    "after_begin", "after_attach", "after_flush", "after_bulk_update",
    "after_bulk_delete", "before_commit", "do_orm_execute",
)


def mark_session_changed(session):
    """After a Core write: zope.sqlalchemy commits only a session marked changed
    (ORM writes are marked by the listeners; a Core INSERT/UPDATE/DELETE is not)."""
    mark_changed(session, session.info[TM_INFO_KEY])


def get_session_factory(engine):
    """The one ``sessionmaker`` of the application; a new Session per call."""
    factory = sessionmaker(bind=engine)
    attach(factory)  # zope.sqlalchemy's listeners, once for every session
    return factory


def get_tm_session(session_factory, transaction_manager, request=None, bind=None):
    """A new Session whose commit and rollback belong to ``transaction_manager``.

    Used for requests (``request.tm``) and outside them, in scripts and pshell,
    with any ``transaction.TransactionManager``::

        with transaction.manager as tm:
            dbsession = get_tm_session(factory, tm)
            ...

    ``bind`` picks another engine (or engine with options) for this session only.
    """
    options = {"info": {"request": request, TM_INFO_KEY: transaction_manager}}
    if bind is not None:
        options["bind"] = bind
    return session_factory(**options)


def request_dbsession(request):
    """``request.dbsession``: created on first access, closed when the request ends."""
    registry = request.registry
    if request.method in SAFE_METHODS:
        # myapp.db.replication: a read-only transaction, on a replica when one fits.
        bind = registry["dbsession_read_bind"](request)
    else:
        bind = registry["dbsession_write_bind"]
    dbsession = get_tm_session(registry["dbsession_factory"], request.tm, request, bind)
    # pyramid_tm has finished (commit or abort) by the time finished callbacks
    # run; closing here also covers a session first opened in an exception view,
    # after the transaction manager was done with the request.
    request.add_finished_callback(lambda request: dbsession.close())
    return dbsession


def attach(session_factory):
    """Listen to every session ``session_factory`` makes."""
    events = SessionTransactionEvents()
    for name in SESSION_EVENTS:
        event.listen(session_factory, name, getattr(events, name))


class SessionTransactionEvents(ZopeTransactionEvents):
    """zope.sqlalchemy's listeners, reading each session's manager from its info."""

    def __init__(self):
        super().__init__(transaction_manager=None)

    @staticmethod
    def _manager(session):
        return session.info.get(TM_INFO_KEY)

    def after_begin(self, session, transaction, connection):
        self._join(session)

    def after_attach(self, session, instance):
        self._join(session)

    def _join(self, session):
        manager = self._manager(session)
        if manager is not None:
            join_transaction(session, self.initial_state, manager, self.keep_session)

    def _changed(self, session):
        manager = self._manager(session)
        if manager is not None:
            mark_changed(session, manager, self.keep_session)

    def after_flush(self, session, flush_context):
        self._changed(session)

    def after_bulk_update(self, update_context):
        self._changed(update_context.session)

    def after_bulk_delete(self, delete_context):
        self._changed(delete_context.session)

    def do_orm_execute(self, execute_state):
        if execute_state.is_orm_statement and (
            execute_state.is_update or execute_state.is_insert or execute_state.is_delete
        ):
            self._changed(execute_state.session)

    def before_commit(self, session):
        # As zope.sqlalchemy's own check: only the manager commits.
        manager = self._manager(session)
        if manager is not None and not session.in_nested_transaction():
            assert manager.get().status == ZopeStatus.COMMITTING, (
                "Transaction must be committed using the transaction manager"
            )
