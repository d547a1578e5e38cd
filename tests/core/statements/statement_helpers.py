"""Shared helpers for the statement tests: sample locations and golden-file comparison."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from solidarity.core.statements import BankTransaction

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
VN = GOLDEN / "vn"
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / "statements"
UPDATE = os.environ.get("SOLIDARITY_UPDATE_GOLDEN") == "1"


def tx_json(tx: BankTransaction) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in asdict(tx).items():
        if key == "warnings":
            if value:  # only rows the reader corrected carry warnings
                out[key] = [f"{w['line']}: {w['field']}: {w['message']}" for w in value]
            continue
        out[key] = value.isoformat() if isinstance(value, (date, datetime)) else value
    return out


def golden_compare(name: str, txs: list[BankTransaction]) -> None:
    """Compare with golden/<name>.json; SOLIDARITY_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / f"{name}.json"
    actual = [tx_json(t) for t in txs]
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(actual, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with SOLIDARITY_UPDATE_GOLDEN=1"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert actual == expected
