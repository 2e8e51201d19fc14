"""``initialize_myapp_db INI [NAME=VALUE ...] [--demo] [--to REVISION]``: migrate the database to head.

Runs the Alembic migrations of the top-level ``alembic/`` folder against the
database of the ini file, up to the last one, or up to ``--to REVISION`` (an
upgrade in steps, e.g. the counters' tables before the code that maintains
them, and their backfill after it: docs/operations.md). ``NAME=VALUE``
variables are those ``pserve`` takes, e.g.
``database_url=sqlite:////tmp/other.sqlite`` with development.ini.
``--demo`` then loads the demo data set (``myapp.demo``) unless it is there.
"""

import argparse
import sys

import alembic.command
import alembic.config
import alembic.util
import sqlalchemy.exc
from pyramid.exceptions import ConfigurationError
from pyramid.paster import bootstrap, get_appsettings, setup_logging
from pyramid.request import Request
from pyramid.scripts.common import parse_vars

from ..auth import get_auth
from ..db import get_engine
from ..demo import describe, load_demo_data
from ..settings import resolve_settings


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config_uri", help="the ini file, e.g. development.ini")
    parser.add_argument(
        "config_vars", nargs="*", metavar="NAME=VALUE",
        help="variables for the ini file, as pserve takes them",
    )
    parser.add_argument(
        "--demo", action="store_true",
        help="then load the demo data set (skipped when its users exist)",
    )
    parser.add_argument(
        "--to", default="head", metavar="REVISION",
        help="migrate up to this revision only (default: head);"
             " a revision behind the database changes nothing",
    )
    args = parser.parse_intermixed_args(argv[1:])
    try:
        args.options = parse_vars(args.config_vars)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def upgrade_to_head(settings, ini_path, revision="head"):
    """Run the migrations of ``ini_path``'s ``[alembic]`` section on ``settings``' database.

    The connection is handed to ``alembic/env.py``, so the database is the one
    the settings name, whatever the ini file says (tests use this too). It is
    handed over outside a transaction: each revision commits on its own, and a
    long one (a batched backfill) commits its batches as it goes.
    """
    alembic_config = alembic.config.Config(ini_path)
    alembic_config.attributes["configure_logger"] = False
    engine = get_engine(settings)
    try:
        with engine.connect() as connection:
            alembic_config.attributes["connection"] = connection
            alembic.command.upgrade(alembic_config, revision)
            connection.commit()
    finally:
        engine.dispose()


def migrate(config_uri, options=None, revision="head"):
    """Upgrade the database of the ini file (with ``options`` applied) to ``revision``."""
    settings = resolve_settings(get_appsettings(config_uri, options=options))
    upgrade_to_head(settings, config_uri.split("#")[0], revision)


def load_demo(env):
    """Load the demo data in one transaction of the application's own manager.

    ``env`` comes from ``pyramid.paster.bootstrap`` (or ``pyramid.scripting.prepare``).
    """
    request = env["request"]
    with request.tm:
        return load_demo_data(request.dbsession, get_auth(env["registry"]).passwords)


def main(argv=sys.argv):
    args = parse_args(argv)
    setup_logging(args.config_uri, global_conf=args.options)
    # An operator's mistake (an unset variable, a database not created yet)
    # ends in one sentence and exit status 1, not in a traceback.
    try:
        migrate(args.config_uri, args.options, args.to)
        if args.demo:
            # A writing request: on SQLite its transaction takes the write lock up
            # front, so a running server's writes make it wait, not fail (myapp.db).
            request = Request.blank("/", method="POST")
            with bootstrap(args.config_uri, request=request, options=args.options) as env:
                report = load_demo(env)
            print(describe(report))
    except ConfigurationError as exc:
        sys.exit(f"initialize_myapp_db: {exc}")
    except alembic.util.CommandError as exc:  # --to names no revision of alembic/versions
        sys.exit(f"initialize_myapp_db: cannot migrate to {args.to!r}: {exc}")
    except sqlalchemy.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0]
        sys.exit(f"initialize_myapp_db: cannot open the database ({reason}); create it first")


if __name__ == "__main__":
    main()
