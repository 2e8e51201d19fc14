"""Fixtures for the real-server tests: a private cluster and a pserve on it."""

import uuid

import pytest

from .cluster import PostgresCluster
from .server import AppServer, production_environ


@pytest.fixture(scope="module")
def private_cluster():
    """A PostgreSQL cluster of this test module's own, torn down at its end."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture
def private_database(private_cluster):
    """A new database on the private cluster; its SQLAlchemy URL."""
    return private_cluster.create_database(f"myapp_{uuid.uuid4().hex[:10]}")


@pytest.fixture
def production_server(private_database):
    """``pserve production.ini`` on a fresh, migrated database of the private cluster."""
    with AppServer("production.ini", environ=production_environ(private_database)) as server:
        yield server
