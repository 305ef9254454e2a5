"""A real Celery worker subprocess against Redis and the test database (pytest plugin).

Use it from a transactional test (the worker is another process, so it sees only committed rows):

    @pytest.mark.celery_worker
    @pytest.mark.django_db(transaction=True)
    def test_it_runs(celery_worker):
        some_task.delay(...)
        celery_worker.wait_for(lambda: Thing.objects.filter(done=True).exists())

Each worker consumes its own freshly named queues (one for the default queue, one for the bulk queue that
CELERY_TASK_ROUTES sends provisioning work to), so messages left in Redis by another run are never picked up,
and tasks sent from the test process go to those queues, each routed as in production, while the fixture is
active.
`celery_worker_factory(include=("tests.some_module",), env={...})` starts one that imports extra modules
(e.g. to install a crash seam). The worker is stopped (SIGTERM, then SIGKILL) before the database is flushed.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60
POLL_INTERVAL = 0.02


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


class Worker:
    """A running worker: its process, its log lines, and helpers that wait on real conditions."""

    def __init__(self, process: subprocess.Popen, queue_name: str, lines: "queue.Queue[str]"):
        self.process = process
        self.queue_name = queue_name
        self._lines = lines
        self.log: list[str] = []

    def _read(self, timeout: float) -> str | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        self.log.append(line)
        return line

    def wait_for_log(self, text: str, timeout: float = READY_TIMEOUT) -> str:
        """Block until the worker writes a line containing `text` (it is read as it is written)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            line = self._read(remaining)
            if line is not None and text in line:
                return line
            if line is None and self.process.poll() is not None:
                break
        raise AssertionError(f"worker never logged {text!r}; log:\n" + "".join(self.log[-40:]))

    def wait_for(self, condition, timeout: float = 30, message: str = "condition"):
        """Poll `condition()` (a database query, say) until true; fail with the worker's log if it never is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            # Drain log lines while waiting, which also paces the loop without a fixed sleep for the work.
            self._read(POLL_INTERVAL)
        raise AssertionError(f"{message} not met within {timeout}s; worker log:\n" + "".join(self.log[-40:]))

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def _start(include=(), env=None) -> Worker:
    from ump.celery import app

    broker = settings.CELERY_BROKER_URL
    if not broker:
        pytest.skip("no CELERY_BROKER_URL/REDIS_URL: a real worker needs Redis")
    queue_name = f"test-{uuid.uuid4().hex[:12]}"
    command = [
        sys.executable, "-m", "celery", "-A", "ump", "worker",
        "--loglevel=INFO", "--concurrency=1", "--pool=prefork", "--queues", f"{queue_name},{queue_name}-bulk",
        "--hostname", f"{queue_name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    if include:
        command += ["--include", ",".join(include)]
    child_env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": broker, **(env or {})}
    child_env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    worker = Worker(process, queue_name, lines)
    worker.wait_for_log("ready.")
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue_name
    _route(app, {pattern: {"queue": f"{queue_name}-bulk"} for pattern in settings.CELERY_TASK_ROUTES})
    return worker


def _route(app, routes):
    """Send tasks by these routes from now on (Celery builds its router from task_routes once, and keeps it)."""
    app.conf.task_routes = routes
    app.amqp.flush_routes()
    del app.amqp.router


@pytest.fixture
def celery_worker_factory(transactional_db):
    """Start real workers (each on its own queue); all are stopped at the end of the test."""
    from ump.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes)
    workers: list[Worker] = []

    def factory(include=(), env=None) -> Worker:
        worker = _start(include=include, env=env)
        workers.append(worker)
        return worker

    yield factory
    for worker in workers:
        worker.stop()
    app.conf.task_always_eager, app.conf.task_default_queue, routes = saved
    _route(app, routes)
    with app.connection_for_write() as conn:
        for worker in workers:
            for name in (worker.queue_name, f"{worker.queue_name}-bulk"):
                conn.default_channel.queue_delete(name)  # nothing of this test reaches a later one


@pytest.fixture
def celery_worker(celery_worker_factory) -> Worker:
    """One real worker, ready to consume."""
    return celery_worker_factory()
