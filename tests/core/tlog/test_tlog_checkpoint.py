"""c2sp.org/tlog-checkpoint: body format, parsing and signed round trips."""

from __future__ import annotations

import pytest

from solidarity.core.tlog.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_format,
    checkpoint_open,
    checkpoint_parse,
    checkpoint_sign,
)
from solidarity.core.tlog.note import NoteError, Signer, key_generate, verifier_parse

from .conftest import TILES_70000

ROOT_B64 = "hXwgkiyhYTuIG8qe7wUgnuzAAAaOnqlDNCaajdgb+Z0="


def test_format_parse_round_trip() -> None:
    cp = checkpoint_parse(f"example.org/log\n70000\n{ROOT_B64}\next one\n")
    assert cp.size == 70000
    assert cp.extensions == ("ext one",)
    assert checkpoint_format(cp) == f"example.org/log\n70000\n{ROOT_B64}\next one\n"


@pytest.mark.parametrize(
    "text",
    [
        f"example.org/log\n070000\n{ROOT_B64}\n",
        f"example.org/log\n-1\n{ROOT_B64}\n",
        "example.org/log\n1\nAAAA\n",
        f"example.org/log\n1\n{ROOT_B64}",
        "example.org/log\n1\n",
        f"\n1\n{ROOT_B64}\n",
        f"example.org/log\n1\n{ROOT_B64}\n\n",
    ],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(CheckpointError):
        checkpoint_parse(text)


def test_sign_and_open(signer: Signer) -> None:
    cp = Checkpoint(signer.name, 5, b"\x01" * 32, ("x",))
    data = checkpoint_sign(cp, signer)
    assert checkpoint_open(data, signer.verifier) == cp
    with pytest.raises(CheckpointError, match="origin"):
        checkpoint_open(data, signer.verifier, origin="other.example/log")
    other = verifier_parse(key_generate(signer.name)[1])
    with pytest.raises(NoteError):
        checkpoint_open(data, other)


def test_reference_checkpoint_opens() -> None:
    vkey = verifier_parse((TILES_70000 / "vkey.txt").read_text())
    cp = checkpoint_open((TILES_70000 / "checkpoint").read_bytes(), vkey)
    assert (cp.origin, cp.size) == ("donations.example.org/log", 70000)
