"""HTTP methods by what they may do: one list for every part of the app that asks.

A module of its own at the bottom of the layers (docs/architecture.md): the
database lifecycle (myapp.db) and the access log (myapp.observability, a layer
below myapp.db) both ask, so neither may own it.
"""

#: Methods that change nothing (RFC 9110, 9.2.1). They run in a read-only
#: transaction, on a replica when one fits, and take no SQLite write lock
#: (myapp.db); they carry ETags (myapp.edge.conditional); the access log names
#: their outcome "read-only" (myapp.observability.access).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
