"""Every string the back office shows is translated in vi, es and pt-BR: no English fallback.

The msgids are read from the office's templates (`translate`, `blocktranslate` with its
plural) and from its Python code (`_()`, `gettext()`, TextChoices labels of the statuses
and kinds the office lists), then looked up in each catalogue: each must be there, not fuzzy,
with a non-empty msgstr (every plural form).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import REPO

APPS = REPO / "src" / "solidarity" / "apps"
LOCALE = REPO / "src" / "solidarity" / "locale"
LANGUAGES = ("vi", "es", "pt_BR")

TEMPLATES = [
    *sorted((APPS / "office" / "templates" / "office").glob("*.html")),
    *sorted((APPS / "imports" / "templates" / "imports").glob("*.html")),
    *sorted((APPS / "disbursements" / "templates" / "disbursements").glob("office_*.html")),
    APPS / "feeds" / "templates" / "feeds" / "notifications.html",
]
PYTHON = [
    *sorted((APPS / "office").glob("*.py")),
    APPS / "office" / "templatetags" / "office.py",
    APPS / "imports" / "views.py",
    APPS / "disbursements" / "views.py",
    APPS / "disbursements" / "forms.py",
    APPS / "feeds" / "views.py",
    APPS / "campaigns" / "models.py",
    APPS / "imports" / "models.py",
    APPS / "disbursements" / "models.py",
    APPS / "feeds" / "models.py",
    APPS / "accounts" / "access.py",
]

_TRANSLATE = re.compile(
    r"""\{%\s*(?:translate|trans)\s+(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')"""
)
_BLOCK = re.compile(
    r"\{%\s*blocktrans(?:late)?\b[^%]*%\}(.*?)(?:\{%\s*plural\s*%\}(.*?))?"
    r"\{%\s*endblocktrans(?:late)?\s*%\}",
    re.S,
)
_VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_CALL = re.compile(
    r"""\b(?:_|gettext|gettext_lazy|pgettext)\(\s*"((?:[^"\\]|\\.)*)"\s*[,)]""", re.S
)
_NCALL = re.compile(r"""\bngettext(?:_lazy)?\(\s*"((?:[^"\\]|\\.)*)"\s*,""", re.S)


def template_msgids(path: Path) -> set[str]:
    source = path.read_text(encoding="utf-8")
    found = {a or b for a, b in _TRANSLATE.findall(source)}
    for singular, _plural in _BLOCK.findall(source):
        found.add(_VAR.sub(lambda m: f"%({m.group(1)})s", singular))
    return found


def python_msgids(path: Path) -> set[str]:
    source = path.read_text(encoding="utf-8")
    found = set(_CALL.findall(source)) | set(_NCALL.findall(source))
    return {m.encode().decode("unicode_escape").encode("latin-1").decode() for m in found}


def office_msgids() -> dict[str, str]:
    """msgid -> the file it comes from."""
    out: dict[str, str] = {}
    for path in TEMPLATES:
        for msgid in template_msgids(path):
            out.setdefault(msgid, str(path.relative_to(REPO)))
    for path in PYTHON:
        for msgid in python_msgids(path):
            out.setdefault(msgid, str(path.relative_to(REPO)))
    out.pop("", None)
    return out


def test_the_extractor_finds_the_strings_it_must():
    ids = office_msgids()
    assert "What waits for you" in ids  # a template `translate`
    assert "%(n)s transfer waits in the review queue" in ids  # a `blocktranslate count`
    assert "handed over" in ids  # a TextChoices label
    assert "Memo code donors write" in ids  # a form label


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_office_string_is_translated(language):
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as fh:
        catalog = read_po(fh, locale=language)
    missing = []
    for msgid, where in sorted(office_msgids().items()):
        message = catalog.get(msgid)
        strings = (
            []
            if message is None
            else (list(message.string) if isinstance(message.string, tuple) else [message.string])
        )
        if message is None or message.fuzzy or not all(s.strip() for s in strings):
            missing.append(f"{where}: {msgid!r}")
    assert missing == [], f"{len(missing)} untranslated in {language}"
