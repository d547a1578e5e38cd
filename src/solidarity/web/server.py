"""`solidarity serve`: a supervisor for the web server (Granian, WSGI), the log sequencer, the
notification booker and the import worker.

The `serve` process runs no request itself: it starts the four as child processes, restarts
any that dies (after RESTART_BASE seconds, doubled at each death in a row up to RESTART_CAP;
a child that ran STABLE_SECONDS counts as healthy again), and logs each death and restart.
On SIGTERM, SIGINT or SIGHUP it stops them (SIGTERM, then SIGKILL after STOP_SECONDS) and
exits. Each child gets a signal from the kernel when `serve` ends, even by SIGKILL, and each
Granian web worker exits then too (solidarity.web.lifeline): nothing keeps serving without
the workers that book and publish. A port already taken, by anyone, is refused at start
(`PortInUse`) instead of being shared.

Processes rather than threads: Granian's workers are processes of their own, and a thread
holding a database connection or a lock would not survive that. Several `serve` processes,
on one host or many, may each run helpers: the per-log lock lets one sequencer work at a time
and another take over when it dies; the booker's outcomes are idempotent.

Granian rather than a pure-Python server: measured on this project's 2-core machine, the
same Django application answered a static page 1.75x as fast, a micro-cached public page 6x
as fast, and stored signed webhooks 1.4x as fast (bench/ and README).

Granian warns at start that 16 threads per worker is many for the cores: it is meant. The
receivers' threads mostly wait for their shared commit, and 16 measured better than 8 for
webhooks at 1,000/s and the same for the public pages (README, benchmarks).

SOLIDARITY_SEQUENCER=off starts no helpers (run `solidarity log sequence`, `solidarity
notifications process --forever` and `solidarity import-jobs run --forever` yourself);
SOLIDARITY_FEED_SWEEPER=off starts them without the booker.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from solidarity import config
from solidarity.config import env_flag
from solidarity.console import stop_event
from solidarity.web.lifeline import SUPERVISOR_ENV, child_preexec, process_alive

log = logging.getLogger("solidarity.serve")

BOOKER_INTERVAL = 0.2
"""Seconds between two passes of the notification booker: part of acknowledgement → log."""
RESTART_BASE = 0.5
RESTART_CAP = 30.0
"""Seconds before restarting a child that died: RESTART_BASE, doubled per death in a row."""
STABLE_SECONDS = 60.0
"""A child that ran this long before dying is restarted after RESTART_BASE again."""
STOP_SECONDS = 20.0
"""How long a child may take to stop on SIGTERM before it is killed."""
TICK = 0.1

APPLICATION = "solidarity.web.wsgi:application"
SQLITE_MMAP_ENV = "SOLIDARITY_SQLITE_MMAP_MB"
WEB_SQLITE_MMAP_MB = 4096


class PortInUse(OSError):
    """The address `serve` was asked to listen on is taken."""


def restart_delay(deaths: int) -> float:
    """Seconds to wait before the restart that follows `deaths` deaths in a row (≥ 1)."""
    return float(min(RESTART_CAP, RESTART_BASE * 2 ** min(deaths - 1, 30)))


def port_check(host: str, port: int) -> None:
    """Raise PortInUse when (host, port) cannot be bound by a socket of our own: a listener
    that set SO_REUSEPORT (as Granian's does) would otherwise be shared silently."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "taken"
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(
                    exc.errno, f"{host}:{port} is already in use (another `solidarity serve`?)"
                ) from None
            raise


def server_argv(*, host: str, port: int, workers: int, threads: int, access_log: bool) -> list[str]:
    """The Granian command line `serve` runs (WSGI, `threads` blocking threads per worker)."""
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi",
        "--host", host, "--port", str(port),
        "--workers", str(workers), "--blocking-threads", str(threads),
        "--no-ws", "--respawn-failed-workers", "--workers-kill-timeout", "10",
        "--log-level", "warning", "--access-log" if access_log else "--no-access-log",
        APPLICATION,
    ]  # fmt: skip


@dataclass
class Child:
    """One supervised process: how to start it, and its life so far."""

    name: str
    argv: list[str]
    env: dict[str, str]
    before_start: Callable[[], None] | None = None  # raises OSError when it must not start
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    deaths: int = 0
    restart_at: float = 0.0

    def start(self) -> None:
        preexec = functools.partial(child_preexec, os.getpid(), signal.SIGTERM)
        self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
            self.argv,
            env=self.env,
            preexec_fn=preexec,  # noqa: PLW1509 (the supervisor runs no other thread)
        )
        self.started = time.monotonic()


def _helpers(env: dict[str, str]) -> list[Child]:
    if not env_flag("SOLIDARITY_SEQUENCER", default=True):
        return []
    cli = [sys.executable, "-m", "solidarity.cli"]
    children = [Child("sequencer", [*cli, "log", "sequence", "--exit-with-parent"], env)]
    if env_flag("SOLIDARITY_FEED_SWEEPER", default=True):
        # The booker: books the notifications the receivers stored and acknowledged, and
        # flags feed gifts no statement confirmed (solidarity.apps.feeds).
        booker = [*cli, "notifications", "process", "--forever", "--exit-with-parent"]
        children.append(Child("booker", [*booker, "--interval", str(BOOKER_INTERVAL)], env))
    # The import worker: parses and books the statements uploaded in the back office, so no
    # web worker ever reads a file (solidarity.apps.imports.jobs).
    importer = [*cli, "import-jobs", "run", "--forever", "--exit-with-parent"]
    children.append(Child("importer", importer, env))
    # The search indexer: makes imported gifts searchable within seconds of their booking
    # (solidarity.apps.donations.search).
    children.append(
        Child("indexer", [*cli, "search", "index", "--forever", "--exit-with-parent"], env)
    )
    return children


def _metrics_dir() -> str:
    """A fresh directory for this `serve`'s web workers' Prometheus samples
    (solidarity.web.metrics), `run/metrics/<pid>`; those of `serve` processes gone are removed."""
    root = config.home() / "run" / "metrics"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in root.iterdir():
        if not old.is_dir():
            old.unlink(missing_ok=True)
        elif not (old.name.isdigit() and process_alive(int(old.name))):
            shutil.rmtree(old, ignore_errors=True)
    path = root / str(os.getpid())
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    return str(path)


class Supervisor:
    def __init__(self, children: list[Child]) -> None:
        self.children = children

    def run(self) -> None:
        """Start every child, keep them running until told to stop, then stop them."""
        self.stopping = stop_event(signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        try:
            while not self.stopping.is_set():
                self._tend()
                self.stopping.wait(TICK)
        finally:
            self._stop_all()

    def _tend(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None:
                code = child.proc.returncode
                ran = now - child.started
                child.deaths = 1 if ran >= STABLE_SECONDS else child.deaths + 1
                delay = restart_delay(child.deaths)
                how = f"signal {-code}" if code < 0 else f"exit status {code}"
                log.error(
                    "%s (pid %d) died (%s) after %.1fs; restarting in %.1fs",
                    child.name, child.proc.pid, how, ran, delay,
                )  # fmt: skip
                child.proc = None
                child.restart_at = now + delay
            if child.proc is None and now >= child.restart_at:
                try:
                    if child.before_start is not None:
                        child.before_start()
                    child.start()
                except OSError as exc:
                    child.deaths += 1
                    child.restart_at = now + restart_delay(child.deaths)
                    log.error("%s could not start: %s", child.name, exc)
                    continue
                assert child.proc is not None
                if child.deaths:
                    log.warning("%s restarted (pid %d)", child.name, child.proc.pid)
                else:
                    log.info("%s started (pid %d)", child.name, child.proc.pid)

    def _stop_all(self) -> None:
        log.info("stopping the web server and helpers")
        running = [c.proc for c in self.children if c.proc is not None]
        for proc in running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def server_run(*, host: str, port: int, workers: int, threads: int, access_log: bool) -> None:
    """Check the port, then supervise the server and the helpers until stopped.

    Raises PortInUse when the address is taken.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s serve[%(process)d] %(levelname)s %(message)s"
    )
    port_check(host, port)
    env = {**os.environ, SUPERVISOR_ENV: str(os.getpid())}
    web_env = {**env, "PROMETHEUS_MULTIPROC_DIR": _metrics_dir()}
    # The web workers read SQLite through a shared memory map (settings: the workers' many
    # connections would otherwise each copy the same pages into a cache of their own).
    web_env.setdefault(SQLITE_MMAP_ENV, str(WEB_SQLITE_MMAP_MB))
    argv = server_argv(
        host=host, port=port, workers=workers, threads=threads, access_log=access_log
    )
    web = Child("web server", argv, web_env, before_start=lambda: port_check(host, port))
    Supervisor([web, *_helpers(env)]).run()
