"""Statement files: `statement_import` parses a file, refuses it whole or books it through
the booking door every bank channel uses (`banking.booking.bank_transactions_book`).

All-or-nothing per file, and why two passes. The parser reports row errors only after the
last row, and booked rows can never be deleted (the ledger and donation tables refuse DELETE),
so the only way to undo a booking is a rollback. Booking a whole file in one transaction
would hold SQLite's single write lock, and on PostgreSQL the campaign's totals row lock, for
the whole import (minutes for a national statement), stalling every other channel. So:
pass 1 streams the file through the parser, resolves every transaction's receiving account
and spools the parsed rows to an anonymous temporary file; a file with any error is refused
there, before anything is booked. Pass 2 books the spooled rows in batches, each batch one
short transaction. A run killed during pass 2 leaves whole batches booked; running it again
books the rest, because every outcome is unique on the transaction's identity. During pass 2
a forked process prepares the next batch's gifts while this one writes (`pipeline`); it
writes nothing, so none of the above depends on it.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import logging
import multiprocessing
import operator
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, connection
from django.utils import timezone

from solidarity.apps.banking.accounts import (
    AccountRef,
    AccountResolver,
)
from solidarity.apps.banking.booking import BATCH, bank_transactions_book, batch_prepare_offline
from solidarity.apps.banking.report import BookReport
from solidarity.apps.banking.returns import pending_reversals_sweep
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.imports.models import Import
from solidarity.apps.imports.pipeline import PreparedAhead, exit_with_parent, frame_at, frame_write
from solidarity.core.statements import (
    ANY_DATE,
    BankTransaction,
    DateWindow,
    Profile,
    StatementError,
    StatementRejected,
    statement_detect,
    statement_read,
)
from solidarity.core.statements.base import VIETNAM_TZ

logger = logging.getLogger(__name__)


MAX_REPORTED_ERRORS = 200
"""Errors kept in an Import row and a report; the count of rejected rows is always exact."""


Progress = Callable[[str, int, int], None]
"""progress(phase, done, total): phase "read" counts bytes, "book" counts transactions."""


# --- the file's report -------------------------------------------------------------------


@dataclass
class FileReport:
    """One file's import: the counts, and for a refused file every error with its place."""

    file: str
    sha256: str = ""
    format: str = ""
    status: str = Import.Status.RUNNING
    import_id: int | None = None
    dry_run: bool = False
    counts: BookReport = field(default_factory=BookReport)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    """What the reader corrected in rows it booked (file, line, field, message)."""

    @property
    def refused(self) -> bool:
        return self.status == Import.Status.REFUSED

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "format": self.format,
            "status": self.status,
            "import_id": self.import_id,
            "dry_run": self.dry_run,
            **asdict(self.counts),
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _error_dict(error: StatementError) -> dict[str, Any]:
    return {
        "file": error.file,
        "line": error.line,
        "field": error.field,
        "message": error.message,
    }


# --- statement files -----------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


_TX_FIELDS = tuple(BankTransaction.__dataclass_fields__)
_tx_values = operator.attrgetter(*_TX_FIELDS)


# The spool: frames (`pipeline.frame_at`) of pickled lists of row tuples, each flushed whole,
# so a reader following the file as it grows (`_spool_follow`) takes a frame only once all of
# it is there.


def _spool_write(spool: IO[bytes], chunk: Sequence[BankTransaction]) -> None:
    frame_write(spool, list(map(_tx_values, chunk)))


def _spool_read(spool: IO[bytes]) -> Iterator[BankTransaction]:
    """Every spooled transaction, in order (the spool is complete)."""
    spool.flush()
    fd, at = spool.fileno(), 0
    size = os.fstat(fd).st_size
    while (frame := frame_at(fd, at, size)) is not None:
        rows, at = frame
        for row in rows:
            yield BankTransaction(*row)


def _spool_follow(spool: IO[bytes], *, complete: Any) -> Iterator[tuple[Any, ...]]:
    """Every spooled transaction (its field values), in order, while pass 1 still writes the
    spool: waits for each frame until `complete` (an Event) is set, i.e. pass 1 accepted the
    file and the spool holds all of it. Runs in a preparing process, which ends with the
    importing process (`pipeline.exit_with_parent`) if that is killed before `complete`."""
    fd, at = spool.fileno(), 0
    while True:
        done = complete.is_set()  # before the size: a spool complete then is all there
        frame = frame_at(fd, at, os.fstat(fd).st_size)
        if frame is None:
            if done:
                return
            time.sleep(0.005)
            continue
        rows, at = frame
        yield from rows


def _parse_to_spool(
    path: Path,
    *,
    name: str,
    profile: Profile | None,
    resolver: AccountResolver,
    spool: IO[bytes],
    progress: Progress | None,
    window: DateWindow,
) -> tuple[int, list[StatementError], list[StatementError]]:
    """Pass 1: parse, resolve accounts, spool. (rows, errors, warnings); errors empty when
    accepted.

    StatementRejected propagates for a file the parser refuses.
    """
    size = path.stat().st_size
    rows = 0
    errors: list[StatementError] = []
    warnings: list[StatementError] = []
    unresolved = 0
    chunk: list[BankTransaction] = []
    with open(path, "rb") as stream:
        for tx in statement_read(stream, name=name, profile=profile, window=window):
            rows += 1
            if tx.warnings and len(warnings) < MAX_REPORTED_ERRORS:
                warnings.extend(tx.warnings)
            target = resolver.resolve(tx)
            if isinstance(target, str):
                unresolved += 1
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(StatementError(name, tx.line, "account", target))
                continue
            chunk.append(tx)
            if len(chunk) >= BATCH * 2:
                _spool_write(spool, chunk)
                chunk = []
                if progress and not stream.closed:
                    progress("read", stream.tell(), size)
        if chunk:
            _spool_write(spool, chunk)
        spool.flush()  # a forked pass 1 exits without flushing its buffers
        if progress:
            progress("read", size, size)
    if unresolved > len(errors):
        errors.append(StatementError(name, 0, "account", f"{unresolved} rows without an account"))
    return rows, errors, warnings


def import_window(*, resolver: AccountResolver) -> DateWindow:
    """The dates a statement for these receiving accounts may hold: from the earliest
    opening of their campaigns less `SOLIDARITY_IMPORT_DAYS_BEFORE_OPENING` days (history
    of a shared account) to tomorrow in Vietnam (a bank day runs ahead of UTC)."""
    margin = timedelta(days=int(getattr(settings, "SOLIDARITY_IMPORT_DAYS_BEFORE_OPENING", 366)))
    openings = [a.campaign.opens_at for a in resolver.preload_accounts()]
    if resolver.campaign is not None:
        openings.append(resolver.campaign.opens_at)
    not_before = ANY_DATE.not_before
    if openings:
        not_before = max(not_before, (min(openings) - margin).astimezone(VIETNAM_TZ).date())
    tomorrow = timezone.now().astimezone(VIETNAM_TZ).date() + timedelta(days=1)
    return DateWindow(not_before, min(tomorrow, ANY_DATE.not_after))


def _pass1(
    path: Path,
    *,
    name: str,
    profile: Profile | None,
    account: AccountRef | None,
    resolver: AccountResolver,
    spool: IO[bytes],
    progress: Progress | None,
    window: DateWindow,
) -> tuple[int, list[StatementError], list[StatementError]] | StatementRejected:
    """Pass 1 with the `--account` fallback: a CSV/XLSX that states no account is read again
    as the named account's. Uses no database connection (the resolver is preloaded)."""
    try:
        try:
            return _parse_to_spool(
                path,
                name=name,
                profile=profile,
                resolver=resolver,
                spool=spool,
                progress=progress,
                window=window,
            )
        except StatementRejected as exc:
            if account is None or not _needs_account(exc):
                raise
            spool.seek(0)
            spool.truncate()
            return _parse_to_spool(
                path,
                name=name,
                profile=replace(profile or Profile(name="--account"), account=account.number),
                resolver=resolver,
                spool=spool,
                progress=progress,
                window=window,
            )
    except StatementRejected as exc:
        return exc


def _in_child(work: Callable[[], Any]) -> Any:
    """Run `work` in a forked child process and return its result.

    Used for pass 1 so the parser's memory (its identity counters grow with the rows of a
    day) is returned to the system when the child exits instead of staying in the booking
    process. The child inherits open files (the spool) and uses no database connection.
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    parent = os.getpid()

    def child() -> None:
        exit_with_parent(parent)
        try:
            send.send(("ok", work()))
        except BaseException as exc:
            send.send(("error", f"{type(exc).__name__}: {exc}"))
        finally:
            send.close()

    process = context.Process(target=child, daemon=True)
    process.start()
    send.close()
    try:
        status, value = receive.recv()
    except EOFError:
        status, value = "error", "the parsing process died"
    process.join()
    if status != "ok":
        raise RuntimeError(f"reading the statement failed: {value}")
    return value


def _needs_account(exc: StatementRejected) -> bool:
    return any(e.field == "account" and "no account number" in e.message for e in exc.errors)


def statement_import(
    *,
    path: Path,
    name: str | None = None,
    account: AccountRef | None = None,
    campaign: Campaign | None = None,
    profile: Profile | None = None,
    dry_run: bool = False,
    by: User | None = None,
    progress: Progress | None = None,
    isolate_parser: bool = False,
    job: Import | None = None,
) -> FileReport:
    """Import one statement file: refused whole (nothing booked) or booked exactly once.

    The file is recorded in `Import` (name, sha256, format, who, when, counts, status).
    `account` names the receiving account when the file does not state it (many CSV/XLSX
    exports) and restricts the file to it; `campaign` forces every credit to that campaign.
    With `dry_run`, the file is parsed and checked and nothing is written, no Import row
    either; the report then counts the rows read only. `isolate_parser` runs pass 1 in a
    forked child process (the CLI does; keeps the booking process small for huge files).
    `job` is the row of an uploaded file (`import_job_create`, claimed as running): it is
    filled in instead of a new row, for a dry run too. Never raises for the file's content;
    a run that breaks off ends failed with the reason.
    """
    name = name or path.name
    report = FileReport(file=name, dry_run=dry_run)
    report.sha256 = file_sha256(path)
    with open(path, "rb") as f:
        report.format = statement_detect(f.read(8192))
    who = by.get_username() if by is not None else f"cli:{_login()}"
    record = job
    if job is not None:
        report.import_id = job.pk
    elif not dry_run:
        record = Import.objects.create(
            file_name=name[:255],
            sha256=report.sha256,
            size=path.stat().st_size,
            format=report.format,
            account=str(account) if account else "",
            campaign=campaign,
            by=who,
            user=by,
        )
        report.import_id = record.pk
    resolver = AccountResolver(account=account, campaign=campaign)
    resolver.preload()
    with (
        tempfile.TemporaryFile(prefix="solidarity-import-") as spool,
        contextlib.ExitStack() as stack,
    ):
        prepare = functools.partial(batch_prepare_offline, resolver)
        complete = multiprocessing.get_context("fork").Event()
        ahead = None
        if not dry_run:
            # The preparing process follows the spool from the start, beside the parser. The
            # spool only grows: pass 1 reads a file again (`--account`) only when the parser
            # refused it at its title rows, before spooling any row. (Were it otherwise, the
            # preparations would only miss: the writer checks each one.)
            ahead = PreparedAhead(
                spool,
                read=functools.partial(_spool_follow, complete=complete),
                prepare=prepare,
                batch_size=BATCH,
            )
            stack.callback(ahead.close)
        pass1 = functools.partial(
            _pass1,
            path,
            name=name,
            profile=profile,
            account=account,
            resolver=resolver,
            spool=spool,
            progress=progress,
            window=import_window(resolver=resolver),
        )
        try:
            outcome = _in_child(pass1) if isolate_parser else pass1()
        except Exception as exc:  # a reader bug: the file is not booked, the reason kept
            logger.exception("reading %s failed", name)
            return _fail(report, record, f"the file could not be read: {exc}")
        if isinstance(outcome, StatementRejected):
            return _refuse(report, record, outcome.errors, rows=0)
        rows, errors, warnings = outcome
        if errors:
            return _refuse(report, record, errors, rows=rows)
        report.warnings = [_error_dict(w) | {"level": "warning"} for w in warnings]
        report.counts.rows_read = rows
        if dry_run:
            report.status = Import.Status.DONE
            if record is not None:
                _record_finish(record, report)
            return report
        assert record is not None

        def after_batch(done: int) -> None:
            if progress:
                progress("book", done, rows)

        spool.flush()
        complete.set()
        assert ahead is not None
        _sqlite_checkpoint_every(IMPORT_CHECKPOINT_PAGES)
        stack.callback(_sqlite_checkpoint_restore)
        try:
            with contextlib.closing(ahead):
                counts = bank_transactions_book(
                    transactions=_spool_read(spool),
                    source_kind="statement",
                    resolver=resolver,
                    imported=record,
                    progress=after_batch,
                    search_later=True,
                    prepared_batches=ahead,
                )
            if counts.rows_read != rows:
                raise RuntimeError(f"spooled {rows} rows but booked {counts.rows_read}; run again")
            swept = pending_reversals_sweep(targets=resolver.targets())
            counts.reversals += swept
            counts.reversals_pending -= min(swept, counts.reversals_pending)
        except Exception as exc:
            logger.exception("booking %s failed", name)
            return _fail(report, record, f"booking stopped: {exc}; run the import again")
    report.counts = counts
    report.status = Import.Status.DONE
    _record_finish(record, report)
    return report


SQLITE_CHECKPOINT_PAGES = 1000
"""SQLite's own default: a commit that leaves this many pages in the WAL copies them into the
database file (a checkpoint)."""
IMPORT_CHECKPOINT_PAGES = 16_384
"""An import's connection checkpoints at 64 MB of WAL instead. A gift writes into indexes on
random keys (public, bank and log references), so consecutive batches rewrite mostly the same
index pages; a checkpoint after every batch copied each of them into the database again.
Measured on 600,000 rows: 4,380 MB written in all against 3,438 MB (65,536 pages: 3,165 MB),
the writer's CPU 59 s against 50 s. A kill loses nothing: the WAL holds every commit."""


def _sqlite_checkpoint_every(pages: int) -> None:
    """On SQLite, this connection checkpoints when the WAL holds `pages` pages."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")


def _sqlite_checkpoint_restore() -> None:
    """SQLite's default again, when the import ends however it ends (a connection broken by
    the failure that ended it is left to Django to close)."""
    with contextlib.suppress(DatabaseError):
        _sqlite_checkpoint_every(SQLITE_CHECKPOINT_PAGES)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _refuse(
    report: FileReport, record: Import | None, errors: Sequence[StatementError], *, rows: int
) -> FileReport:
    report.status = Import.Status.REFUSED
    report.counts = BookReport(rows_read=rows, rejected=max(rows, 1))
    lines = {e.line for e in errors if e.line}
    if rows:
        report.counts.rejected = len(lines) or rows
    report.errors = [_error_dict(e) for e in errors[:MAX_REPORTED_ERRORS]]
    if record is not None:
        _record_finish(record, report)
    return report


def _fail(report: FileReport, record: Import | None, reason: str) -> FileReport:
    """End an import that broke off for a reason other than the file's content: the record
    says failed with the reason (whole batches booked before it stay booked; a new run
    books the rest exactly once)."""
    report.status = Import.Status.FAILED
    report.errors = [{"file": report.file, "line": 0, "field": "import", "message": reason[:500]}]
    if record is not None:
        Import.objects.filter(pk=record.pk).update(
            status=Import.Status.FAILED, finished_at=timezone.now(), errors=report.errors
        )
    return report


def _record_finish(record: Import, report: FileReport) -> None:
    c = report.counts
    Import.objects.filter(pk=record.pk).update(
        status=report.status,
        finished_at=timezone.now(),
        rows_read=c.rows_read,
        booked=c.booked,
        duplicates=c.duplicates,
        to_review=c.to_review,
        reversals=c.reversals,
        reversals_pending=c.reversals_pending,
        not_gifts=c.not_gifts,
        rejected=c.rejected,
        errors=report.errors or report.warnings,  # warnings only come with an accepted file
    )


def statements_import(
    *,
    paths: Sequence[Path],
    account: AccountRef | None = None,
    campaign: Campaign | None = None,
    profile: Profile | None = None,
    dry_run: bool = False,
    by: User | None = None,
    progress: Callable[[str, str, int, int], None] | None = None,
    isolate_parser: bool = False,
) -> list[FileReport]:
    """Import several files in order, each on its own (one refused file stops no other)."""
    reports = []
    for path in paths:
        file_progress = None
        if progress is not None:
            label = path.name

            def file_progress(phase: str, done: int, total: int, label: str = label) -> None:
                progress(label, phase, done, total)

        reports.append(
            statement_import(
                path=path,
                account=account,
                campaign=campaign,
                profile=profile,
                dry_run=dry_run,
                by=by,
                progress=file_progress,
                isolate_parser=isolate_parser,
            )
        )
    return reports
