"""zope.sqlalchemy's session listeners, attached once to the session factory.

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
from zope.sqlalchemy.datamanager import (
    ZopeStatus,
    ZopeTransactionEvents,
    join_transaction,
    mark_changed,
)

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
