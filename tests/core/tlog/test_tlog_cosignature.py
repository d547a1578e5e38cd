"""Cosignatures (c2sp.org/tlog-cosignature v1, type 0x04): a real witness's cosignature,
and ours checked by a verifier written here from the spec alone."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.tlog.checkpoint import Checkpoint, checkpoint_format, checkpoint_sign
from solidarity.core.tlog.cosignature import (
    CosignatureError,
    cosigner_key_generate,
    cosigner_parse,
    cosigner_signer_parse,
    note_add_signatures,
    note_cosignatures,
)
from solidarity.core.tlog.note import NoteError, key_generate, note_open, signer_parse

from .conftest import ORIGIN, TESTDATA

MIRROR = TESTDATA / "sunlight-skylight-mirror" / "cmd" / "skylight" / "testdata" / "witness"
MIRROR = MIRROR / "mirror"
MIRROR_CHECKPOINT = (
    MIRROR / "000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706" / "checkpoint"
)


def mirror_cosigner():
    meta = json.loads((MIRROR / "mirror.v0.json").read_text())
    return cosigner_parse(meta["verifier_keys"][0])


def test_a_real_witness_cosignature_verifies():
    # Given Sunlight's mirror checkpoint and the mirror's published verifier key
    note = MIRROR_CHECKPOINT.read_bytes()
    # When its cosignatures are checked
    found = note_cosignatures(note, [mirror_cosigner()])
    # Then the one line by that key verifies, with its timestamp
    assert [(c.name, c.key_id) for c in found] == [("mirror.example.org", 0x3FB148EF)]
    assert found[0].timestamp == int.from_bytes(
        base64.b64decode(found[0].line.split()[-1])[4:12], "big"
    )
    assert found[0].timestamp > 1_700_000_000


@pytest.mark.parametrize("where", ["origin", "size", "root", "timestamp", "signature"])
def test_a_flipped_byte_of_the_real_cosignature_fails(where):
    note = MIRROR_CHECKPOINT.read_bytes().decode()
    text, _, sigline = note.partition("\n\n")
    raw = bytearray(base64.b64decode(sigline.split()[-1]))
    lines = text.split("\n")
    if where == "origin":
        lines[0] = "rome2026h1.example.orh"
    elif where == "size":
        lines[1] = "301"
    elif where == "root":
        lines[2] = "h" + lines[2][1:]
    elif where == "timestamp":
        raw[11] ^= 0x01
    else:
        raw[40] ^= 0x80
    forged = (
        "\n".join(lines)
        + "\n\n— mirror.example.org "
        + base64.b64encode(bytes(raw)).decode()
        + "\n"
    )
    with pytest.raises(CosignatureError, match="invalid cosignature"):
        note_cosignatures(forged, [mirror_cosigner()])


def test_the_real_cosigner_key_is_type_0x04_and_not_a_note_signer():
    c = mirror_cosigner()
    assert base64.b64decode(c.vkey.split("+")[2])[0] == 0x04
    assert c.vkey == json.loads((MIRROR / "mirror.v0.json").read_text())["verifier_keys"][0]
    # A 0x04 key read as a plain note key (type 0x01) is refused, and the reverse.
    from solidarity.core.tlog.note import verifier_parse

    with pytest.raises(NoteError):
        verifier_parse(c.vkey)
    _, log_vkey = key_generate(ORIGIN, b"\x01" * 32)
    with pytest.raises(CosignatureError, match="type 0x01"):
        cosigner_parse(log_vkey)


def spec_verify(vkey: str, note: str) -> list[int]:
    """Timestamps of the valid cosignatures by vkey on note, from tlog-cosignature alone."""
    name, hexid, b64 = vkey.split("+", 2)
    key = base64.b64decode(b64)
    assert key[0] == 0x04
    kid = hashlib.sha256(name.encode() + b"\n" + b"\x04" + key[1:]).digest()[:4]
    assert kid.hex() == hexid
    body, _, sigs = note.partition("\n\n")
    body += "\n"
    out = []
    for line in sigs.splitlines():
        if not line.startswith("\u2014 " + name + " "):
            continue
        raw = base64.b64decode(line.split(" ")[2])
        if raw[:4] != kid:
            continue
        ts = int.from_bytes(raw[4:12], "big")
        msg = b"cosignature/v1\ntime " + str(ts).encode() + b"\n" + body.encode()
        try:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(raw[12:], msg)
        except InvalidSignature:
            continue
        out.append(ts)
    return out


@given(
    size=st.integers(min_value=0, max_value=2**40),
    root=st.binary(min_size=32, max_size=32),
    ts=st.integers(min_value=0, max_value=2**63 - 1),
    ext=st.lists(st.text("abcxyz019 -", min_size=1, max_size=12), max_size=2),
)
def test_our_cosignatures_verify_by_the_spec(size, root, ts, ext):
    skey, vkey = cosigner_key_generate("witness.example.org/w1", b"\x07" * 32)
    log = signer_parse(key_generate(ORIGIN, b"\x01" * 32)[0])
    cp = Checkpoint(ORIGIN, size, root, tuple(e for e in ext if e.strip() == e and e))
    note = checkpoint_sign(cp, log).decode()
    line = cosigner_signer_parse(skey).cosign(checkpoint_format(cp), ts)
    cosigned = note_add_signatures(note, [line])
    # The spec's verifier accepts it with its timestamp; ours agrees; the log's signature holds.
    assert spec_verify(vkey, cosigned) == [ts]
    assert [c.timestamp for c in note_cosignatures(cosigned, [cosigner_parse(vkey)])] == [ts]
    assert note_open(cosigned, [log.verifier]).text == checkpoint_format(cp)


def test_unknown_cosigners_are_ignored_and_known_bad_ones_refused():
    skey, vkey = cosigner_key_generate("w1.example", b"\x02" * 32)
    _, other = cosigner_key_generate("w2.example", b"\x03" * 32)
    log = signer_parse(key_generate(ORIGIN, b"\x01" * 32)[0])
    cp = Checkpoint(ORIGIN, 5, b"\x00" * 32)
    note = checkpoint_sign(cp, log).decode()
    line = cosigner_signer_parse(skey).cosign(checkpoint_format(cp), 1700000000)
    cosigned = note_add_signatures(note, [line, line])
    assert cosigned.count("w1.example") == 1
    assert note_cosignatures(cosigned, [cosigner_parse(other)]) == []
    # The log's own signature line is not a cosignature by anyone.
    assert note_cosignatures(note, [cosigner_parse(vkey)]) == []
    # The same line on another checkpoint is refused.
    moved = checkpoint_sign(Checkpoint(ORIGIN, 6, b"\x00" * 32), log).decode() + line
    with pytest.raises(CosignatureError):
        note_cosignatures(moved, [cosigner_parse(vkey)])


@pytest.mark.parametrize(
    "vkey",
    [
        "w1.example+00000000+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O",
        "mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp9",
        "mirror.example.org+3fb148eg+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O",
        "mirror.example.org+3fb148ef",
        "",
    ],
)
def test_malformed_cosigner_keys_are_refused(vkey):
    with pytest.raises(NoteError):
        cosigner_parse(vkey)


def test_the_policy_follows_the_announcements_and_the_quorum_is_enforced():
    from solidarity.core.tlog.cosignature import QuorumError, WitnessPolicy, checkpoint_quorum_check

    keys = [cosigner_key_generate(f"w{i}.example", bytes([i + 1]) * 32) for i in range(3)]
    policy = WitnessPolicy.empty()
    for _, vkey in keys:
        policy.apply({"kind": "witness", "action": "added", "vkey": vkey})
    policy.apply({"kind": "witness_quorum", "quorum": 2})
    policy.apply({"kind": "witness", "action": "removed", "vkey": keys[2][1]})
    policy.apply({"kind": "donation", "amount": 1})
    assert (sorted(policy.cosigners), policy.quorum) == (["w0.example", "w1.example"], 2)
    with pytest.raises(CosignatureError, match="1 witnesses left for a quorum of 2"):
        policy.apply({"kind": "witness", "action": "removed", "vkey": keys[1][1]})
    with pytest.raises(CosignatureError, match="never added"):
        WitnessPolicy.empty().apply({"kind": "witness", "action": "removed", "vkey": keys[0][1]})
    with pytest.raises(CosignatureError, match="0 witnesses left for a quorum of 3"):
        WitnessPolicy.empty().apply({"kind": "witness_quorum", "quorum": 3})

    log = signer_parse(key_generate(ORIGIN, b"\x01" * 32)[0])
    cp = Checkpoint(ORIGIN, 9, b"\x01" * 32)
    note = checkpoint_sign(cp, log).decode()
    one = note_add_signatures(
        note, [cosigner_signer_parse(keys[0][0]).cosign(checkpoint_format(cp), 5)]
    )
    cosigners = list(policy.cosigners.values())
    with pytest.raises(QuorumError, match=r"1 valid cosignatures \(w0.example\), 2 required"):
        checkpoint_quorum_check(one, cosigners, 2)
    two = note_add_signatures(
        one, [cosigner_signer_parse(keys[1][0]).cosign(checkpoint_format(cp), 6)]
    )
    assert [c.name for c in checkpoint_quorum_check(two, cosigners, 2)] == [
        "w0.example",
        "w1.example",
    ]
    assert checkpoint_quorum_check(note, [], 0) == []
