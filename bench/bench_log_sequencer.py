"""Benchmark of the Django side of the public log: the sequencer and proofs served by the API.

Writes bench/results/log_sequencer.json. Measures, in one run on a fresh SQLite installation:
- sequencing N booked entries (database log → entry bundles and tiles → signed checkpoints, fsync
  on) with the default batch, against the bare SHA-256 leaf-hash loop over the same entries and
  against the core's log_append of the same entries into a plain directory;
- the p50/p99 of an inclusion proof at a 10M-entry tree served server side: the selector, the
  API view function called without middleware (ninja → selector → cached tiles) and the whole
  Django stack (test client → middleware → URL routing → view), against the core's uncached
  inclusion_proof_from_tiles on the same files (the bare baseline).
The machine's load average is recorded before and after: other processes may be running.

    .venv/bin/python bench/bench_log_sequencer.py [--entries N] [--proof-size N] [--calls N]

With --postgres URL (the bench's own database: dropped and created first, dropped at the end)
the installation is on PostgreSQL and only the sequencer is measured, twice over the same N
entries of two campaigns in the same run: publishing into files (SOLIDARITY_LOG_STORE=files)
and into the database's LogFile rows with the checkpoint written by compare-and-set (the
store of a cluster, SOLIDARITY_LOG_STORE=database), each verified afterwards; the ratio of the
two is the figure. Result: bench/results/log_sequencer_postgres.json.

    .venv/bin/python bench/bench_log_sequencer.py --entries 200000 \
        --postgres postgres://postgres@127.0.0.1:5432/bench_log_sequencer
"""

# Django and the apps are imported inside functions, after _setup points them at a scratch
# installation:
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_import import pg_database_reset
from scratch import file_create_ms, scratch_dir

RESULTS = Path(__file__).resolve().parent / "results" / "log_sequencer.json"
RESULTS_POSTGRES = RESULTS.with_name("log_sequencer_postgres.json")


def _setup(home: Path, database_url: str | None = None) -> None:
    os.environ["SOLIDARITY_HOME"] = str(home)
    os.environ["SOLIDARITY_TESTING"] = "1"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "solidarity.web.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def _campaign(slug: str, code: str = "BENCH"):  # type: ignore[no-untyped-def]
    from solidarity.apps.campaigns.services import campaign_open
    from solidarity.apps.transparency.announcements import campaign_create

    c = campaign_create(
        slug=slug,
        code=code,
        names={"vi": slug},
        goal_minor=10**15,
        currency="VND",
        opens_at=datetime(2025, 8, 25, 1, tzinfo=UTC),
        days=65,
    )
    return campaign_open(campaign=c)


def bench_sequencer(n: int) -> dict[str, object]:
    from django.db import transaction

    from bench_tlog import bare_loop, make_entries
    from solidarity.apps.transparency.logfiles import log_dir
    from solidarity.apps.transparency.models import LogState
    from solidarity.apps.transparency.sequencer import BATCH, CATCH_UP_CHUNK, log_sequence_once
    from solidarity.apps.transparency.services import log_entries_append_encoded
    from solidarity.core.tlog.note import key_generate, signer_parse
    from solidarity.core.tlog.sequencer import log_append
    from solidarity.core.tlog.verify import log_verify
    from solidarity.infra.logreaders import source_open
    from solidarity.infra.tilestore import DirectoryTileStore

    campaign = _campaign("bench-seq")
    entries = make_entries(n)
    with transaction.atomic():  # booked as the services book them: indexes from the head
        log_entries_append_encoded(
            campaign=campaign, entries=[("donation", f"r{i}", e) for i, e in enumerate(entries)]
        )
    base = bare_loop(entries)

    load = os.getloadavg()[0]
    log_dir("bench-seq").parent.mkdir(parents=True, exist_ok=True)
    create_ms = file_create_ms(log_dir("bench-seq").parent)
    t = time.perf_counter()
    (result,) = log_sequence_once(batch=BATCH, slugs=["bench-seq"])
    seq = time.perf_counter() - t
    assert result.error is None, result
    assert result.size == n, result

    core_dir = scratch_dir("bench-core-")
    try:
        signer = signer_parse(key_generate("bench.example/core")[0])
        t = time.perf_counter()
        log_append(
            DirectoryTileStore(core_dir, durable=True),
            signer=signer,
            origin="bench.example/core",
            entries=entries,
        )
        core = time.perf_counter() - t
    finally:
        shutil.rmtree(core_dir)
    state = LogState.objects.get(campaign=campaign)
    report = log_verify(source_open(log_dir("bench-seq")), state.vkey, workers=2)
    assert report.size == n
    del entries
    out: dict[str, object] = {
        "entries": n,
        "batch": BATCH,
        "catch_up_chunk": CATCH_UP_CHUNK,
        "checkpoints_signed": -(-n // (CATCH_UP_CHUNK if n >= CATCH_UP_CHUNK else BATCH)),
        "durable_fsync": True,
        "database": "sqlite",
        "loadavg_1m_at_start": round(load, 2),
        "new_file_ms": create_ms,
        "bare_sha256_loop_s": round(base, 3),
        "core_log_append_s": round(core, 3),
        "django_sequencer_s": round(seq, 3),
        "django_sequencer_ratio_to_bare": round(seq / base, 2),
        "django_sequencer_ratio_to_core": round(seq / core, 2),
        "entries_per_s": round(n / seq),
        "core_entries_per_s": round(n / core),
        "bare_entries_per_s": round(n / base),
    }
    print(json.dumps(out, indent=2), flush=True)
    return out


def bench_sequencer_stores(n: int) -> dict[str, object]:
    """The sequencer over the same n entries into files and into the database (PostgreSQL)."""
    from django.db import connection, transaction
    from django.test import override_settings

    from bench_tlog import bare_loop, make_entries
    from solidarity.apps.transparency.logfiles import log_dir, log_store
    from solidarity.apps.transparency.models import LogState
    from solidarity.apps.transparency.sequencer import BATCH, CATCH_UP_CHUNK, log_sequence_once
    from solidarity.apps.transparency.services import log_entries_append_encoded
    from solidarity.core.tlog.verify import log_verify

    stores = ("files", "database")
    entries = make_entries(n)
    for k, store in enumerate(stores):
        campaign = _campaign(f"bench-seq-{store}", code=f"BENCH{k}")
        with transaction.atomic():
            log_entries_append_encoded(
                campaign=campaign, entries=[("donation", f"r{i}", e) for i, e in enumerate(entries)]
            )
    base = bare_loop(entries)
    del entries
    legs: dict[str, dict[str, object]] = {}
    for store in stores:
        slug = f"bench-seq-{store}"
        with override_settings(SOLIDARITY_LOG_STORE=store):
            if store == "files":
                log_dir(slug).parent.mkdir(parents=True, exist_ok=True)
            load = os.getloadavg()[0]
            t = time.perf_counter()
            (result,) = log_sequence_once(batch=BATCH, slugs=[slug])
            seq = time.perf_counter() - t
            assert result.error is None, result
            assert result.size == n, result
            state = LogState.objects.get(campaign__slug=slug)
            files = store == "files"
            source = log_dir(slug) if files else log_store(slug)
            t = time.perf_counter()
            report = log_verify(source, state.vkey, workers=2 if files else 1)
            verify = time.perf_counter() - t
            assert report.size == n
        legs[store] = {
            "loadavg_1m_at_start": round(load, 2),
            "sequencer_s": round(seq, 3),
            "entries_per_s": round(n / seq),
            "ratio_to_bare": round(seq / base, 2),
            "verify_s": round(verify, 2),
        }
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*), sum(length(data)) FROM transparency_logfile WHERE log = %s",
            ["bench-seq-database"],
        )
        rows, stored = cur.fetchone()
    out: dict[str, object] = {
        "entries": n,
        "batch": BATCH,
        "catch_up_chunk": CATCH_UP_CHUNK,
        "durable_fsync": True,
        "database": "postgresql",
        "bare_sha256_loop_s": round(base, 3),
        "files": legs["files"],
        "database_store": {**legs["database"], "logfile_rows": rows, "logfile_bytes": stored},
        "database_store_ratio_to_files": round(
            float(legs["database"]["sequencer_s"]) / float(legs["files"]["sequencer_s"]),  # type: ignore[arg-type]
            2,
        ),
    }
    print(json.dumps(out, indent=2), flush=True)
    return out


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(statistics.median(times) * 1000, 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1] * 1000, 3),
        "max_ms": round(times[-1] * 1000, 3),
    }


def bench_proof(size: int, calls: int) -> dict[str, object]:
    from django.test import Client, RequestFactory
    from django.urls import resolve

    from solidarity.apps.transparency.logfiles import default_origin, log_store, signer_ensure
    from solidarity.apps.transparency.models import LogState
    from solidarity.apps.transparency.selectors import inclusion_proof_get
    from solidarity.core.tlog.checkpoint import Checkpoint, checkpoint_sign
    from solidarity.core.tlog.proof import inclusion_proof_from_tiles, inclusion_verify
    from solidarity.core.tlog.tiles import TileHashReader, TileWriter

    # A synthetic tree of `size` leaf hashes, published like a sequenced log (hash tiles only:
    # proofs never read entry bundles or database rows).
    campaign = _campaign("bench-proof")
    signer = signer_ensure(campaign.slug, default_origin(campaign.slug))
    store = log_store(campaign.slug, durable=False)
    writer = TileWriter(store, 0)
    t = time.perf_counter()
    done = 0
    head = None
    while done < size:
        k = min(1 << 20, size - done)
        head = writer.append_leaf_hashes(secrets.token_bytes(32 * k))
        done += k
    build = time.perf_counter() - t
    assert head is not None
    store.replace("checkpoint", checkpoint_sign(Checkpoint(signer.name, size, head.root), signer))
    LogState.objects.create(
        campaign=campaign,
        origin=signer.name,
        vkey=signer.verifier.vkey,
        published_size=size,
        root=head.root,
    )
    rng = random.Random(1)
    indexes = [rng.randrange(size) for _ in range(calls)]
    client = Client()
    url = "/api/v1/campaigns/bench-proof/proof/inclusion"
    assert client.get(url, {"index": 0}).status_code == 200  # warm up URL resolving, imports

    load = os.getloadavg()[0]
    match = resolve(url)
    factory = RequestFactory()
    requests = [factory.get(url, {"index": i}) for i in indexes]
    bare, selector, direct, view = [], [], [], []
    for i in indexes:
        t = time.perf_counter()
        inclusion_proof_from_tiles(store, size, i)
        bare.append(time.perf_counter() - t)
    for i in indexes:
        t = time.perf_counter()
        inclusion_proof_get(slug="bench-proof", index=i)
        selector.append(time.perf_counter() - t)
    for request in requests:
        t = time.perf_counter()
        r = match.func(request, *match.args, **match.kwargs)
        direct.append(time.perf_counter() - t)
        assert r.status_code == 200
    for i in indexes:
        t = time.perf_counter()
        r = client.get(url, {"index": i})
        view.append(time.perf_counter() - t)
        assert r.status_code == 200
    proof = json.loads(r.content)
    leaf = TileHashReader(store, size)(0, indexes[-1])
    inclusion_verify(
        leaf,
        indexes[-1],
        size,
        [base64.b64decode(h) for h in proof["proof"]],
        base64.b64decode(proof["root"]),
    )
    b, s, d, v = (_percentiles(x) for x in (bare, selector, direct, view))
    return {
        "tree_size": size,
        "build_tiles_s": round(build, 1),
        "calls": calls,
        "loadavg_1m_at_start": round(load, 2),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "core_from_tiles_uncached": b,
        "selector": s,
        "api_view_function": d,
        "api_view_test_client": v,
        "api_view_function_p99_ratio_to_core": round(d["p99_ms"] / b["p99_ms"], 2),
        "api_test_client_p99_ratio_to_core": round(v["p99_ms"] / b["p99_ms"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--proof-size", type=int, default=10_000_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--postgres", metavar="URL", help="the bench's own PostgreSQL database")
    args = parser.parse_args()
    home = scratch_dir("bench-log-seq-")
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    if args.postgres:
        pg_database_reset(args.postgres, create=True)
    try:
        _setup(home, args.postgres)
        if args.postgres:
            results = {"machine": machine, "sequencer": bench_sequencer_stores(args.entries)}
        else:
            results = {
                "machine": machine,
                "sequencer": bench_sequencer(args.entries),
                "inclusion_proof_api": bench_proof(args.proof_size, args.calls),
            }
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if args.postgres:
            from django.db import connections

            connections.close_all()
            pg_database_reset(args.postgres, create=False)
    machine["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = RESULTS_POSTGRES if args.postgres else RESULTS
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
