"""c2sp.org/signed-note: the spec's and Go's examples, several signatures, malformed notes."""

from __future__ import annotations

import pytest

from solidarity.core.tlog.note import (
    NoteError,
    key_generate,
    note_open,
    note_sign,
    signer_parse,
    verifier_parse,
)

from .conftest import TESTDATA

GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"


@pytest.mark.parametrize("example", ["c2sp-signed-note-example", "golang-mod-note-example"])
def test_published_examples_verify(example: str) -> None:
    vkey = verifier_parse((TESTDATA / example / "vkey.txt").read_text())
    raw = (TESTDATA / example / "note.txt").read_bytes()
    note = note_open(raw, [vkey])
    assert [s.name for s in note.sigs] == [vkey.name]
    with pytest.raises(NoteError, match="invalid signature"):
        note_open(raw.replace(b"is", b"IS", 1), [vkey])


def test_go_signer_key_signs_the_go_example() -> None:
    signer = signer_parse(GO_SKEY)
    want = (TESTDATA / "golang-mod-note-example" / "note.txt").read_text()
    assert (
        signer.verifier.vkey
        == (TESTDATA / "golang-mod-note-example" / "vkey.txt").read_text().strip()
    )
    assert note_sign(want.split("\n\n")[0] + "\n", [signer]) == want
    assert "AYEKFA" not in repr(signer)


def test_several_signatures_unknown_keys_ignored() -> None:
    a = signer_parse(key_generate("a.example/log")[0])
    b = signer_parse(key_generate("b.example/witness")[0])
    note = note_sign("hello\n", [a, b])
    opened = note_open(note, [b.verifier])
    assert [s.name for s in opened.sigs] == ["b.example/witness"]
    assert [s.name for s in opened.unverified] == ["a.example/log"]
    c = signer_parse(key_generate("c.example")[0])
    with pytest.raises(NoteError, match="no signature by a known key"):
        note_open(note, [c.verifier])


def test_wrong_key_with_same_name_is_unknown() -> None:
    a = signer_parse(key_generate("a.example/log")[0])
    other = signer_parse(key_generate("a.example/log")[0])
    with pytest.raises(NoteError, match="no signature"):
        note_open(note_sign("x\n", [a]), [other.verifier])


@pytest.mark.parametrize(
    "bad",
    [
        "hello\n",
        "hello\n\n— a.example AAAA\n",
        "hello\n\n- a.example AAAAAAAA\n",
        "hel\tlo\n\n— a.example AAAAAAAA\n",
        "hello\n\n— a.example AAAAAAAA",
    ],
)
def test_malformed_notes(bad: str) -> None:
    a = signer_parse(key_generate("a.example")[0])
    with pytest.raises(NoteError):
        note_open(bad, [a.verifier])


@pytest.mark.parametrize(
    "vkey",
    [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
        "example.com/foo+530d903a",
        "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
)
def test_bad_verifier_keys(vkey: str) -> None:
    with pytest.raises(NoteError):
        verifier_parse(vkey)


def test_generated_keys_round_trip() -> None:
    skey, vkey = key_generate("solidarity.example/c1")
    signer, verifier = signer_parse(skey), verifier_parse(vkey)
    assert signer.verifier == verifier
    assert note_open(note_sign("a\nb\n", [signer]), [verifier]).text == "a\nb\n"
    with pytest.raises(NoteError, match="newline"):
        note_sign("no newline", [signer])
