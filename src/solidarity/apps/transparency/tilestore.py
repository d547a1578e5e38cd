"""A log's published files in the database, so that every node of an installation serves
the same bytes (c2sp.org/tlog-tiles paths, one `LogFile` row each).

Contract, the same as every TileStore's: tiles, bundles and keys.json are written once
(identical bytes are a no-op, other bytes TileConflictError) and durable when the call
returns (committed); the checkpoint is replaced atomically, and by the sequencer only through
`replace_if`, one conditional statement that fails when another writer changed it since it was
read. So two nodes that both believe they hold a log's lease can at worst both write the same
tiles (they are determined by the entries); only one of them can publish the checkpoint of a
given size on top of a given previous one, and the other gets TileConflictError.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction

from solidarity.apps.transparency.models import LogFile
from solidarity.core.tlog.tiles import TileConflictError

_READ_SQL = "SELECT data FROM transparency_logfile WHERE log = %s AND path = %s"
_CREATE_SQL = (
    "INSERT INTO transparency_logfile (log, path, data) VALUES (%s, %s, %s)"
    " ON CONFLICT (log, path) DO NOTHING"
)
_SWAP_SQL = "UPDATE transparency_logfile SET data = %s WHERE log = %s AND path = %s AND data = %s"
_CHUNK = 500
"""Rows per statement when writing or checking many files."""


def _bytes(value: object) -> bytes:
    return value if type(value) is bytes else bytes(value)  # type: ignore[call-overload]


class DatabaseTileStore:
    """The TileStore of one log (`log` = campaign slug) in the LogFile table."""

    def __init__(self, log: str) -> None:
        self.log = log

    def read(self, path: str) -> bytes | None:
        with connection.cursor() as cur:
            cur.execute(_READ_SQL, [self.log, path])
            row = cur.fetchone()
        return None if row is None else _bytes(row[0])

    def write_once(self, path: str, data: bytes) -> None:
        self.write_once_many([(path, data)])

    def write_once_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        items = list(items)
        with transaction.atomic():
            for lo in range(0, len(items), _CHUNK):
                chunk = items[lo : lo + _CHUNK]
                LogFile.objects.bulk_create(
                    [LogFile(log=self.log, path=p, data=bytes(d)) for p, d in chunk],
                    ignore_conflicts=True,
                )
                wanted = dict(chunk)
                stored = LogFile.objects.filter(log=self.log, path__in=list(wanted)).values_list(
                    "path", "data"
                )
                for path, data in stored:
                    if _bytes(data) != wanted[path]:
                        raise TileConflictError(
                            f"{self.log}/{path}: refusing to overwrite with different bytes"
                        )

    def replace(self, path: str, data: bytes) -> None:
        with transaction.atomic():
            LogFile.objects.update_or_create(
                log=self.log, path=path, defaults={"data": bytes(data)}
            )

    def replace_if(self, path: str, data: bytes, expected: bytes | None) -> None:
        with connection.cursor() as cur:
            if expected is None:
                cur.execute(_CREATE_SQL, [self.log, path, bytes(data)])
            else:
                cur.execute(_SWAP_SQL, [bytes(data), self.log, path, bytes(expected)])
            done = cur.rowcount == 1
        if not done:
            raise TileConflictError(
                f"{self.log}/{path}: changed by another writer since it was read; not replaced"
            )

    def partial_widths(self, path: str) -> list[int]:
        """The widths of the partial tiles stored beside the full tile at `path`, ascending."""
        prefix = f"{path}.p/"
        paths = LogFile.objects.filter(log=self.log, path__startswith=prefix).values_list(
            "path", flat=True
        )
        return sorted(int(w) for p in paths if (w := p[len(prefix) :]).isdigit())

    def paths(self) -> list[str]:
        """Every stored path of the log (for backups and exports)."""
        return list(
            LogFile.objects.filter(log=self.log).order_by("path").values_list("path", flat=True)
        )
