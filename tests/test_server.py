"""production.ini's server: gunicorn's configuration in myapp/server.py."""

import gc
import importlib
import os
import sys

import myapp.server


def test_workers_default_to_two_per_core_unless_web_concurrency_says(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert importlib.reload(myapp.server).workers == 2 * len(os.sched_getaffinity(0))
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert importlib.reload(myapp.server).workers == 3


def loaded_worker(monkeypatch, app):
    """A ThreadWorker after load_wsgi with ``app``; what it did to the process, recorded."""
    monkeypatch.setattr(myapp.server.GunicornThreadWorker, "load_wsgi",
                        lambda worker: setattr(worker, "wsgi", app))
    monkeypatch.setattr(myapp.server, "process_started", lambda registry: None)
    monkeypatch.setattr(myapp.server, "warm_up", lambda registry: None)
    calls = []
    monkeypatch.setattr(sys, "setswitchinterval", lambda value: calls.append(("switch", value)))
    # The test process's own collector is left alone.
    monkeypatch.setattr(gc, "set_threshold", lambda *values: calls.append(("threshold", values)))
    monkeypatch.setattr(gc, "collect", lambda: calls.append(("collect",)))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(("freeze",)))
    worker = myapp.server.ThreadWorker.__new__(myapp.server.ThreadWorker)
    worker.load_wsgi()
    return calls


def test_each_worker_sets_the_switch_interval_of_its_settings(monkeypatch, make_app):
    calls = loaded_worker(monkeypatch, make_app(**{"myapp.switch_interval": "0.0015"}))
    assert ("switch", 0.0015) in calls


def test_each_worker_freezes_start_up_after_collecting_it_and_sets_its_thresholds(
    monkeypatch, make_app
):
    calls = loaded_worker(monkeypatch, make_app(**{"myapp.gc_threshold": "5000 20 30"}))
    assert calls[-3:] == [("threshold", (5000, 20, 30)), ("collect",), ("freeze",)]


def test_a_worker_told_not_to_freeze_does_not(monkeypatch, make_app):
    calls = loaded_worker(monkeypatch, make_app(**{"myapp.gc_freeze": "false"}))
    assert ("freeze",) not in calls and ("threshold", (700, 10, 10)) in calls
