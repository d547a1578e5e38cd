"""Compile the message catalogues (locale/*/LC_MESSAGES/*.po → .mo) with Babel.

`django-admin compilemessages` needs GNU gettext's msgfmt, which a fresh machine may lack;
this needs only Babel. Run by `make install` and by the test set-up:

    python -m solidarity.web.compile_messages

A .mo is rewritten only when its .po is newer. Exit code 1 (with the file named) when a
catalogue does not parse.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_all(locale_dir: Path = LOCALE_DIR, *, force: bool = False) -> list[Path]:
    """Compile every catalogue under `locale_dir`; return the .mo files written."""
    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name, abort_invalid=True)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo)
        written.append(mo)
    return written


def main() -> int:
    try:
        written = compile_all(force="--force" in sys.argv)
    except Exception as exc:
        print(f"compile_messages: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    for mo in written:
        print(f"compiled {mo}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
