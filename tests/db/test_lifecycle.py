"""The per-request session lifecycle, through real requests and real commits.

Test-only views write ``Probe`` rows (a table of the tests' own, created
here); the tests then look at the database through a separate connection.
"""

import psycopg.errors
import pytest
import sqlalchemy as sa
import transaction.interfaces
import webtest
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.view import exception_view_config, view_config
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from myapp.edge.errors import error

from ..conftest import app_engine


class ProbeBase(DeclarativeBase):
    pass


class Probe(ProbeBase):
    __tablename__ = "lifecycle_probe"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)


class ProbeError(Exception):
    """Raised by a test view; its exception view is the first to use the session."""


def _attempt(request):
    return request.environ.get("retry.attempt", 0)


def _count_call(request, name):
    calls = request.registry.setdefault("calls", {})
    calls[name] = calls.get(name, 0) + 1


@view_config(route_name="probe_write", request_method="POST", renderer="json")
def probe_write(request):
    """Write a row, then end as ``outcome`` says."""
    request.dbsession.add(Probe(name=request.params["name"]))
    request.dbsession.flush()
    outcome = request.params.get("outcome", "ok")
    if outcome == "raise":
        raise RuntimeError("the view failed after writing")
    if outcome == "http-raise":
        raise HTTPBadRequest()
    if outcome in ("4xx", "5xx"):
        request.response.status_int = 422 if outcome == "4xx" else 503
    return {"outcome": outcome}


@view_config(route_name="probe_state", request_method="GET", renderer="json")
def probe_state(request):
    """Report what the new session holds before it does anything, then load every row."""
    dbsession = request.dbsession
    request.registry.setdefault("sessions", []).append(dbsession)
    state = {"identity_map": len(dbsession.identity_map), "new": len(dbsession.new)}
    state["names"] = sorted(p.name for p in dbsession.scalars(sa.select(Probe)))
    return state


@view_config(route_name="probe_leak", request_method="POST", renderer="json")
def probe_leak(request):
    """Load every row and leave a pending object behind, then answer 400."""
    dbsession = request.dbsession
    request.registry.setdefault("sessions", []).append(dbsession)
    list(dbsession.scalars(sa.select(Probe)))
    dbsession.add(Probe(name="pending"))
    request.response.status_int = 400
    return {"left": "pending"}


@view_config(route_name="probe_flaky", request_method="POST", renderer="json")
def probe_flaky(request):
    """Write, then fail the first attempt with the given transient error."""
    _count_call(request, "flaky")
    request.dbsession.add(Probe(name=request.params["name"]))
    request.dbsession.flush()
    if _attempt(request) == 0:
        if request.params["kind"] == "serialization":
            orig = psycopg.errors.SerializationFailure("could not serialize access")
            raise sa.exc.OperationalError("UPDATE ...", {}, orig)
        raise transaction.interfaces.TransientError("try again")
    return {"attempt": _attempt(request)}


@view_config(route_name="probe_race", request_method="POST", renderer="json")
def probe_race(request):
    """Check-then-insert whose first attempt loses the race for a unique name."""
    _count_call(request, "race")
    name = request.params["name"]
    already_taken = request.dbsession.scalar(sa.select(Probe.id).where(Probe.name == name))
    if _attempt(request) == 0:
        already_taken = None  # as if the other request committed just after our check
    if already_taken:
        raise error(409, "name", "has already been taken")
    request.dbsession.add(Probe(name=name))
    request.dbsession.flush()
    return {"created": name}


@view_config(route_name="probe_no_db", request_method="GET", renderer="json")
def probe_no_db(request):
    return {"db": "untouched"}


@view_config(route_name="probe_late", request_method="GET", renderer="json")
def probe_late(request):
    """Use the database only in a finished callback, after pyramid_tm is done."""

    def use_database_late(request):
        late = request.registry.setdefault("late", [])
        late.append(request.dbsession)  # kept alive, as a logging hook might
        try:
            request.dbsession.execute(sa.select(1))
        except Exception as exc:  # the explicit manager has no transaction any more
            late.append(exc)

    request.add_finished_callback(use_database_late)
    return {"db": "later"}


@view_config(route_name="probe_boom", request_method="GET", renderer="json")
def probe_boom(request):
    raise ProbeError()


@exception_view_config(ProbeError, renderer="json")
def probe_boom_view(exc, request):
    request.response.status_int = 500
    return {"rows": request.dbsession.scalar(sa.select(sa.func.count(Probe.id)))}


def lifecycle_views(config):
    for name, path in [
        ("probe_write", "/_test/write"),
        ("probe_state", "/_test/state"),
        ("probe_leak", "/_test/leak"),
        ("probe_flaky", "/_test/flaky"),
        ("probe_race", "/_test/race"),
        ("probe_no_db", "/_test/no-db"),
        ("probe_boom", "/_test/boom"),
        ("probe_late", "/_test/late"),
    ]:
        config.add_route(name, path)
    config.scan(__name__)


@pytest.fixture(scope="module", autouse=True)
def probe_table(database_url):
    engine = sa.create_engine(database_url)
    ProbeBase.metadata.create_all(engine)
    yield
    ProbeBase.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def empty_probe_table(db_engine):
    yield
    with db_engine.begin() as connection:
        connection.execute(sa.delete(Probe))


@pytest.fixture
def probe_app(make_app):
    return make_app(includes=[lifecycle_views])


@pytest.fixture
def client(probe_app):
    return webtest.TestApp(probe_app)


def names_in_database(db_engine):
    """The committed rows, read through a connection of the tests' own."""
    with db_engine.connect() as connection:
        return sorted(connection.scalars(sa.select(Probe.name)))


def test_each_request_gets_a_new_empty_session(client, probe_app, db_engine):
    client.post("/_test/write", {"name": "first"})
    client.post("/_test/leak", status=400)
    state = client.get("/_test/state").json

    first, second = probe_app.registry["sessions"]
    assert first is not second
    # Nothing of the first request (loaded rows, a pending object) reached the second.
    assert state == {"identity_map": 0, "new": 0, "names": ["first"]}
    # And the first request's session was closed when its request ended.
    assert not first.in_transaction() and len(first.identity_map) == 0 and not first.new
    assert names_in_database(db_engine) == ["first"]


def test_a_write_that_returns_2xx_is_committed(client, db_engine):
    assert client.post("/_test/write", {"name": "kept"}).json == {"outcome": "ok"}
    assert names_in_database(db_engine) == ["kept"]


@pytest.mark.parametrize(
    "outcome, status",
    [("raise", 500), ("http-raise", 400), ("4xx", 422), ("5xx", 503)],
)
def test_a_write_that_fails_is_rolled_back(client, db_engine, outcome, status):
    response = client.post("/_test/write", {"name": "lost", "outcome": outcome}, status=status)
    assert response.content_type == "application/json"
    assert names_in_database(db_engine) == []


@pytest.mark.parametrize("kind", ["transient", "serialization"])
def test_a_transient_error_is_retried_and_written_once(client, probe_app, db_engine, kind):
    response = client.post("/_test/flaky", {"name": "once", "kind": kind})
    assert response.json == {"attempt": 1}
    assert probe_app.registry["calls"]["flaky"] == 2
    assert names_in_database(db_engine) == ["once"]


def test_a_unique_constraint_race_ends_as_409_on_the_replay(client, probe_app, db_engine):
    client.post("/_test/write", {"name": "taken"})
    response = client.post("/_test/race", {"name": "taken"}, status=409)
    assert response.json == {"errors": {"name": ["has already been taken"]}}
    # The first attempt hit the database's unique constraint; the replay saw the row.
    assert probe_app.registry["calls"]["race"] == 2
    assert names_in_database(db_engine) == ["taken"]


def test_no_connection_stays_checked_out(client, probe_app):
    engine = app_engine(probe_app)
    for i in range(5):
        client.post("/_test/write", {"name": f"row{i}"})
        client.post("/_test/write", {"name": f"bad{i}", "outcome": "raise"}, status=500)
        client.post("/_test/leak", status=400)
        client.post("/_test/flaky", {"name": f"flaky{i}", "kind": "transient"})
        client.post("/_test/race", {"name": f"row{i}"}, status=409)
        client.get("/_test/boom", status=500)  # the session is first opened in an exception view
        client.get("/_test/nowhere", status=404)
        client.get("/api/health")
    assert engine.pool.checkedout() == 0


def test_a_session_first_opened_in_an_exception_view_is_closed(client, probe_app):
    assert client.get("/_test/boom", status=500).json == {"rows": 0}
    assert app_engine(probe_app).pool.checkedout() == 0


def test_a_session_first_opened_after_the_transaction_ended_is_closed(client, probe_app):
    client.get("/_test/late")
    dbsession = probe_app.registry["late"][0]
    assert not dbsession.in_transaction()
    assert app_engine(probe_app).pool.checkedout() == 0


def test_a_request_that_does_not_use_the_database_checks_out_no_connection(client, probe_app):
    checkouts = []
    sa.event.listen(app_engine(probe_app), "checkout", lambda *args: checkouts.append(args))
    assert client.get("/_test/no-db").json == {"db": "untouched"}
    client.get("/api/unknown", status=404)
    assert checkouts == []
    client.get("/_test/state")
    assert len(checkouts) == 1
