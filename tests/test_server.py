"""production.ini's server: gunicorn's configuration in myapp/server.py."""

import importlib
import os
import sys

import myapp.server


def test_workers_default_to_two_per_core_unless_web_concurrency_says(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert importlib.reload(myapp.server).workers == 2 * len(os.sched_getaffinity(0))
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert importlib.reload(myapp.server).workers == 3


def test_each_worker_sets_the_switch_interval_of_its_settings(monkeypatch, make_app):
    app = make_app(**{"myapp.switch_interval": "0.0015"})
    monkeypatch.setattr(myapp.server.GunicornThreadWorker, "load_wsgi",
                        lambda worker: setattr(worker, "wsgi", app))
    monkeypatch.setattr(myapp.server, "process_started", lambda registry: None)
    monkeypatch.setattr(myapp.server, "warm_up", lambda registry: None)
    intervals = []
    monkeypatch.setattr(sys, "setswitchinterval", intervals.append)
    worker = myapp.server.ThreadWorker.__new__(myapp.server.ThreadWorker)
    worker.load_wsgi()
    assert intervals == [0.0015]
