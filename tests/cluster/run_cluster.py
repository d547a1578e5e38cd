"""`make cluster-test`: three nodes, haproxy, a PostgreSQL primary and streaming replica.

Everything is made here, in a temporary directory, on free loopback ports: the primary
(initdb) and its replica (pg_basebackup -R) from /usr/lib/postgresql/15/bin run as the
`postgres` user; three `solidarity serve` nodes sharing the database and one secrets
directory; haproxy in front, checking /readyz. Under a burst of signed webhooks through
haproxy and a statement import on one node, the node holding the sequencer lease is killed
(SIGKILL, its whole process group), then the replica; both come back. Then it checks:
every acknowledged notification booked exactly once, totals exact, the log going on from
another node within 10 s, every node serving the same checkpoint and tiles, `solidarity
verify` against each node, a consistency proof from a checkpoint before the kill to one after,
and public pages answering throughout. Exit status 0 when all hold.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import psycopg  # noqa: E402 - imports after the bench path, kept together

from feeds_load import (  # noqa: E402 - bench/ is not a package
    ACCOUNT,
    DAYS,
    OPENS,
    SECRET,
    free_port,
    get,
    notification,
    send_until_acknowledged,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
STATEMENT_GIFTS = 40
STATEMENT_HEADER = (
    "SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT,,,,,\n"
    "Số tài khoản/Account number: 0011001932418,,,,,\nLoại tiền/Currency: VND,,,,,\n,,,,,\n"
    'STT/No.,"Ngày GD/TNX Date\nSố CT/Doc No",Số tiền ghi nợ/Debit,Số tiền ghi có/Credit,'
    "Số dư/Balance,Nội dung chi tiết/Transactions in Detail\n"
)


def statement_write(path: Path) -> int:
    """A Vietcombank-like statement of STATEMENT_GIFTS gifts to CUBA (amounts of 5,000,000 and
    more, never a webhook's); their sum."""
    lines, balance = [STATEMENT_HEADER], 0
    for n in range(1, STATEMENT_GIFTS + 1):
        amount = 5_000_000 + n
        balance += amount
        lines.append(
            f'{n},"15/08/2025\n5213.{47000 + n}",,"{amount:,}","{balance:,}",'
            f"MBVCB.{6953830000 + n}.NGUYEN VAN AN chuyen tien ung ho CUBA lan {n}\n"
        )
    path.write_text("".join(lines), encoding="utf-8")
    return balance


def query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute(sql).fetchall()


SLUG = "cuba"
BURST = int(os.environ.get("CLUSTER_BURST", "1000"))
FAILOVER_LIMIT = 10.0


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def as_postgres(*args: str | Path) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


class Postgres:
    def __init__(self, root: Path, name: str) -> None:
        self.dir = root / name
        self.port = free_port()
        self.log = root / f"{name}.log"

    def conf(self) -> None:
        with open(self.dir / "postgresql.conf", "a") as f:
            f.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nwal_level = replica\n"
                "max_wal_senders = 5\nhot_standby = on\nfsync = off\n"
                "max_connections = 200\n"
            )

    def start(self) -> None:
        as_postgres(PG_BIN / "pg_ctl", "-D", self.dir, "-l", self.log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        as_postgres(PG_BIN / "pg_ctl", "-D", self.dir, "-m", mode, "-w", "stop")

    def url(self, db: str = "solidarity") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"


class Node:
    def __init__(self, root: Path, n: int, env: dict[str, str]) -> None:
        self.n = n
        self.port = free_port()
        self.home = root / f"node{n}"
        # nodes share this host: each reports its workers under its own name
        self.env = {**env, "SOLIDARITY_HOME": str(self.home), "SOLIDARITY_NODE_NAME": f"node{n}"}
        self.proc: subprocess.Popen[bytes] | None = None

    def sol(self, *args: str, check: bool = True) -> str:
        done = subprocess.run([sys.executable, "-m", "solidarity.cli", *args], env=self.env,
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        if check and done.returncode:
            raise RuntimeError(f"node{self.n} solidarity {' '.join(args)}: "
                               f"{done.stdout}{done.stderr}")  # fmt: skip
        return done.stdout + done.stderr

    def start(self) -> None:
        out = open(self.home.with_suffix(".log"), "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "solidarity.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1", "--threads", "8"],
            env=self.env, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip

    def wait_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(self.port, "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"node{self.n} did not start")

    def kill(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def pids(self) -> set[int]:
        if self.proc is None:
            return set()
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.proc.pid:
                        found.add(int(entry.name))
                except OSError:
                    continue
        return found


def haproxy_start(root: Path, port: int, nodes: list[Node]) -> subprocess.Popen[bytes]:
    servers = "\n".join(
        f"    server node{n.n} 127.0.0.1:{n.port} check inter 500ms fall 2 rise 2" for n in nodes
    )
    cfg = root / "haproxy.cfg"
    cfg.write_text(
        (REPO / "deploy" / "haproxy" / "haproxy.cfg").read_text()
        .split("# --- nodes ---")[0]
        .replace("bind :80", f"bind 127.0.0.1:{port}")
        .replace("maxconn 20000", "maxconn 2000")  # within a test machine's file limit
        + servers + "\n"
    )  # fmt: skip
    return subprocess.Popen(["haproxy", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def checkpoint_size(port: int) -> int:
    status, body = get(port, f"/log/{SLUG}/checkpoint")
    return int(body.split(b"\n")[1]) if status == 200 else -1


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="solidarity-cluster-"))
    os.chmod(root, 0o755)
    primary, replica = Postgres(root, "primary"), Postgres(root, "replica")
    nodes: list[Node] = []
    proxy = None
    failures: list[str] = []
    finished = False
    try:
        # Given a primary and a streaming replica
        primary.dir.mkdir()
        shutil.chown(primary.dir, "postgres", "postgres")
        shutil.chown(root, "postgres", "postgres")
        as_postgres(PG_BIN / "initdb", "-D", primary.dir, "-A", "trust", "-U", "postgres")
        primary.conf()
        primary.start()
        as_postgres(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(primary.port), "solidarity")
        as_postgres(PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U",
                    "postgres", "-D", replica.dir, "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        with open(replica.dir / "postgresql.conf", "a") as f:
            f.write(f"port = {replica.port}\nunix_socket_directories = '{replica.dir}'\n")
        replica.start()
        say(f"primary :{primary.port}, replica :{replica.port}")
        # And three nodes sharing the database and one secrets directory, behind haproxy
        env = {**os.environ, "DATABASE_URL": primary.url(),
               "DATABASE_REPLICA_URL": replica.url(),
               "SOLIDARITY_SECRETS_DIR": str(root / "secrets"), "SOLIDARITY_HTTPS": "false",
               "ALLOWED_HOSTS": "*", "SOLIDARITY_LOG_HOST": "cluster.test"}  # fmt: skip
        env.pop("SOLIDARITY_TESTING", None)
        nodes = [Node(root, n, env) for n in (1, 2, 3)]
        first = nodes[0]
        first.sol("init", "--no-static")
        first.sol("campaign", "create", "--slug", SLUG, "--code", "CUBA", "--name", "Cuba",
                  "--goal", "1000000000000", "--days", DAYS, "--opens", OPENS,
                  "--account", ":".join(ACCOUNT))  # fmt: skip
        first.sol("campaign", "open", SLUG)
        first.sol("feeds", "add", "vcb", "--kind", "sepay", "--account", ":".join(ACCOUNT),
                  "--secret", SECRET)  # fmt: skip
        for node in nodes:
            node.sol("init")  # each node collects its own static files
            node.start()
        for node in nodes:
            node.wait_up()
        hport = free_port()
        proxy = haproxy_start(root, hport, nodes)
        time.sleep(1.5)
        say(f"nodes {[n.port for n in nodes]}, haproxy :{hport}")

        # When a burst of signed webhooks goes through haproxy ...
        acked: dict[int, int] = {}
        deadline = time.monotonic() + 150

        def burst(lo: int, hi: int) -> None:
            for i in range(lo, hi):
                try:
                    send_until_acknowledged(hport, notification(i), deadline=deadline)
                except TimeoutError:
                    failures.append(f"notification {i} was never acknowledged")
                    return
                acked[i] = 10_000 + i

        senders = [threading.Thread(target=burst, args=(1 + k * BURST // 4, 1 + (k + 1) *
                                                       BURST // 4), daemon=True)
                   for k in range(4)]  # fmt: skip
        for t in senders:
            t.start()
        # ... while public pages are read throughout
        page_failures: list[str] = []
        reading = threading.Event()

        def reader() -> None:
            while not reading.is_set():
                try:
                    status, _ = get(hport, f"/en/c/{SLUG}/")
                except OSError as e:
                    status = str(e)
                if status != 200:
                    page_failures.append(str(status))
                time.sleep(0.2)

        pages = threading.Thread(target=reader, daemon=True)
        pages.start()
        statement = root / "statement.csv"
        statement_total = statement_write(statement)
        while checkpoint_size(hport) < 20:
            if time.monotonic() > deadline:
                raise SystemExit("FAILED: the log never reached 20 entries before the kill")
            time.sleep(0.5)
        before = get(hport, f"/log/{SLUG}/checkpoint")[1]
        (root / "before-checkpoint").write_bytes(before)
        say(f"checkpoint before the kill: {checkpoint_size(hport)}")

        # Then the node holding the sequencer lease is killed
        ((holder,),) = query(primary.url(), "SELECT holder FROM workers_lease"
                             " WHERE name = 'sequencer' AND expires_at > now()")  # fmt: skip
        pid = int(holder.split(":")[1])
        victim = next(n for n in nodes if pid in n.pids())
        others = [n for n in nodes if n is not victim]
        size_at_kill = checkpoint_size(others[0].port)
        victim.kill()
        killed = time.monotonic()
        say(f"killed node{victim.n} (sequencer pid {pid}) at checkpoint {size_at_kill}")
        # ... and a statement is imported on another node meanwhile
        importer = threading.Thread(
            target=lambda: say(
                f"statement import on node{others[-1].n}: "
                + others[-1].sol("import", str(statement), "--campaign", SLUG).strip()[-160:]
            )
        )
        importer.start()
        while checkpoint_size(others[0].port) <= size_at_kill:
            if time.monotonic() - killed > 60:
                break
            time.sleep(0.2)
        took = time.monotonic() - killed
        say(f"the log went on from another node {took:.1f} s after the kill")
        if took > FAILOVER_LIMIT:
            failures.append(f"the log stopped for {took:.1f} s after the kill")
        # And the replica is stopped; public pages go on from the primary
        replica.stop("immediate")
        say("replica stopped")
        time.sleep(3)
        replica.start()
        victim.start()
        victim.wait_up()
        say(f"replica and node{victim.n} restarted")
        for t in [*senders, importer]:
            t.join()
        say(f"{len(acked)} notifications acknowledged")
        # Wait for the booker and the sequencer to catch up
        expected = sum(acked.values())
        gifts_sql = ("SELECT count(*), coalesce(sum(amount_minor), 0),"
                     " count(DISTINCT amount_minor)"
                     " FROM donations_donation WHERE amount_minor < 5000000")  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            ((count, total, distinct),) = query(primary.url(), gifts_sql)
            ((head,),) = query(
                primary.url(), "SELECT coalesce(max(size), 0) FROM transparency_loghead"
            )
            sizes = {checkpoint_size(n.port) for n in nodes}
            if count >= len(acked) and sizes == {head}:
                break
            time.sleep(1)
        reading.set()
        pages.join()
        ((raised,),) = query(primary.url(), "SELECT raised_minor FROM ledger_campaigntotals")
        say(f"booked {count} webhook gifts worth {total} ({distinct} distinct); raised {raised}")
        if count != len(acked) or total != expected or distinct != count:
            failures.append(f"acknowledged {len(acked)} worth {expected}; booked {count} worth"
                            f" {total}, {count - distinct} twice")  # fmt: skip
        if raised != expected + statement_total:
            failures.append(f"raised {raised}, expected {expected + statement_total}")
        # Every node serves the same checkpoint and tiles; verify against each
        notes = {n.n: get(n.port, f"/log/{SLUG}/checkpoint")[1] for n in nodes}
        if len(set(notes.values())) != 1:
            failures.append(f"nodes serve different checkpoints: {notes}")
        tiles = {n.n: get(n.port, f"/log/{SLUG}/tile/0/000")[1] for n in nodes}
        if len(set(tiles.values())) != 1:
            failures.append("nodes serve different tiles")
        vkey = get(hport, f"/log/{SLUG}/vkey")[1].decode().strip()
        for node in nodes:
            out = node.sol("verify", f"http://127.0.0.1:{node.port}/log/{SLUG}/", "--vkey", vkey,
                           "--since", str(root / "before-checkpoint"), check=False)  # fmt: skip
            if "consistent with the older checkpoint" not in out or "verified:" not in out:
                failures.append(f"verify against node{node.n}: {out}")
            say(f"verify node{node.n}: {out.strip().splitlines()[-1] if out.strip() else ''}")
        if page_failures:
            failures.append(f"public pages failed {len(page_failures)} times: {page_failures[:5]}")
        finished = True
    finally:
        for node in nodes:
            node.kill()
        if proxy is not None:
            os.killpg(proxy.pid, signal.SIGKILL)
        for pg in (replica, primary):
            with contextlib.suppress(subprocess.CalledProcessError):
                pg.stop("immediate")
        if finished and not failures:
            shutil.rmtree(root, ignore_errors=True)
    for f in failures:
        say(f"FAILED: {f}")
    say("cluster test passed" if not failures else f"cluster test failed; files in {root}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
