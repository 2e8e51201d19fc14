"""production.ini takes its database URL and secrets from the environment, or refuses to start."""

import os

import pytest
from pyramid.paster import get_appsettings

from myapp import main

from .conftest import ROOT

PRODUCTION_INI = os.path.join(ROOT, "production.ini")
REQUIRED = ("MYAPP_DATABASE_URL", "MYAPP_JWT_SECRET", "MYAPP_CORS_ALLOWED_ORIGINS")


@pytest.fixture
def production_settings(monkeypatch):
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    return get_appsettings(PRODUCTION_INI)


def test_production_refuses_to_start_without_its_environment(production_settings):
    with pytest.raises(SystemExit) as refused:
        main({}, **production_settings)
    for name in REQUIRED:
        assert f"${name}" in str(refused.value)


def test_production_names_the_one_variable_missing(production_settings, monkeypatch, database_url):
    monkeypatch.setenv("MYAPP_DATABASE_URL", database_url)
    monkeypatch.setenv("MYAPP_CORS_ALLOWED_ORIGINS", "https://conduit.example")
    with pytest.raises(SystemExit, match=r"myapp.jwt_secret \(from \$MYAPP_JWT_SECRET\)"):
        main({}, **production_settings)


def test_production_starts_with_its_environment(production_settings, monkeypatch, database_url):
    monkeypatch.setenv("MYAPP_DATABASE_URL", database_url)
    monkeypatch.setenv("MYAPP_JWT_SECRET", "a-production-secret-of-at-least-32-bytes!")
    monkeypatch.setenv("MYAPP_CORS_ALLOWED_ORIGINS", "https://conduit.example")
    app = main({}, **production_settings)
    assert app.registry.settings["sqlalchemy.url"] == database_url
    app.registry["dbsession_factory"].kw["bind"].dispose()


def test_a_short_jwt_secret_is_refused(production_settings, monkeypatch, database_url):
    monkeypatch.setenv("MYAPP_DATABASE_URL", database_url)
    monkeypatch.setenv("MYAPP_JWT_SECRET", "too-short")
    monkeypatch.setenv("MYAPP_CORS_ALLOWED_ORIGINS", "https://conduit.example")
    with pytest.raises(SystemExit, match="at least 32 bytes"):
        main({}, **production_settings)
