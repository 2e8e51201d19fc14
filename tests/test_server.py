"""production.ini's server: gunicorn's configuration in myapp/server.py."""

import email.utils
import gc
import importlib
import os
import sys
import time

from gunicorn import config as gunicorn_config
from gunicorn import glogging as gunicorn_logging
from gunicorn import util as gunicorn_util

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


def a_logger(**settings):
    """gunicorn's Logger and myapp's, as gunicorn configures them with ``settings``."""
    cfg = gunicorn_config.Config()
    for name, value in settings.items():
        cfg.set(name, value)
    loggers = []
    for cls in (gunicorn_logging.Logger, myapp.server.Logger):
        logger = cls.__new__(cls)  # setup() would configure this process's logging
        logger.cfg = cfg
        loggers.append(logger)
    return loggers


def test_gunicorn_builds_no_access_line_of_its_own_unless_accesslog_names_a_log():
    # pserve hands gunicorn the ini's logging configuration: gunicorn's own logger
    # then formats an access line per response, which nothing there writes.
    theirs, ours = a_logger(logconfig_dict={"version": 1})
    assert theirs.access_log_enabled and not ours.access_log_enabled
    ours.access(None, None, None, None)  # returns before it reads the response
    _, ours = a_logger(accesslog="-")
    assert ours.access_log_enabled, "an operator who asks for gunicorn's access log gets it"


def test_the_date_header_is_gunicorns_formatted_once_a_second(monkeypatch):
    http_date = myapp.server.HttpDate()
    now = [1764950400.25]
    monkeypatch.setattr(time, "time", lambda: now[0])
    assert gunicorn_util.http_date(now[0]) == "Fri, 05 Dec 2025 16:00:00 GMT"  # gunicorn's own
    calls = []
    real = email.utils.formatdate
    monkeypatch.setattr(email.utils, "formatdate",
                        lambda *args, **kwargs: calls.append(args) or real(*args, **kwargs))
    answers = []
    for step in (0, 0.25, 0.25, 0.5):
        now[0] += step
        answers.append(http_date())
    assert answers == ["Fri, 05 Dec 2025 16:00:00 GMT"] * 3 + ["Fri, 05 Dec 2025 16:00:01 GMT"]
    assert len(calls) == 2, "formatted once a second"
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"  # a given moment is formatted as asked
