"""production.ini's server: gunicorn's configuration in myapp/server.py."""

import importlib
import os

import myapp.server


def test_workers_default_to_one_per_core_unless_web_concurrency_says(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert importlib.reload(myapp.server).workers == len(os.sched_getaffinity(0))
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert importlib.reload(myapp.server).workers == 3
