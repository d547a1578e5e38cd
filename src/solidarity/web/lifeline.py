"""Ties every process `solidarity serve` starts to its life (Linux; elsewhere a no-op but for
the parent watch).

Contract: when the `serve` process ends, however it ends (SIGKILL included), its children
(the Granian server, the sequencer, the booker) are sent a signal by the kernel
(PR_SET_PDEATHSIG, set between fork and exec), and each Granian web worker exits within
WATCH_SECONDS: the kernel kills it when its Granian parent dies, and a thread of its own
exits it when the `serve` process named in SUPERVISOR_ENV is gone. So no web worker keeps
acknowledging notifications after the processes that book and publish them are gone, and
nothing of an old `serve` keeps the port.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

SUPERVISOR_ENV = "SOLIDARITY_SUPERVISOR_PID"
"""The pid of the `serve` process, set in its children's environment."""
WATCH_SECONDS = 0.5

_PR_SET_PDEATHSIG = 1


# Loaded once here: `child_preexec` runs between fork and exec, where loading a library
# (taking the loader's locks) is not safe.
_LIBC = (
    ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if sys.platform.startswith("linux")
    else None
)


def parent_death_signal(sig: int) -> None:
    """Ask the kernel to send `sig` to this process when its parent (the thread that forked
    it) ends; Linux only, a no-op elsewhere."""
    if _LIBC is None:
        return
    if _LIBC.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


def child_preexec(parent: int, sig: int) -> None:
    """Run in a child between fork and exec: `sig` when `parent` ends, at once if it already
    has (it may have died before the prctl)."""
    parent_death_signal(sig)
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, killed and not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def worker_bind() -> None:
    """In a Granian web worker started by `serve` (SUPERVISOR_ENV set): die with the Granian
    process, and exit when `serve` is gone. Does nothing outside `serve`."""
    supervisor = int(os.environ.get(SUPERVISOR_ENV, "0") or 0)
    if supervisor <= 0:
        return
    parent = os.getppid()
    parent_death_signal(signal.SIGKILL)
    if not process_alive(supervisor):
        os._exit(1)

    def watch() -> None:
        tick = threading.Event()
        while True:
            tick.wait(WATCH_SECONDS)
            if os.getppid() != parent or not process_alive(supervisor):
                os._exit(1)  # no cleanup: nothing must be answered after this point

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
