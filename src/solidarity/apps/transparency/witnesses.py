"""A campaign log's witnesses and quorum: services that change them, each change announced in
the log itself (entries of kind `witness` and `witness_quorum`), and the selectors that read
them. The sequencer asks the active witnesses; readers require the quorum."""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.transparency.models import LogWitness, LogWitnessPolicy
from solidarity.apps.transparency.services import log_entries_append
from solidarity.core.errors import Refused
from solidarity.core.tlog.bodies import witness_body, witness_quorum_body
from solidarity.core.tlog.checkpoint import checkpoint_parse
from solidarity.core.tlog.cosignature import Cosigner, cosigner_parse, note_add_signatures
from solidarity.core.tlog.note import NoteError, note_split
from solidarity.core.tlog.proof import consistency_proof_from_tiles
from solidarity.core.tlog.tiles import TileReader
from solidarity.witness.client import Gathered, WitnessEndpoint, cosignatures_gather

logger = logging.getLogger("solidarity.log")


class WitnessConfigError(Refused):
    """A change to a log's witnesses or quorum that cannot be made; nothing was written."""


def _witness_announce(campaign: Campaign, witness: LogWitness, action: str) -> None:
    """Append the `witness` entry saying `witness` was `action` (added or removed)."""
    body = witness_body(
        campaign=campaign.slug, action=action, at=timezone.now(), vkey=witness.vkey, url=witness.url
    )
    log_entries_append(campaign=campaign, entries=[("witness", witness.name, body)])


def _policy(campaign: Campaign) -> LogWitnessPolicy:
    policy, _ = LogWitnessPolicy.objects.select_for_update().get_or_create(campaign=campaign)
    return policy


def log_witness_add(*, campaign: Campaign, vkey: str, url: str) -> LogWitness:
    """Add a witness (its type 0x04 verifier key and submission URL) and announce it."""
    errors = []
    cosigner: Cosigner | None = None
    try:
        cosigner = cosigner_parse(vkey)
    except NoteError as e:
        errors.append(f"--vkey: {e}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        errors.append(f"--url {url!r}: an http(s) URL of the witness's submission prefix")
    if errors or cosigner is None:
        raise WitnessConfigError(errors)
    with transaction.atomic():
        _policy(campaign)  # serializes changes to this log's witnesses
        if LogWitness.objects.filter(
            campaign=campaign, name=cosigner.name, removed_at__isnull=True
        ).exists():
            raise WitnessConfigError([f"{cosigner.name} is already a witness of {campaign.slug}"])
        witness = LogWitness.objects.create(
            campaign=campaign, name=cosigner.name, vkey=cosigner.vkey, url=url
        )
        _witness_announce(campaign, witness, "added")
    return witness


def log_witness_remove(*, campaign: Campaign, name: str) -> LogWitness:
    """Remove an active witness (by name or verifier key) and announce it; refused if fewer
    witnesses than the quorum would remain."""
    with transaction.atomic():
        policy = _policy(campaign)
        active = LogWitness.objects.filter(campaign=campaign, removed_at__isnull=True)
        witness = active.filter(name=name).first() or active.filter(vkey=name).first()
        if witness is None:
            raise WitnessConfigError([f"{name!r} is not an active witness of {campaign.slug}"])
        if active.count() - 1 < policy.quorum:
            raise WitnessConfigError(
                [
                    f"removing {witness.name} would leave {active.count() - 1} witnesses for a "
                    f"quorum of {policy.quorum}; lower the quorum first"
                ]
            )
        witness.removed_at = timezone.now()
        witness.save(update_fields=["removed_at"])
        _witness_announce(campaign, witness, "removed")
    return witness


def log_witness_quorum_set(*, campaign: Campaign, quorum: int) -> LogWitnessPolicy:
    """Require `quorum` cosignatures (0 to the number of active witnesses) and announce it."""
    with transaction.atomic():
        policy = _policy(campaign)
        active = LogWitness.objects.filter(campaign=campaign, removed_at__isnull=True).count()
        if not 0 <= quorum <= active:
            raise WitnessConfigError(
                [f"quorum {quorum}: must be between 0 and the {active} active witnesses"]
            )
        policy.quorum = quorum
        policy.save(update_fields=["quorum"])
        entry = witness_quorum_body(campaign=campaign.slug, at=timezone.now(), quorum=quorum)
        log_entries_append(campaign=campaign, entries=[("witness_quorum", str(quorum), entry)])
    return policy


# --- selectors ---------------------------------------------------------------------------


def log_witnesses_active(campaign: Campaign) -> list[LogWitness]:
    """The witnesses the log asks now, in the order they were added."""
    return list(
        LogWitness.objects.filter(campaign=campaign, removed_at__isnull=True).order_by("pk")
    )


def log_witness_quorum(campaign: Campaign) -> int:
    policy = LogWitnessPolicy.objects.filter(campaign=campaign).first()
    return policy.quorum if policy else 0


def log_witness_endpoints(campaign: Campaign) -> list[WitnessEndpoint]:
    """The active witnesses as the sequencer asks them."""
    return [WitnessEndpoint(cosigner_parse(w.vkey), w.url) for w in log_witnesses_active(campaign)]


def log_witness_summary(campaign: Campaign) -> dict[str, Any]:
    """What the public page and `campaign show` say of the log's witnesses."""
    policy = LogWitnessPolicy.objects.filter(campaign=campaign).first()
    return {
        "quorum": policy.quorum if policy else 0,
        "cosigned_size": policy.cosigned_size if policy else 0,
        "cosigned_at": policy.cosigned_at if policy else None,
        "witnesses": [
            {
                "name": w.name,
                "vkey": w.vkey,
                "url": w.url,
                "cosigned_size": w.cosigned_size,
                "cosigned_at": w.cosigned_at,
                "answered_at": w.answered_at,
                "last_error": w.last_error,
            }
            for w in log_witnesses_active(campaign)
        ],
    }


# --- the sequencer's side ------------------------------------------------------------------


def _unreachable(error: str | None) -> bool:
    """Whether a witness's outcome means it never answered (no connection, or too late)."""
    return bool(error) and (str(error).startswith("unreachable") or error == "timed out")


class CheckpointCosigning:
    """The witnesses of one sequencer pass over one log.

    Built in the pass's thread (reads the database); `cosign` runs in the writer thread and
    touches no database; `flush` writes what the witnesses answered, in the pass's thread.
    A witness that could not be reached is not asked again for the rest of the pass, so a
    down witness costs one timeout per pass, not one per checkpoint.
    """

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.rows = {w.name: w for w in log_witnesses_active(campaign)}
        self.endpoints = [
            WitnessEndpoint(cosigner_parse(w.vkey), w.url) for w in self.rows.values()
        ]
        self.known = {name: w.known_size for name, w in self.rows.items()}
        self.quorum = log_witness_quorum(campaign)
        self.timeout = float(getattr(settings, "SOLIDARITY_WITNESS_TIMEOUT", 5.0))
        self.retries = int(getattr(settings, "SOLIDARITY_WITNESS_RETRIES", 2))
        self.unreachable: set[str] = set()
        self._answers: list[tuple[int, Gathered]] = []

    def __bool__(self) -> bool:
        return bool(self.endpoints)

    def cosign(self, note: bytes, reader: TileReader) -> bytes:
        """The signed checkpoint note with the cosignatures its witnesses gave (maybe none)."""
        text, _ = note_split(note)
        size = checkpoint_parse(text).size
        asked = [e for e in self.endpoints if e.cosigner.name not in self.unreachable]
        gathered = cosignatures_gather(
            note,
            asked,
            lambda old, new: consistency_proof_from_tiles(reader, old, new),
            known_sizes=self.known,
            timeout=self.timeout,
            retries=self.retries,
        )
        for o in gathered.outcomes:
            if o.known_size is not None:
                self.known[o.name] = o.known_size
            if _unreachable(o.error):
                self.unreachable.add(o.name)
            if o.error:
                logger.warning(
                    "witness %s on %s at %d: %s", o.name, text.split("\n")[0], size, o.error
                )
        self._answers.append((size, gathered))
        return note_add_signatures(note, [c.line for c in gathered.cosignatures]).encode()

    def flush(self) -> None:
        """Record what the witnesses answered so far (the pass's thread)."""
        answers, self._answers = self._answers, []
        now = timezone.now()
        for size, gathered in answers:
            for o in gathered.outcomes:
                row = self.rows[o.name]
                fields = {
                    "known_size": o.known_size or row.known_size,
                    "last_error": (o.error or "")[:300],
                }
                if o.cosignature is not None:
                    fields |= {"cosigned_size": size, "cosigned_at": now}
                if not _unreachable(o.error):
                    fields["answered_at"] = now
                LogWitness.objects.filter(pk=row.pk).update(**fields)
            if self.quorum and len(gathered.cosignatures) >= self.quorum:
                LogWitnessPolicy.objects.filter(
                    campaign=self.campaign, cosigned_size__lt=size
                ).update(cosigned_size=size, cosigned_at=now)
