"""The typed settings object: every setting parsed once, a bad value stops start-up in one sentence."""

import pytest
from pyramid.exceptions import ConfigurationError

from myapp.settings import Settings

SECRET = "s" * 40


def parse(**raw):
    return Settings.from_ini({"sqlalchemy.url": "sqlite://", "myapp.jwt_secret": SECRET, **raw})


def test_defaults_are_typed():
    settings = parse()
    assert settings.db_request_timeout == 7.0
    assert settings.max_busy_requests == 10
    assert settings.observability is True
    assert settings.replica_urls == ()
    assert [str(n) for n in settings.metrics_allowed_networks] == ["127.0.0.1/32", "::1/128"]


def test_ini_strings_become_values():
    settings = parse(**{
        "myapp.db.request_timeout": "3.5",
        "myapp.observability": "false",
        "myapp.replica_urls": "postgresql://a/x  postgresql://b/x",
        "myapp.cors_allowed_origins": "https://a.example https://b.example",
    })
    assert settings.db_request_timeout == 3.5
    assert settings.observability is False
    assert settings.replica_urls == ("postgresql://a/x", "postgresql://b/x")
    assert settings.cors_allowed_origins == ("https://a.example", "https://b.example")


def test_the_collector_settings_default_to_freezing_with_pythons_thresholds():
    assert parse().gc_freeze is True
    assert parse().gc_threshold == (700, 10, 10)
    assert parse(**{"myapp.gc_threshold": " 5000  20 0 "}).gc_threshold == (5000, 20, 0)


def test_an_empty_optional_value_keeps_the_default():
    # env-optional:NAME with NAME unset resolves to "".
    assert parse(**{"myapp.replica_max_lag_seconds": ""}).replica_max_lag_seconds == 30.0


@pytest.mark.parametrize(
    "key, value, sentence",
    [
        ("myapp.db.request_timeout", "soon", "myapp.db.request_timeout = 'soon'"),
        ("myapp.db.statement_timeout", "0", "must be a number above 0"),
        ("myapp.max_busy_requests", "-1", "myapp.max_busy_requests = '-1'"),
        ("myapp.observability", "maybe", "must be true or false"),
        ("myapp.metrics_allowed_networks", "everyone", "must be networks"),
        ("myapp.db.timeouts_via", "telepathy", "must be one of"),
        ("myapp.gc_threshold", "700 10", "must be three whole numbers"),
        ("myapp.gc_threshold", "0 10 10", "0 turns collection off"),
        ("myapp.gc_freeze", "sometimes", "must be true or false"),
    ],
)
def test_a_bad_value_names_its_setting(key, value, sentence):
    with pytest.raises(ConfigurationError, match="refusing to start") as refused:
        parse(**{key: value})
    assert sentence in str(refused.value)


def test_required_settings_are_named():
    with pytest.raises(ConfigurationError, match="myapp.jwt_secret is required"):
        Settings.from_ini({"sqlalchemy.url": "sqlite://"})


def test_a_short_secret_is_refused_without_repeating_it():
    with pytest.raises(ConfigurationError, match="at least 32 bytes") as refused:
        parse(**{"myapp.jwt_secret": "hunter2-hunter2"})
    assert "hunter2" not in str(refused.value)


def test_every_setting_has_a_key_and_a_reason():
    keys = [key for key, _default, reason in Settings.table() if reason]
    assert len(keys) == len(Settings.table()) == len(set(keys))


def test_the_app_keeps_the_parsed_settings(app):
    assert app.registry.app_settings.max_body_bytes > 0


def test_the_operations_page_lists_every_setting():
    """docs/operations.md's table is the settings object's table, row for row."""
    from myapp.settings import markdown_table

    from .conftest import ROOT

    with open(f"{ROOT}/docs/operations.md", encoding="utf-8") as page:
        assert markdown_table() in page.read()
