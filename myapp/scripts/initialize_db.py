"""``initialize_myapp_db INI``: migrate the database to head.

Runs the Alembic migrations of the top-level ``alembic/`` folder against the
database of the ini file.
"""

import argparse
import sys

import alembic.command
import alembic.config
from pyramid.paster import setup_logging


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config_uri", help="the ini file, e.g. development.ini")
    return parser.parse_args(argv[1:])


def migrate(config_uri):
    alembic_config = alembic.config.Config(config_uri.split("#")[0])
    alembic_config.attributes["configure_logger"] = False
    alembic.command.upgrade(alembic_config, "head")


def main(argv=sys.argv):
    args = parse_args(argv)
    setup_logging(args.config_uri)
    migrate(args.config_uri)
