"""Real services for the escalation integration tests: Redis, Celery worker and beat processes,
an SMTP server on loopback, and the test database shared with those processes.

Skips only when Redis is absent (CI starts it, and turns a skip into a failure).
"""

import asyncio
import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection

from config.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parents[2]
DEFAULT_TEST_REDIS = "redis://127.0.0.1:6379/15"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=30, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")


def redis_url_for_tests():
    url = os.environ.get("CELERY_BROKER_URL", "")
    return (
        url if url.startswith("redis://") else os.environ.get("TEST_REDIS_URL", DEFAULT_TEST_REDIS)
    )


def use_broker(url):
    """Point this process's Celery producer at `url` (drops pools made for another broker)."""
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 30}
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def redis_url():
    url = redis_url_for_tests()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not running at {url} (.ci/run starts it)")
    return url


@pytest.fixture
def broker(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    previous = celery_app.conf.broker_url
    use_broker(redis_url)
    yield client
    client.flushdb()
    use_broker(previous)


class Mailbox:
    """An SMTP server on loopback that keeps what it accepted. `hold_first()` makes it hang on
    the first message (no 250 reply) until `release()`, then refuse it, as a server does when
    the client dies mid-send."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self._hold = threading.Event()
        self._held = threading.Event()
        self._release = threading.Event()

    def hold_first(self):
        self._hold.set()

    def wait_held(self, timeout=30):
        assert self._held.wait(timeout), "no message reached the SMTP server"

    def release(self):
        self._release.set()

    async def handle_DATA(self, server, session, envelope):
        if self._hold.is_set():
            self._hold.clear()
            self._held.set()
            while not self._release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Connection lost before the message was accepted"
        parsed = email.message_from_bytes(envelope.content)
        with self.lock:
            self.messages.append(
                {
                    "to": list(envelope.rcpt_tos),
                    "id": parsed["Message-ID"],
                    "subject": parsed["Subject"],
                }
            )
        return "250 OK"

    def to(self):
        with self.lock:
            return sorted(address for m in self.messages for address in m["to"])

    def ids(self):
        with self.lock:
            return [m["id"] for m in self.messages]


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port
    yield mailbox
    mailbox.release()
    controller.stop()


class Processes:
    """Celery worker and beat processes for one test, stopped at its end."""

    def __init__(self, tmp_path, smtp_port, broker_url):
        self.tmp_path = tmp_path
        self.procs = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.integration.worker_settings",
            "TEST_DB_NAME": str(connection.settings_dict["NAME"]),
            "TEST_SMTP_PORT": str(smtp_port),
            "CELERY_BROKER_URL": broker_url,
            "PYTHONUNBUFFERED": "1",
        }

    def _start(self, name, args):
        log = open(self.tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = (proc, log)
        return proc

    def log(self, name):
        return (self.tmp_path / f"{name}.log").read_text()

    def worker(self, name="worker", wait=True):
        proc = self._start(
            name,
            [
                "worker",
                "--pool=solo",
                f"--hostname={name}@%h",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
        )
        if wait:
            wait_until(lambda: " ready." in self.log(name), 60, message=f"{name} to be ready")
        return proc

    def beat(self, name="beat"):
        schedule = self.tmp_path / f"{name}-schedule"
        return self._start(name, ["beat", "--loglevel=INFO", f"--schedule={schedule}"])

    def kill(self, name, sig=signal.SIGKILL):
        proc, log = self.procs.pop(name)
        os.killpg(proc.pid, sig)
        proc.wait(20)
        log.close()

    def stop_all(self):
        for name in list(self.procs):
            proc, _ = self.procs[name]
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
            self.procs.pop(name)[1].close()


@pytest.fixture
def celery_processes(transactional_db, broker, smtp, tmp_path, redis_url):
    procs = Processes(tmp_path, smtp.port, redis_url)
    yield procs
    procs.stop_all()


class OwnRedis:
    """A redis-server of the test's own on a free port, so it can be stopped and restarted
    without disturbing anyone else's."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path / "redis"
        self.dir.mkdir()
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(  # noqa: S603
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up():
            try:
                return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
            except redis.exceptions.ConnectionError:
                return False

        wait_until(up, 10, message="redis-server to start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def own_redis(tmp_path, redis_url):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()
