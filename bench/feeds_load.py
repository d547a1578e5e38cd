"""A live installation for feed tests and benchmarks, and a bounded SePay-style sender.

`Install` makes its own SOLIDARITY_HOME (init, one open campaign with one account, one SePay
HMAC feed) and starts/stops `solidarity serve` on a free 127.0.0.1 port in its own process
group, so SIGKILL takes the master, its workers, the sequencer and the sweeper at once. Its
database is a SQLite file under that home, or the PostgreSQL database at `database_url`
(which must exist and be empty).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from solidarity.core.webhooks import sepay_sign

# Opened when the generated statements begin (bench.gen_statement: 14 August 2025) and open
# until a week from now, so both the statements imported beside the notifications and every
# notification sent now fall inside the campaign's time (a transfer after a campaign's closing
# time goes to review, and a statement date long before its opening is refused).
OPENED = datetime(2025, 8, 13, 17, 0, tzinfo=UTC)  # 14 August 2025, 00:00 in Vietnam
OPENS = OPENED.isoformat(timespec="minutes")
DAYS = str((datetime.now(UTC) - OPENED).days + 7)

SECRET = "bench-sepay-secret"
ACCOUNT = ("970436", "0011001932418")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Install:
    home: Path
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    database_url: str | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "SOLIDARITY_HOME": str(self.home), "SOLIDARITY_HTTPS": "false"}
        env.pop("DATABASE_URL", None)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.pop("SOLIDARITY_TESTING", None)
        return env

    def sol(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "solidarity.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"solidarity {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def setup(self) -> Install:
        self.sol("init")
        self.sol(
            "campaign", "create", "--slug", "cuba", "--code", "CUBA", "--name", "Cuba",
            "--goal", "1000000000000", "--days", DAYS, "--opens", OPENS,
            "--account", f"{ACCOUNT[0]}:{ACCOUNT[1]}",
        )  # fmt: skip
        self.sol("campaign", "open", "cuba")
        self.sol("feeds", "add", "vcb", "--kind", "sepay", "--account", ":".join(ACCOUNT),
                 "--secret", SECRET)  # fmt: skip
        return self

    def start(self, workers: int = 2, threads: int = 16) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-m", "solidarity.cli", "serve", "--port", str(self.port),
             "--workers", str(workers), "--threads", str(threads)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(self.port, "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
            self.server = None

    def stop(self) -> None:
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
            self.server = None


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def notification(n: int, amount: int | None = None) -> bytes:
    return json.dumps(
        {
            "id": n,
            "gateway": "Vietcombank",
            "transactionDate": time.strftime(
                "%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 7 * 3600)
            ),
            "accountNumber": ACCOUNT[1],
            "content": f"CUBA NGUYEN VAN {n}",
            "transferType": "in",
            "transferAmount": amount or 10_000 + n,
            "referenceCode": f"FT{n:010d}",
            "description": f"CUBA NGUYEN VAN {n}",
        }
    ).encode()


def send(conn: http.client.HTTPConnection, body: bytes, path: str = "/hooks/vcb") -> int:
    """POST one signed notification; the HTTP status."""
    stamp = str(int(time.time()))
    conn.request(
        "POST",
        path,
        body,
        {
            "Content-Type": "application/json",
            "X-SePay-Timestamp": stamp,
            "X-SePay-Signature": sepay_sign(SECRET, stamp, body),
        },
    )
    response = conn.getresponse()
    response.read()
    return response.status


def send_until_acknowledged(port: int, body: bytes, *, deadline: float) -> int:
    """Retry like a provider (a fresh connection each time) until a 2xx; attempts made.

    A connection refused or reset, and a reply cut off mid-way (the server killed while
    answering), are failed attempts like any non-2xx status.
    """
    attempts = 0
    while time.monotonic() < deadline:
        attempts += 1
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            if 200 <= send(conn, body) < 300:
                return attempts
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise TimeoutError("never acknowledged")
