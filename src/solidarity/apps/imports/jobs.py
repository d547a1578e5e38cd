"""Statement uploads run outside the web worker: the upload page stores the file and queues
an `Import`; the import worker (`solidarity import-jobs run --forever`, started by
`solidarity serve`) claims queued imports one at a time and runs `statement_import` on them.

A web request therefore never parses a file (no XLSX inflates, no million-row CSV is read,
inside a web worker) and the page shows the queue's progress. Contracts:

- A job is claimed by one worker (a conditional UPDATE from queued to running).
- A running job's worker writes `heartbeat_at` at least every `HEARTBEAT_SECONDS`; a job
  whose heartbeat is older than `STALE_SECONDS` belonged to a worker that died and is queued
  again. Running it again is safe: every outcome is unique on the transaction's identity,
  so batches booked before the death are not booked twice.
- Whatever happens, a job ends done, refused or failed with the reason; its uploaded bytes
  are deleted then (the row keeps the file's sha256).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from solidarity.apps.banking.accounts import AccountRef
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.imports.models import Import, ImportUpload
from solidarity.apps.imports.services import FileReport, statement_import
from solidarity.core.statements import statement_detect

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
"""A running job's worker records progress at most this often (and at least this often
while it reports progress)."""

STALE_SECONDS = 300
"""A running upload job whose heartbeat is older than this is taken to have lost its
worker and is queued again."""


@transaction.atomic
def import_job_create(
    *,
    stream: IO[bytes],
    name: str,
    account: AccountRef | None,
    campaign: Campaign | None,
    dry_run: bool,
    by: User,
) -> Import:
    """Store an uploaded statement and queue its import; returns the queued `Import`."""
    data = stream.read()
    job = Import.objects.create(
        file_name=name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        format=statement_detect(data[:8192]) if data.strip() else "",
        account=str(account) if account else "",
        campaign=campaign,
        by=by.get_username(),
        user=by,
        dry_run=dry_run,
        status=Import.Status.QUEUED,
    )
    ImportUpload.objects.create(imported=job, data=data)
    return job


def import_jobs_requeue_stale(*, stale_seconds: float = STALE_SECONDS) -> int:
    """Queue again the running upload jobs whose worker stopped beating; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=stale_seconds)
    return (
        Import.objects.filter(status=Import.Status.RUNNING, upload__isnull=False)
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
        .update(status=Import.Status.QUEUED, phase="", heartbeat_at=None)
    )


def _claim() -> Import | None:
    """The oldest queued job, now running for this worker; None when the queue is empty."""
    for pk in (
        Import.objects.filter(status=Import.Status.QUEUED)
        .order_by("id")
        .values_list("pk", flat=True)[:5]
    ):
        claimed = Import.objects.filter(pk=pk, status=Import.Status.QUEUED).update(
            status=Import.Status.RUNNING, heartbeat_at=timezone.now(), phase="read"
        )
        if claimed:
            return Import.objects.select_related("campaign", "user").get(pk=pk)
    return None


def import_jobs_run(*, limit: int | None = None) -> list[FileReport]:
    """Run queued upload jobs, oldest first, until the queue is empty (or `limit` ran)."""
    import_jobs_requeue_stale()
    reports: list[FileReport] = []
    while limit is None or len(reports) < limit:
        job = _claim()
        if job is None:
            break
        reports.append(_run(job))
    return reports


def _run(job: Import) -> FileReport:
    last = 0.0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < HEARTBEAT_SECONDS and done < total:
            return
        last = now
        Import.objects.filter(pk=job.pk, status=Import.Status.RUNNING).update(
            phase=phase, progress_done=done, progress_total=total, heartbeat_at=timezone.now()
        )

    upload = ImportUpload.objects.filter(imported=job).first()
    try:
        if upload is None:
            raise RuntimeError("the uploaded file is gone")
        account = AccountRef.parse(job.account) if job.account else None
        with tempfile.TemporaryDirectory(prefix="solidarity-upload-") as tmp:
            path = Path(tmp) / "statement"
            path.write_bytes(bytes(upload.data))
            report = statement_import(
                path=path,
                name=job.file_name,
                account=account,
                campaign=job.campaign,
                dry_run=job.dry_run,
                by=job.user,
                progress=progress,
                job=job,
            )
    except Exception as exc:  # the job must end with its reason, whatever broke
        logger.exception("import job %s failed", job.pk)
        reason = f"the import stopped: {exc}"[:500]
        Import.objects.filter(pk=job.pk).update(
            status=Import.Status.FAILED,
            finished_at=timezone.now(),
            errors=[{"file": job.file_name, "line": 0, "field": "import", "message": reason}],
        )
        report = FileReport(file=job.file_name, status=Import.Status.FAILED, import_id=job.pk)
    Import.objects.filter(pk=job.pk).update(phase="", heartbeat_at=timezone.now())
    ImportUpload.objects.filter(imported=job).delete()
    return report
